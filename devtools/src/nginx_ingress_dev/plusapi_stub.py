"""A stub of the NGINX Plus REST API: a test double, not a product component.

No NGINX Plus binary is at hand in development or CI, so the client in `plusapi` is
tested against this server instead. It ships in the package because the controller's own
integration tests use it too. It answers the part of `ngx_http_api_module` the controller
uses (the version list, `/nginx`, the servers of HTTP upstreams, `/stream/zone_sync/`)
with the documented JSON shapes, status codes and error object; holds upstreams in
memory; records every request; and misbehaves on demand (refuses connections, answers
late, answers 500, drops the connection), so that timeouts and the fallback to a reload
can be tested. What it does not model is listed in docs/plus-api.md.

One set of data can be served on several listeners, each with its own `api write=`
(`sibling`), as one NGINX Plus serves one API on a read-write and a read-only location;
`load` replaces the upstreams as a reload of the configuration does. The NGINX Plus
stand-in (`nginx_ingress_dev.plus_standin`) uses both.

It listens on 127.0.0.1 (a free port) or on a unix socket, one thread per request, and
`stop()` (or leaving the `with` block) ends every thread it started.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import secrets
import socketserver
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import unquote, urlsplit

from nginx_ingress.configmap.parsers import InvalidValue, parse_time
from nginx_ingress.values import TimeKind

ALL_API_VERSIONS = tuple(range(1, 10))
ERROR_HREF = "https://nginx.org/en/docs/http/ngx_http_api_module.html"
NGINX_VERSION = "1.27.4"
NGINX_BUILD = "nginx-plus-r34-stub"

_WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
_SERVER_PARAMETERS = frozenset(
    {
        "server",
        "weight",
        "max_conns",
        "max_fails",
        "fail_timeout",
        "slow_start",
        "route",
        "backup",
        "down",
        "drain",
    }
)
_BAD_VALUE_CODES = {
    "weight": "UpstreamBadWeight",
    "max_conns": "UpstreamBadMaxConns",
    "max_fails": "UpstreamBadMaxFails",
    "fail_timeout": "UpstreamBadFailTimeout",
    "slow_start": "UpstreamBadSlowStart",
}
_MAX_ROUTE_LENGTH = 32
_HTML_500 = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n"
    b"<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the stub saw it, and the status it answered (0: no answer)."""

    method: str
    path: str
    body: str
    status: int

    @property
    def is_write(self) -> bool:
        return self.method in _WRITE_METHODS


@dataclass(frozen=True, slots=True)
class Delay:
    """Fault: wait `seconds` before answering (a stop ends the wait at once)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class ServerError:
    """Fault: answer 500 with NGINX's HTML error page, not the API's error object."""


@dataclass(frozen=True, slots=True)
class DropConnection:
    """Fault: read the request, then close the connection without answering."""


Fault = Delay | ServerError | DropConnection


class _Failure(Exception):
    """An API error answer: status, the documented code and its text."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text


@dataclass(slots=True)
class _Upstream:
    static: bool
    servers: dict[int, dict[str, object]]
    next_id: int = 0


@dataclass(frozen=True, slots=True)
class ConfiguredUpstream:
    """An upstream as a configuration declares it, for `load`: its servers as the API's
    JSON (`{"server": "10.0.0.1:80", "weight": 2}`); `static` is an upstream without a
    `zone`, which the API cannot change."""

    name: str
    servers: tuple[Mapping[str, object], ...] = ()
    static: bool = False


@dataclass(frozen=True, slots=True)
class SavedData:
    """What `saved` copied: the upstreams and the generation, for `restore`."""

    upstreams: Mapping[str, _Upstream]
    generation: int
    loaded_at: str


class _ApiState:
    """The API's data and its answers; every method runs under one lock."""

    def __init__(self, location: str, versions: Sequence[int]) -> None:
        self.location = location.rstrip("/")
        self.versions = tuple(versions)
        self.lock = threading.Lock()
        self.upstreams: dict[str, _Upstream] = {}
        self.zone_sync: dict[str, object] | None = None
        self.requests: list[RecordedRequest] = []
        self.fault: Fault | None = None
        self.loaded_at = _now()
        self.generation = 1
        self.loaded = False

    def answer(self, method: str, target: str, body: bytes, *, write: bool) -> tuple[int, object]:
        with self.lock:
            try:
                return self._route(method, urlsplit(target).path, body, write)
            except _Failure as failure:
                return failure.status, _error_document(failure)

    def record(self, method: str, target: str, body: bytes, status: int) -> None:
        with self.lock:
            self.requests.append(
                RecordedRequest(method, target, body.decode(errors="replace"), status)
            )

    def _route(self, method: str, path: str, body: bytes, write: bool) -> tuple[int, object]:
        if path in (self.location, self.location + "/"):
            self._allow(method, write, "GET")
            return 200, list(self.versions)
        if not path.startswith(self.location + "/"):
            raise _Failure(404, "PathNotFound", "path not found")
        version, _, rest = path[len(self.location) + 1 :].partition("/")
        if not (version.isascii() and version.isdigit()) or int(version) not in self.versions:
            raise _Failure(404, "UnknownVersion", "unknown version")
        match rest.rstrip("/").split("/"):
            case [""]:
                self._allow(method, write, "GET")
                return 200, ["nginx", "http", "stream"]
            case ["nginx"]:
                self._allow(method, write, "GET")
                return 200, self._nginx_info()
            case ["http", "upstreams", name, "servers"]:
                self._allow(method, write, "GET", "POST")
                upstream = self._upstream(unquote(name))
                if method == "POST":
                    return 201, self.add_server(upstream, _json_object(body), unquote(name))
                return 200, _server_list(upstream)
            case ["http", "upstreams", name, "servers", server_id]:
                self._allow(method, write, "GET", "PATCH", "DELETE")
                upstream = self._upstream(unquote(name))
                server = upstream.servers.get(_server_id(server_id), None)
                if server is None:
                    raise _Failure(
                        404,
                        "UpstreamServerNotFound",
                        f'server with ID "{server_id}" does not exist',
                    )
                if method == "PATCH":
                    _patch(server, _json_object(body), unquote(name))
                elif method == "DELETE":
                    del upstream.servers[int(server_id)]
                    return 200, _server_list(upstream)
                return 200, copy.deepcopy(server)
            case ["stream", "zone_sync"]:
                self._allow(method, write, "GET")
                if self.zone_sync is None:
                    raise _Failure(404, "PathNotFound", "path not found")
                return 200, copy.deepcopy(self.zone_sync)
            case _:
                raise _Failure(404, "PathNotFound", "path not found")

    def _allow(self, method: str, write: bool, *allowed: str) -> None:
        if method not in allowed:
            raise _Failure(405, "MethodNotSupported", "method not supported")
        if method in _WRITE_METHODS and not write:
            raise _Failure(405, "MethodDisabled", "method disabled")

    def _upstream(self, name: str) -> _Upstream:
        upstream = self.upstreams.get(name)
        if upstream is None:
            raise _Failure(404, "UpstreamNotFound", "upstream not found")
        if upstream.static:
            raise _Failure(400, "UpstreamStatic", "upstream is static")
        return upstream

    def add_server(
        self, upstream: _Upstream, parameters: Mapping[str, object], name: str
    ) -> object:
        _check_parameters(parameters)
        if "server" not in parameters:
            raise _Failure(400, "UpstreamConfFormatError", 'missing "server" argument')
        server: dict[str, object] = {
            "id": upstream.next_id,
            "server": "",
            "weight": 1,
            "max_conns": 0,
            "max_fails": 1,
            "fail_timeout": "10s",
            "slow_start": "0s",
            "route": "",
            "backup": False,
            "down": False,
        }
        _apply(server, parameters, name)
        upstream.servers[upstream.next_id] = server
        upstream.next_id += 1
        return copy.deepcopy(server)

    def _nginx_info(self) -> dict[str, object]:
        return {
            "version": NGINX_VERSION,
            "build": NGINX_BUILD,
            "address": "127.0.0.1",
            "generation": self.generation,
            "load_timestamp": self.loaded_at,
            "timestamp": _now(),
            "pid": os.getpid(),
            "ppid": os.getppid(),
        }


class PlusApiStub:
    """The stub server; use it as a context manager, or `start()` and `stop()`.

    `versions` are the API versions it offers; `write=False` is `api write=off`, where
    every change is refused with 405 `MethodDisabled`.
    """

    def __init__(
        self,
        *,
        unix_socket: str | None = None,
        location: str = "/api",
        versions: Sequence[int] = ALL_API_VERSIONS,
        write: bool = True,
    ) -> None:
        if not location.startswith("/"):
            raise ValueError(f"location {location!r} must start with /")
        self._state = _ApiState(location, versions)
        self._write = write
        self._unix_socket = unix_socket
        self._tcp_address = ("127.0.0.1", 0)  # the port becomes the chosen one at start
        self._server: _TcpStubServer | _UnixStubServer | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.accept_connections()

    def sibling(self, *, unix_socket: str | None = None, write: bool) -> PlusApiStub:
        """Another listener of the same API (not started): the same data, request log and
        fault, its own address and `write`, as a second `api` location of one NGINX Plus
        (`api write=off` on the status port beside the read-write socket). Starting,
        stopping and refusing connections stay each listener's own."""
        twin = PlusApiStub(
            unix_socket=unix_socket,
            location=self._state.location,
            versions=self._state.versions,
            write=write,
        )
        twin._state = self._state
        return twin

    def stop(self) -> None:
        """Stop listening, end every request thread, remove the unix socket."""
        self.refuse_connections()
        if self._unix_socket is not None and os.path.exists(self._unix_socket):
            os.unlink(self._unix_socket)

    @property
    def url(self) -> str:
        """The API's URL for `PlusApiClient`; over a unix socket its host is a placeholder."""
        if self._unix_socket is not None:
            return f"http://localhost{self._state.location}"
        host, port = self._tcp_address
        return f"http://{host}:{port}{self._state.location}"

    @property
    def unix_socket(self) -> str | None:
        return self._unix_socket

    # --- faults -------------------------------------------------------------------------

    def refuse_connections(self) -> None:
        """Close the listener (the data stays): connecting is refused until `accept_connections`.

        Requests being answered are cut short: a delayed answer is not sent.
        """
        if self._server is None or self._thread is None:
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()  # joins the request threads
        self._thread.join()
        self._server = self._thread = None

    def accept_connections(self) -> None:
        """Listen again, on the same port or socket path."""
        if self._server is not None:
            return
        self._closing.clear()
        if self._unix_socket is not None:
            if os.path.exists(self._unix_socket):
                os.unlink(self._unix_socket)  # left by `refuse_connections`
            self._server = _UnixStubServer(
                self._unix_socket, self._state, self._closing, self._write
            )
        else:
            self._server = _TcpStubServer(
                self._tcp_address, self._state, self._closing, self._write
            )
            self._tcp_address = (self._tcp_address[0], self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="plusapi-stub",
        )
        self._thread.start()

    @property
    def fault(self) -> Fault | None:
        return self._state.fault

    @fault.setter
    def fault(self, fault: Fault | None) -> None:
        """Misbehave this way on every request from now on; None behaves again."""
        with self._state.lock:
            self._state.fault = fault

    # --- data ---------------------------------------------------------------------------

    def add_upstream(
        self,
        name: str,
        servers: Iterable[Mapping[str, object]] = (),
        *,
        static: bool = False,
    ) -> None:
        """An upstream as if configured: `servers` as the API's JSON (`{"server": ...}`).

        `static=True` is an upstream without a `zone`, which the API cannot change.
        """
        upstream = _Upstream(static=static, servers={})
        with self._state.lock:
            if name in self._state.upstreams:
                raise ValueError(f"upstream {name!r} exists")
            for parameters in servers:
                try:
                    self._state.add_server(upstream, parameters, name)
                except _Failure as failure:
                    raise ValueError(f"{parameters}: {failure.code}: {failure.text}") from None
            self._state.upstreams[name] = upstream

    def load(self, upstreams: Iterable[ConfiguredUpstream]) -> tuple[str, ...]:
        """What a reload of the configuration does to the API's data: every upstream as
        declared, nothing kept of the servers added or changed through the API (NGINX Plus
        keeps them only with a `state` file, which is not modelled), IDs counted from 0
        again. From the second load on, `generation` counts one more reload.

        A server the API would refuse (a host name, which needs a resolver; an unknown
        parameter) is left out and said why, one line each, in what is returned; the
        rest loads.
        """
        loaded: dict[str, _Upstream] = {}
        problems: list[str] = []
        for declared in upstreams:
            upstream = _Upstream(static=declared.static, servers={})
            for parameters in declared.servers:
                try:
                    self._state.add_server(upstream, parameters, declared.name)
                except _Failure as failure:
                    problems.append(
                        f"upstream {declared.name!r}: server {parameters.get('server')!r} "
                        f"left out: {failure.code}: {failure.text}"
                    )
            loaded[declared.name] = upstream
        with self._state.lock:
            self._state.upstreams = loaded
            if self._state.loaded:
                self._state.generation += 1
                self._state.loaded_at = _now()
            self._state.loaded = True
        return tuple(problems)

    def saved(self) -> SavedData:
        """A copy of the upstreams and the generation, to `restore` if a reload fails."""
        with self._state.lock:
            return SavedData(
                copy.deepcopy(self._state.upstreams),
                self._state.generation,
                self._state.loaded_at,
            )

    def restore(self, saved: SavedData) -> None:
        """Put back what `saved` copied: a refused reload leaves NGINX on its old data."""
        with self._state.lock:
            self._state.upstreams = copy.deepcopy(dict(saved.upstreams))
            self._state.generation = saved.generation
            self._state.loaded_at = saved.loaded_at

    @property
    def generation(self) -> int:
        """What `/nginx` answers as `generation`: 1, plus one per `load` after the first."""
        with self._state.lock:
            return self._state.generation

    def upstream_names(self) -> tuple[str, ...]:
        with self._state.lock:
            return tuple(sorted(self._state.upstreams))

    def zone_sync(self) -> dict[str, object] | None:
        """What `/stream/zone_sync/` answers now (None: 404)."""
        with self._state.lock:
            return copy.deepcopy(self._state.zone_sync)

    def servers(self, upstream: str) -> list[dict[str, object]]:
        """The servers of `upstream` as `GET .../servers/` would answer them."""
        with self._state.lock:
            return _server_list(self._state.upstreams[upstream])

    def set_zone_sync(self, document: Mapping[str, object] | None) -> None:
        """What `/stream/zone_sync/` answers (`{"status": ..., "zones": ...}`); None is
        NGINX without `zone_sync`, which answers 404 `PathNotFound`."""
        with self._state.lock:
            self._state.zone_sync = None if document is None else copy.deepcopy(dict(document))

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        with self._state.lock:
            return tuple(self._state.requests)

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()


# --- HTTP ---------------------------------------------------------------------------------


class _TcpStubServer(ThreadingHTTPServer):
    daemon_threads = False  # joined on close: a stopped stub leaves no thread behind

    def __init__(
        self, address: tuple[str, int], state: _ApiState, closing: threading.Event, write: bool
    ) -> None:
        self.state = state
        self.closing = closing
        self.write = write
        super().__init__(address, _Handler)


class _UnixStubServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = False  # joined on close: a stopped stub leaves no thread behind

    def __init__(self, path: str, state: _ApiState, closing: threading.Event, write: bool) -> None:
        self.state = state
        self.closing = closing
        self.write = write
        super().__init__(path, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5.0  # a client that connects and says nothing cannot hold a thread for long
    server: _TcpStubServer | _UnixStubServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the stub keeps its own request log."""

    def _handle(self) -> None:
        state = self.server.state
        self.close_connection = True  # one request per connection, as the client does
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        fault = state.fault
        if isinstance(fault, Delay) and self.server.closing.wait(fault.seconds):
            state.record(self.command, self.path, body, 0)
            return
        if isinstance(fault, DropConnection):
            state.record(self.command, self.path, body, 0)
            return
        if isinstance(fault, ServerError):
            state.record(self.command, self.path, body, 500)
            send_and_close(self, 500, "text/html", _HTML_500)
            return
        status, document = state.answer(self.command, self.path, body, write=self.server.write)
        state.record(self.command, self.path, body, status)
        send_and_close(self, status, "application/json", json.dumps(document).encode())


def send_and_close(
    handler: BaseHTTPRequestHandler, status: int, content_type: str, payload: bytes
) -> None:
    """The answer to a handler's one request of its connection, which then closes."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (its timeout); nothing to answer


# --- the API's rules ----------------------------------------------------------------------


def _now() -> str:
    """ISO 8601 with milliseconds, as the API writes times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_document(failure: _Failure) -> dict[str, object]:
    return {
        "error": {"status": failure.status, "text": failure.text, "code": failure.code},
        "request_id": secrets.token_hex(16),
        "href": ERROR_HREF,
    }


def _server_list(upstream: _Upstream) -> list[dict[str, object]]:
    return [copy.deepcopy(server) for _, server in sorted(upstream.servers.items())]


def _server_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _Failure(400, "UpstreamBadServerId", "invalid server ID")
    return int(text)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        document = json.loads(body)
    except ValueError:
        raise _Failure(415, "JsonError", "json parse error") from None
    if not isinstance(document, dict):
        raise _Failure(400, "UpstreamConfFormatError", "nested object or list")
    return document


def _check_parameters(parameters: Mapping[str, object]) -> None:
    for key, value in parameters.items():
        if key not in _SERVER_PARAMETERS:
            raise _Failure(400, "UpstreamConfFormatError", f'unknown parameter "{key}"')
        if isinstance(value, dict | list):
            raise _Failure(400, "UpstreamConfFormatError", "nested object or list")


def _patch(server: dict[str, object], parameters: Mapping[str, object], upstream: str) -> None:
    _check_parameters(parameters)
    if "backup" in parameters and parameters["backup"] != server["backup"]:
        # The docs: "backup" cannot be changed. The real answer is undocumented.
        raise _Failure(400, "UpstreamConfFormatError", 'parameter "backup" cannot be changed')
    _apply(server, parameters, upstream)


def _apply(server: dict[str, object], parameters: Mapping[str, object], upstream: str) -> None:
    """Validate every parameter, then change `server` (all or nothing)."""
    changes: dict[str, object] = {}
    for key, value in parameters.items():
        if key == "server":
            changes[key] = _address(_typed(key, value, str), upstream)
        elif key in ("weight", "max_conns", "max_fails"):
            number = _typed(key, value, int)
            if number < (1 if key == "weight" else 0):
                raise _Failure(400, _BAD_VALUE_CODES[key], f'invalid "{key}"')
            changes[key] = number
        elif key in ("fail_timeout", "slow_start"):
            changes[key] = _seconds(_typed(key, value, str), _BAD_VALUE_CODES[key], key)
        elif key == "route":
            route = _typed(key, value, str)
            if len(route) > _MAX_ROUTE_LENGTH:
                raise _Failure(400, "UpstreamBadRoute", "route is too long")
            changes[key] = route
        else:  # backup, down, drain
            changes[key] = _typed(key, value, bool)
    server.update(changes)
    if server.get("drain") is False:
        del server["drain"]  # shown only while draining


_Value = TypeVar("_Value", int, str, bool)


def _typed(key: str, value: object, kind: type[_Value]) -> _Value:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Failure(400, "UpstreamConfFormatError", f'invalid "{key}" value')
    return value


def _seconds(text: str, code: str, key: str) -> str:
    try:
        return f"{parse_time(text, TimeKind.SECONDS).milliseconds // 1000}s"
    except InvalidValue:
        raise _Failure(400, code, f'invalid "{key}"') from None


def _address(text: str, upstream: str) -> str:
    """NGINX's spelling of an address: a port always, IPs canonical; names need a resolver."""
    if text.startswith("unix:") and len(text) > len("unix:"):
        return text
    bad_address = _Failure(400, "UpstreamBadAddress", f'invalid address "{text}"')
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise bad_address
        port = rest.removeprefix(":")
        if rest and not port:
            raise bad_address
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise bad_address
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not host:
            raise bad_address from None
        # The stub has no resolver: a name is what NGINX without `resolver` answers.
        raise _Failure(
            400,
            "UpstreamConfNoResolver",
            f'no resolver defined to resolve "{host}" in "{upstream}"',
        ) from None
    spelled = f"[{ip.compressed}]" if ip.version == 6 else ip.compressed
    return f"{spelled}:{port or 80}"
