"""The controller's own HTTP listeners: `/metrics` and `/nginx-ready`.

Small stdlib servers on their own threads, each with a clean `close()`, so the
controller can stop them on SIGTERM and tests can run several side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Listener:
    """One HTTP listener on a thread; `port` is the bound port (useful with port 0)."""

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server((host, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"listener-{port}", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def readiness_listener(host: str, port: int, is_ready: Callable[[], bool]) -> Listener:
    """`GET /nginx-ready`: 503 until the first configuration is applied, then 200 (NIC's path)."""

    class Handler(_Quiet):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/nginx-ready":
                self._send(404, b"Not Found\n", "text/plain")
            elif is_ready():
                self._send(200, b"Ready\n", "text/plain")
            else:
                self._send(503, b"Service Unavailable\n", "text/plain")

    return Listener(host, port, Handler)


def metrics_listener(host: str, port: int, registry: CollectorRegistry) -> Listener:
    """`GET /metrics` in the Prometheus text format."""

    class Handler(_Quiet):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self._send(404, b"Not Found\n", "text/plain")
            else:
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)

    return Listener(host, port, Handler)


class _Quiet(BaseHTTPRequestHandler):
    """No per-request log lines: probes hit these every second."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: ARG002 - silence
        return

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
