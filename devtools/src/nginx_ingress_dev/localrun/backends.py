"""`--backends`: small HTTP programs at the addresses the Services' annotations list.

Each answers every request with one line, its name (the Service's), the request's
Host header and path, and its own address, so a user sees at a glance which
backend NGINX chose and what it forwarded. They are threads of the run, not
processes, so they end with it. They follow the annotations: an address added
gets a backend, an address removed loses it. Only loopback addresses get one; an
address that cannot be bound (another program listens there) is reported once.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nginx_ingress_dev.localrun.endpoints import LocalAddress


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Server6(_Server):
    address_family = socket.AF_INET6


class Backend:
    def __init__(self, name: str, address: LocalAddress) -> None:
        self.name = name
        self.address = address
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = self.headers.get("Host", "")
                body = f"{backend.name} {host} {self.path} {backend.address}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

            def log_message(self, *_args: object) -> None:
                return None

        server_class = _Server6 if address.version == 6 else _Server
        self._server = server_class((address.ip, address.port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"dev-backend-{name}-{address.port}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class BackendStandIn:
    """Runs one backend per (Service, loopback address); not thread-safe (one caller)."""

    def __init__(self) -> None:
        self._running: dict[tuple[str, LocalAddress], Backend] = {}
        self._said: dict[tuple[str, LocalAddress], str] = {}

    def reconcile(self, addresses: Mapping[str, tuple[LocalAddress, ...]]) -> list[str]:
        """`addresses`: `namespace/service` → where its endpoints listen."""
        wanted = {
            (service.partition("/")[2], address): service
            for service, found in addresses.items()
            for address in found
        }
        lines: list[str] = []
        for key in sorted(self._running.keys() - wanted.keys()):
            backend = self._running.pop(key)
            backend.close()
            lines.append(f"backend {backend.name} on {backend.address} stopped")
        said: dict[tuple[str, LocalAddress], str] = {}
        for key, service in sorted(wanted.items()):
            name, address = key
            if key in self._running:
                continue
            other = next((n for n, a in self._running if a == address), None)
            if other is not None:
                problem = f"backend {other} of this run listens there already"
            elif not address.loopback:
                problem = "not a loopback address, so no backend is started there"
            else:
                try:
                    self._running[key] = Backend(name, address)
                except OSError as error:
                    problem = f"cannot listen there: {error.strerror or error}"
                else:
                    lines.append(f"backend {name} (Service {service}) listening on {address}")
                    continue
            said[key] = problem
            if self._said.get(key) != problem:
                lines.append(f"warning: backend {name} on {address}: {problem}")
        self._said = said
        return lines

    def close(self) -> None:
        for backend in self._running.values():
            backend.close()
        self._running.clear()
