"""Small real HTTP backends on 127.0.0.1 for end-to-end routing tests.

Each answers every request with one line: its name, the request's Host header and
path, and its own address, so a test can tell which backend NGINX chose and what
it forwarded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Backend:
    def __init__(self, name: str) -> None:
        self.name = name
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = self.headers.get("Host", "")
                address = f"127.0.0.1:{backend.port}"
                body = f"{backend.name} {host} {self.path} {address}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@contextmanager
def backends(*names: str) -> Iterator[dict[str, Backend]]:
    started = {name: Backend(name) for name in names}
    try:
        yield started
    finally:
        for backend in started.values():
            backend.close()
