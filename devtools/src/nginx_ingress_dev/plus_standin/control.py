"""The stand-in's control socket: how a test reaches the API stub inside the stand-in.

The stand-in runs as the controller's child, in another process than the test, so
the stub's data, fault injection and zone-sync document are served on a unix socket
of their own, `<prefix>/plus-standin/control.sock` (the prefix is NGINX's `-p`, the
controller's `-run-dir`). `StandinControl` is its client:

    control = StandinControl(control_socket(run_dir))
    control.state()["upstreams"]                     # what GET …/servers/ would answer
    control.set_zone_sync({"status": {...}, "zones": {...}})   # peers come and go
    control.set_fault(ServerError())                  # every API request answers 500
    control.refuse_connections()                      # the API is unreachable

JSON over HTTP/1.1, one request per connection: `GET /state`; `PUT /fault`
(`{"fault": null | "delay" | "server-error" | "drop-connection", "seconds": n}`);
`PUT /connections` (`{"accept": bool}`); `PUT /zone-sync` (`{"document": {...} | null}`)
and `DELETE /zone-sync` (back to what the configuration declares); `DELETE /requests`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from nginx_ingress_dev.plus_standin.api import StandinApi
from nginx_ingress_dev.plusapi_stub import (
    Delay,
    DropConnection,
    Fault,
    ServerError,
    send_and_close,
)

STATE_DIRECTORY = "plus-standin"
CONTROL_SOCKET = "control.sock"
TIMEOUT = 5.0


def state_directory(prefix: Path) -> Path:
    """Where the stand-in keeps its shadow trees and sockets, under NGINX's prefix."""
    return prefix / STATE_DIRECTORY


def control_socket(prefix: Path) -> Path:
    """The control socket of a stand-in run with `-p prefix` (the controller's run dir)."""
    return state_directory(prefix) / CONTROL_SOCKET


class ControlError(RuntimeError):
    """The control socket refused a request, or could not be reached."""


# --- the server, inside the stand-in ------------------------------------------------------


class ControlServer:
    """Serves `api`'s test hooks on `path` until `stop`."""

    def __init__(self, path: Path, api: StandinApi) -> None:
        self._path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a stand-in that was killed
        self._server = _UnixServer(str(path), api)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="standin-control",
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(TIMEOUT)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = False  # joined on close: nothing of it outlives `stop`

    def __init__(self, path: str, api: StandinApi) -> None:
        self.api = api
        super().__init__(path, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT
    server: _UnixServer

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: standard error is NGINX's, and the controller reads it."""

    def _handle(self) -> None:
        self.close_connection = True
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            answer = self._route(self.command, self.path, body)
        except (ValueError, TypeError, KeyError) as error:
            self._send(400, {"error": str(error)})
            return
        if answer is None:
            self._send(404, {"error": f"no {self.command} {self.path}"})
        else:
            self._send(200, answer)

    def _route(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        api = self.server.api
        match method, path:
            case "GET", "/state":
                return api.state()
            case "PUT", "/fault":
                api.set_fault(_fault(body))
            case "PUT", "/connections":
                if body["accept"]:
                    api.accept_connections()
                else:
                    api.refuse_connections()
            case "PUT", "/zone-sync":
                document = body["document"]
                if document is not None and not isinstance(document, dict):
                    raise TypeError("document must be an object or null")
                api.override_zone_sync(document)
            case "DELETE", "/zone-sync":
                api.clear_zone_sync()
            case "DELETE", "/requests":
                api.clear_requests()
            case _:
                return None
        return {"ok": True}

    def _send(self, status: int, document: dict[str, Any]) -> None:
        send_and_close(self, status, "application/json", json.dumps(document).encode())


def _fault(body: dict[str, Any]) -> Fault | None:
    match body["fault"]:
        case None:
            return None
        case "delay":
            return Delay(float(body["seconds"]))
        case "server-error":
            return ServerError()
        case "drop-connection":
            return DropConnection()
    raise ValueError(f"unknown fault {body['fault']!r}")


# --- the client, in tests ---------------------------------------------------------------


class StandinControl:
    """A test's handle on a running stand-in's API stub (see the module's doc)."""

    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    def state(self) -> dict[str, Any]:
        """`generation`, `upstreams` (name → servers as the API answers them), `zone_sync`,
        `sockets` (the unix sockets served), `route`, `requests` (method, path, body, status)."""
        return self._request("GET", "/state")

    def upstream_servers(self, upstream: str) -> list[dict[str, Any]]:
        servers: list[dict[str, Any]] = self.state()["upstreams"][upstream]
        return servers

    def set_fault(self, fault: Fault | None) -> None:
        """Every API request misbehaves so from now on (None: behave)."""
        body: dict[str, Any]
        match fault:
            case None:
                body = {"fault": None}
            case Delay(seconds=seconds):
                body = {"fault": "delay", "seconds": seconds}
            case ServerError():
                body = {"fault": "server-error"}
            case DropConnection():
                body = {"fault": "drop-connection"}
        self._request("PUT", "/fault", body)

    def refuse_connections(self) -> None:
        """Every API listener closes (the API is unreachable) until `accept_connections`."""
        self._request("PUT", "/connections", {"accept": False})

    def accept_connections(self) -> None:
        self._request("PUT", "/connections", {"accept": True})

    def set_zone_sync(self, document: dict[str, Any] | None) -> None:
        """`/stream/zone_sync/` answers `document` (None: 404) until `clear_zone_sync`, reloads
        included."""
        self._request("PUT", "/zone-sync", {"document": document})

    def clear_zone_sync(self) -> None:
        self._request("DELETE", "/zone-sync")

    def clear_requests(self) -> None:
        self._request("DELETE", "/requests")

    def wait(self, timeout: float = 10.0) -> StandinControl:
        """Self, once the control socket answers; `ControlError` after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.state()
                return self
            except ControlError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        connection = _UnixConnection(str(self.path), self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            connection.request(
                method, path, body=payload, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            document: dict[str, Any] = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise ControlError(f"{method} {path} on {self.path}: {error}") from None
        finally:
            connection.close()
        if response.status != 200:
            raise ControlError(f"{method} {path}: {response.status} {document.get('error')}")
        return document


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self._socket_path)
        except OSError:
            connection.close()
            raise
        self.sock = connection


__all__ = [
    "ControlError",
    "ControlServer",
    "StandinControl",
    "control_socket",
    "state_directory",
]
