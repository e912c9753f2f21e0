"""A small typed client for the NGINX Plus REST API (`ngx_http_api_module`).

The controller uses it for two things: when only the endpoints of a Service change, it
changes the servers of an upstream through the API instead of reloading NGINX (a reload
starts new workers and loses their per-worker state), and it reads zone-sync health for
its Prometheus metrics.

Every call opens one HTTP/1.1 connection, over TCP or over a unix socket, and closes it,
so a client holds no connection state and can be shared between threads. Connecting and
every read from the socket are bounded by the client's timeout. What goes wrong comes out
as one of three exceptions, because the caller reacts to each differently:

- `PlusApiUnavailable`: no answer (refused, reset, timed out, socket missing): the caller
  falls back to a reload, which does not need the API.
- `PlusApiResponseError` (`PlusApiNotFound` for 404): NGINX answered with its error
  object, and `code` says why (`UpstreamNotFound`, `UpstreamStatic`, ...).
- `PlusApiError` itself: NGINX answered, but not in a form this client can read.

Facts about the API come from nginx.org's `ngx_http_api_module` page; the diff of
`update_upstream_servers` follows `UpdateHTTPServers` of `nginx-plus-go-client`.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypedDict, TypeVar
from urllib.parse import quote, urlsplit

from nginx_ingress.configmap.parsers import InvalidValue, parse_time
from nginx_ingress.values import TimeKind

DEFAULT_TIMEOUT_SECONDS = 10.0
NEWEST_API_VERSION = 9
OLDEST_API_VERSION = 4
"""Version 4 gave the error object its current shape; `/stream/zone_sync/` exists since 3."""

DEFAULT_SERVER_PORT = 80
"""The port NGINX gives an upstream server address that names none."""

# Error codes of the API that callers branch on. `PathNotFound` is not in the documented
# lists; NGINX answers it for a path its configuration does not have, such as
# `/stream/zone_sync/` without `zone_sync` (nginx-plus-go-client relies on it too).
UPSTREAM_NOT_FOUND = "UpstreamNotFound"
UPSTREAM_SERVER_NOT_FOUND = "UpstreamServerNotFound"
UPSTREAM_STATIC = "UpstreamStatic"
UNKNOWN_VERSION = "UnknownVersion"
PATH_NOT_FOUND = "PathNotFound"
METHOD_DISABLED = "MethodDisabled"


class PlusApiError(Exception):
    """Talking to the NGINX Plus API failed; the subclasses say how."""


class PlusApiUnavailable(PlusApiError):
    """The API did not answer: refused, reset or timed out. Fall back to a reload."""


class PlusApiResponseError(PlusApiError):
    """NGINX answered a request with an error status and, usually, its error object."""

    def __init__(
        self, method: str, path: str, status: int, *, code: str, text: str, request_id: str
    ) -> None:
        super().__init__(f"{method} {path}: {status} {code or '(no code)'}: {text}")
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        """The API's error code, such as `UpstreamNotFound`; empty if the body had none."""
        self.text = text
        self.request_id = request_id
        """NGINX's `$request_id` of the failed request, to find it in NGINX's logs."""


class PlusApiNotFound(PlusApiResponseError):
    """404: the upstream, the server, the path or the API version does not exist (`code`)."""


@dataclass(frozen=True, slots=True)
class UpstreamServer:
    """One server of an HTTP upstream, as the API reads and writes it.

    The defaults are NGINX's, so a server that sets nothing equals what NGINX reports for
    it. `server` is `ip:port`, `[ipv6]:port` or `unix:/path`; `fail_timeout` and
    `slow_start` are NGINX times (`10s`, `1m`). `id` is NGINX's, read-only: None on a
    server we want, set on a server read from NGINX.
    """

    server: str
    weight: int = 1
    max_conns: int = 0
    max_fails: int = 1
    fail_timeout: str = "10s"
    slow_start: str = "0s"
    backup: bool = False
    down: bool = False
    id: int | None = None


class ServerPatch(TypedDict, total=False):
    """What a PATCH may change. `id` and `backup` cannot change (the API docs say so)."""

    server: str
    weight: int
    max_conns: int
    max_fails: int
    fail_timeout: str
    slow_start: str
    down: bool


class UpstreamChanges(NamedTuple):
    """What `update_upstream_servers` did, as NGINX reported each server.

    A tuple, so that it unpacks as `added, deleted, updated` like the Go client's result.
    """

    added: tuple[UpstreamServer, ...]
    deleted: tuple[UpstreamServer, ...]
    updated: tuple[UpstreamServer, ...]


@dataclass(frozen=True, slots=True)
class NginxInfo:
    """`/nginx`: `generation` counts reloads, so an unchanged one proves none happened."""

    version: str
    build: str
    address: str
    generation: int
    load_timestamp: str
    timestamp: str
    pid: int
    ppid: int


@dataclass(frozen=True, slots=True)
class ZoneSyncZone:
    """Sync state of one shared memory zone: records not yet sent, and all records."""

    name: str
    records_pending: int
    records_total: int


@dataclass(frozen=True, slots=True)
class ZoneSyncStatus:
    """`/stream/zone_sync/`: this node's traffic with its peers and each zone's backlog."""

    nodes_online: int
    bytes_in: int
    bytes_out: int
    msgs_in: int
    msgs_out: int
    zones: tuple[ZoneSyncZone, ...]
    """Sorted by name."""


class PlusApiClient:
    """The API at `url` (`http://127.0.0.1:8080/api`), over TCP or over `unix_socket`.

    With `unix_socket`, the URL's host only fills the `Host` header. The API version is
    `api_version` if given; otherwise the newest version both NGINX and this client speak,
    asked once, at the first call.
    """

    def __init__(
        self,
        url: str,
        *,
        unix_socket: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        api_version: int | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{url!r} is not an http:// URL of the API location")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        if api_version is not None and not OLDEST_API_VERSION <= api_version <= NEWEST_API_VERSION:
            raise ValueError(
                f"API version {api_version} is not one this client speaks "
                f"({OLDEST_API_VERSION} to {NEWEST_API_VERSION})"
            )
        self._host = parts.hostname
        self._port = parts.port or 80
        # NGINX lists its versions at exactly the location's URI, so keep it as given.
        self._location = parts.path or "/"
        self._unix_socket = unix_socket
        self._timeout = timeout
        self._version = api_version
        self._version_lock = threading.Lock()

    def api_version(self) -> int:
        """The API version the calls use; the first call may ask NGINX for its versions."""
        with self._version_lock:
            if self._version is None:
                self._version = self._negotiate_version()
            return self._version

    def nginx_info(self) -> NginxInfo:
        document = _object(self._request("GET", self._path("nginx")), "nginx")
        return NginxInfo(
            version=_field(document, "version", str),
            build=_field(document, "build", str),
            address=_field(document, "address", str),
            generation=_field(document, "generation", int),
            load_timestamp=_field(document, "load_timestamp", str),
            timestamp=_field(document, "timestamp", str),
            pid=_field(document, "pid", int),
            ppid=_field(document, "ppid", int),
        )

    def upstream_servers(self, upstream: str) -> tuple[UpstreamServer, ...]:
        return _servers(self._request("GET", self._servers_path(upstream)))

    def add_upstream_server(self, upstream: str, server: UpstreamServer) -> UpstreamServer:
        """POST one server; NGINX answers with it as stored, `id` included."""
        body = _post_body(_canonical_server(server))
        return _server(self._request("POST", self._servers_path(upstream), body))

    def update_upstream_server(
        self, upstream: str, server_id: int, patch: ServerPatch
    ) -> UpstreamServer:
        """PATCH the given parameters of one server; the others keep their values."""
        return _server(self._request("PATCH", self._server_path(upstream, server_id), patch))

    def delete_upstream_server(self, upstream: str, server_id: int) -> tuple[UpstreamServer, ...]:
        """DELETE one server; NGINX answers with the servers that remain."""
        return _servers(self._request("DELETE", self._server_path(upstream, server_id)))

    def update_upstream_servers(
        self, upstream: str, desired: Iterable[UpstreamServer]
    ) -> UpstreamChanges:
        """Make the upstream's servers equal `desired`, matching servers by address.

        As `UpdateHTTPServers` does: addresses NGINX lacks are added, addresses it has
        and `desired` lacks are deleted, servers whose parameters differ are PATCHed, and
        equal servers get no request, so a repeated call writes nothing. Addresses and
        times are compared in canonical form (`10.0.0.1` is `10.0.0.1:80`, `1m` is `60s`),
        or a second call would rewrite what NGINX merely spells differently.

        Differences from the Go client, on purpose:

        - one address twice in `desired` with different parameters raises ValueError
          before any request (the Go client drops every entry of that address, so NGINX
          loses a server the caller wanted);
        - a changed `backup`, which PATCH cannot change, replaces the server: DELETE,
          then POST;
        - a PATCH carries only the parameters that differ;
        - extra copies of one address in NGINX are deleted;
        - adds go first and deletes last, so an upstream whose endpoints all change is
          never empty in between;
        - the first failed request raises, and the rest is not attempted: the caller's
          fallback, a reload with the full list, repairs a half-done update.
        """
        wanted = _by_address(desired)
        kept: dict[str, UpstreamServer] = {}
        surplus: list[UpstreamServer] = []
        for server in self.upstream_servers(upstream):
            address = _canonical_address(server.server)
            if address in wanted and address not in kept:
                kept[address] = server
            else:
                surplus.append(server)

        missing = [server for address, server in wanted.items() if address not in kept]
        replaced = [
            (current, wanted[address])
            for address, current in kept.items()
            if current.backup != wanted[address].backup
        ]
        patches = [
            (current, patch)
            for address, current in kept.items()
            if current.backup == wanted[address].backup
            and (patch := _patch_between(current, wanted[address]))
        ]

        added = [self.add_upstream_server(upstream, server) for server in missing]
        updated = [
            self.update_upstream_server(upstream, _id_of(current), patch)
            for current, patch in patches
        ]
        deleted: list[UpstreamServer] = []
        for current, server in replaced:
            self.delete_upstream_server(upstream, _id_of(current))
            deleted.append(current)
            added.append(self.add_upstream_server(upstream, server))
        for server in surplus:
            self.delete_upstream_server(upstream, _id_of(server))
            deleted.append(server)
        return UpstreamChanges(tuple(added), tuple(deleted), tuple(updated))

    def zone_sync(self) -> ZoneSyncStatus | None:
        """This node's zone-sync status, or None where NGINX has no `zone_sync` configured."""
        try:
            answer = self._request("GET", self._path("stream", "zone_sync", ""))
        except PlusApiNotFound as error:
            # Only a missing path means "not configured"; an unknown API version must not
            # look like a healthy node without zone sync.
            if error.code == PATH_NOT_FOUND:
                return None
            raise
        document = _object(answer, "zone_sync")
        status = _object(document.get("status"), "zone_sync status")
        zones = _object(document.get("zones", {}), "zone_sync zones")
        return ZoneSyncStatus(
            nodes_online=_field(status, "nodes_online", int),
            bytes_in=_field(status, "bytes_in", int),
            bytes_out=_field(status, "bytes_out", int),
            msgs_in=_field(status, "msgs_in", int),
            msgs_out=_field(status, "msgs_out", int),
            zones=tuple(
                ZoneSyncZone(
                    name=name,
                    records_pending=_field(_object(zone, name), "records_pending", int),
                    records_total=_field(_object(zone, name), "records_total", int),
                )
                for name, zone in sorted(zones.items())
            ),
        )

    # --- transport ----------------------------------------------------------------------

    def _negotiate_version(self) -> int:
        listed = self._request("GET", self._location)
        if not isinstance(listed, list) or not all(_is_int(version) for version in listed):
            raise PlusApiError(f"GET {self._location}: expected a list of API versions: {listed!r}")
        usable: list[int] = [v for v in listed if OLDEST_API_VERSION <= v <= NEWEST_API_VERSION]
        if not usable:
            raise PlusApiError(
                f"NGINX offers API versions {listed}; this client speaks "
                f"{OLDEST_API_VERSION} to {NEWEST_API_VERSION}"
            )
        return max(usable)

    def _path(self, *segments: str) -> str:
        """`/api/<version>/<segments>`; an empty last segment gives the documented `/`."""
        quoted = "/".join(quote(segment, safe="") for segment in segments)
        return f"{self._location.rstrip('/')}/{self.api_version()}/{quoted}"

    def _servers_path(self, upstream: str) -> str:
        return self._path("http", "upstreams", upstream, "servers", "")

    def _server_path(self, upstream: str, server_id: int) -> str:
        return self._path("http", "upstreams", upstream, "servers", str(server_id))

    def _connection(self) -> http.client.HTTPConnection:
        if self._unix_socket is None:
            return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return _UnixSocketConnection(self._unix_socket, self._host, self._timeout)

    def _request(self, method: str, path: str, body: Mapping[str, object] | None = None) -> Any:
        """Send one request and return its decoded JSON, or raise one of our exceptions."""
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = self._connection()
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            # TimeoutError, ConnectionRefusedError and a missing socket are all OSErrors.
            raise PlusApiUnavailable(f"{method} {path}: {_describe(error)}") from error
        finally:
            connection.close()
        if not 200 <= status < 300:
            raise _response_error(method, path, status, raw)
        try:
            return json.loads(raw)
        except ValueError as error:
            raise PlusApiError(f"{method} {path}: {status} with a body that is not JSON") from error


class _UnixSocketConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, as the controller reaches its own NGINX's API server."""

    def __init__(self, socket_path: str, host: str, timeout: float) -> None:
        super().__init__(host, timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _response_error(method: str, path: str, status: int, raw: bytes) -> PlusApiResponseError:
    """The documented error object, `{"error": {status, text, code}, request_id, href}`,
    or whatever text came instead (a proxy's or NGINX's own HTML error page)."""
    code, text, request_id = "", raw.decode(errors="replace").strip()[:200], ""
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = document["error"]
        code = str(error.get("code", ""))
        text = str(error.get("text", ""))
        request_id = str(document.get("request_id", ""))
    kind = PlusApiNotFound if status == 404 else PlusApiResponseError
    return kind(method, path, status, code=code, text=text, request_id=request_id)


# --- reading NGINX's JSON ---------------------------------------------------------------

FieldType = TypeVar("FieldType", int, str, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise PlusApiError(f"expected a JSON object for {what}, got {value!r}")
    return value


def _field(
    document: Mapping[str, object],
    key: str,
    kind: type[FieldType],
    default: FieldType | None = None,
) -> FieldType:
    """`document[key]` if it has the JSON type `kind` (JSON keeps booleans and numbers apart)."""
    value = document.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PlusApiError(f"field {key!r} should be {kind.__name__}, got {value!r}")
    return value


def _server(answer: object) -> UpstreamServer:
    document = _object(answer, "an upstream server")
    defaults = UpstreamServer(server="")
    return UpstreamServer(
        id=_field(document, "id", int),
        server=_field(document, "server", str),
        weight=_field(document, "weight", int, defaults.weight),
        max_conns=_field(document, "max_conns", int, defaults.max_conns),
        max_fails=_field(document, "max_fails", int, defaults.max_fails),
        fail_timeout=_field(document, "fail_timeout", str, defaults.fail_timeout),
        slow_start=_field(document, "slow_start", str, defaults.slow_start),
        backup=_field(document, "backup", bool, defaults.backup),
        down=_field(document, "down", bool, defaults.down),
    )


def _servers(answer: object) -> tuple[UpstreamServer, ...]:
    if not isinstance(answer, list):
        raise PlusApiError(f"expected a JSON array of upstream servers, got {answer!r}")
    return tuple(_server(item) for item in answer)


def _id_of(server: UpstreamServer) -> int:
    if server.id is None:
        raise ValueError(f"{server.server} was not read from NGINX: it has no id")
    return server.id


# --- what we send ----------------------------------------------------------------------


_PARAMETERS = ("weight", "max_conns", "max_fails", "fail_timeout", "slow_start", "backup", "down")


def _post_body(server: UpstreamServer) -> dict[str, object]:
    """The address and the parameters that differ from NGINX's defaults.

    Leaving defaults out keeps a POST valid where a parameter is refused outright
    (`slow_start` with `hash` balancing, `backup` in an upstream without one).
    """
    defaults = UpstreamServer(server=server.server)
    body: dict[str, object] = {"server": server.server}
    for name in (
        "weight",
        "max_conns",
        "max_fails",
        "fail_timeout",
        "slow_start",
        "backup",
        "down",
    ):
        if getattr(server, name) != getattr(defaults, name):
            body[name] = getattr(server, name)
    return body


def _patch_between(current: UpstreamServer, desired: UpstreamServer) -> ServerPatch:
    """The parameters of `desired` (canonical) that differ from `current` (as NGINX said)."""
    patch: ServerPatch = {}
    if current.weight != desired.weight:
        patch["weight"] = desired.weight
    if current.max_conns != desired.max_conns:
        patch["max_conns"] = desired.max_conns
    if current.max_fails != desired.max_fails:
        patch["max_fails"] = desired.max_fails
    if not _same_time(current.fail_timeout, desired.fail_timeout):
        patch["fail_timeout"] = desired.fail_timeout
    if not _same_time(current.slow_start, desired.slow_start):
        patch["slow_start"] = desired.slow_start
    if current.down != desired.down:
        patch["down"] = desired.down
    return patch


def _by_address(desired: Iterable[UpstreamServer]) -> dict[str, UpstreamServer]:
    """Desired servers by canonical address; a conflicting duplicate is a caller's bug."""
    wanted: dict[str, UpstreamServer] = {}
    for server in desired:
        canonical = _canonical_server(server)
        previous = wanted.setdefault(canonical.server, canonical)
        if previous != canonical:
            raise ValueError(
                f"{server.server} is wanted twice with different parameters: "
                f"{previous} and {canonical}"
            )
    return wanted


def _canonical_server(server: UpstreamServer) -> UpstreamServer:
    return replace(
        server,
        server=_canonical_address(server.server),
        fail_timeout=_canonical_time(server.fail_timeout, "fail_timeout"),
        slow_start=_canonical_time(server.slow_start, "slow_start"),
        id=None,
    )


def _canonical_time(text: str, what: str) -> str:
    """`1m` → `60s`: the seconds NGINX keeps these parameters in."""
    try:
        return f"{parse_time(text, TimeKind.SECONDS).milliseconds // 1000}s"
    except InvalidValue as error:
        raise ValueError(f"{what} {text!r} {error}") from None


def _same_time(reported: str, canonical: str) -> bool:
    try:
        return _canonical_time(reported, "") == canonical
    except ValueError:
        return reported == canonical


def _canonical_address(address: str) -> str:
    """The address with a port (80 if none) and any IP in canonical form.

    `[2001:DB8:0::1]` becomes `[2001:db8::1]:80`, the spelling NGINX prints back. Names and
    `unix:` paths stay as they are.
    """
    if address.startswith("unix:"):
        return address
    if address.startswith("["):
        host, bracket, rest = address[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{address!r} is not an address: [ipv6]:port")
        port = rest[1:]
    elif address.count(":") == 1:
        host, _, port = address.partition(":")
    else:  # no port, or a bare IPv6 address
        host, port = address, ""
    if port and not (port.isascii() and port.isdigit()):
        raise ValueError(f"{address!r} has a port that is not a number")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        spelled = host
    else:
        spelled = f"[{ip.compressed}]" if ip.version == 6 else ip.compressed
    return f"{spelled}:{int(port) if port else DEFAULT_SERVER_PORT}"
