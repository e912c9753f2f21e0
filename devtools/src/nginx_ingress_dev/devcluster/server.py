"""The HTTP/1.1 transport: a threaded stdlib server with keep-alive, TCP_NODELAY,
optional TLS (server certificate, optional client certificates), chunked watch
streams, and a shutdown that ends open watches and idle connections promptly.

Why these details matter: a first spike ran at 23 requests/s because Nagle's
algorithm and delayed ACKs stalled every response written in two pieces (so
TCP_NODELAY is on and responses go out in one write); lightkube compares
`Content-Type` to `application/json` exactly; watch responses must be chunked for
clients to see each event as it happens.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from nginx_ingress_dev.devcluster.api import Api, Request, Response, StreamingResponse
from nginx_ingress_dev.devcluster.errors import BadRequest

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class TlsConfig:
    """Serve HTTPS with this certificate; with `client_ca_file`, accept client
    certificates signed by that CA as credentials (CN = user, O = groups)."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        if self.client_ca_file is not None:
            context.load_verify_locations(str(self.client_ca_file))
            context.verify_mode = ssl.CERT_OPTIONAL
        return context


class DevHTTPServer(ThreadingHTTPServer):
    """Tracks its connection threads so `shutdown()` can end them all."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        api: Api,
        *,
        tls: TlsConfig | None,
        idle_timeout: float,
    ) -> None:
        super().__init__(address, RequestHandler)
        self.api = api
        self.idle_timeout = idle_timeout
        self.tls = tls
        if tls is not None:
            self.socket = tls.server_context().wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self._connections: set[socket.socket] = set()
        self._connection_threads: set[threading.Thread] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"devcluster-conn-{self.port}",
            daemon=True,
        )
        with self._connections_lock:
            self._connection_threads = {t for t in self._connection_threads if t.is_alive()}
            self._connection_threads.add(thread)
            self._connections.add(request)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def shutdown(self, grace: float = 5.0) -> None:
        """Stop accepting, end every watch and keep-alive connection, and wait (at most
        `grace` seconds) for the connection threads to finish.

        Watches are closed first so their streams end with the terminating chunk; then
        the read side of every connection is shut, which wakes idle keep-alive readers
        with EOF but still lets a stream finish writing. Stragglers are cut off.
        """
        self.api.stopping.set()
        super().shutdown()
        self.api.store.close_watchers("the server is shutting down")
        with self._connections_lock:
            connections = set(self._connections)
            threads = set(self._connection_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                # socket.socket's own shutdown: SSLSocket.shutdown would drop the TLS state
                # that a stream still needs to write its last chunk.
                socket.socket.shutdown(connection, socket.SHUT_RD)
        deadline = time.monotonic() + grace
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        with self._connections_lock:
            stragglers = set(self._connections)
        for connection in stragglers:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=1.0)
            if thread.is_alive():
                log.warning("devcluster: connection thread %s did not end", thread.name)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "devcluster"
    sys_version = ""
    server: DevHTTPServer
    error_content_type = "text/plain"

    _hop_by_hop: ClassVar[frozenset[str]] = frozenset({"connection", "keep-alive"})

    def setup(self) -> None:
        # Bounds both an idle keep-alive connection and a watch client that stops reading.
        self.request.settimeout(self.server.idle_timeout)
        super().setup()
        self._handshake_failed = False
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as error:
                log.info("devcluster: TLS handshake with %s failed: %s", self.client_address, error)
                self._handshake_failed = True

    def handle(self) -> None:
        if self._handshake_failed:
            return
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def handle_one_request(self) -> None:
        # Wait for the next request here, while the connection is idle, so that a client
        # ending the connection is told apart from a request that breaks off.
        try:
            if isinstance(self.rfile, io.BufferedReader):
                self.rfile.peek(1)
        except TimeoutError as error:
            self.log_error("Request timed out: %r", error)
            self.close_connection = True
            return
        except ssl.SSLError as error:
            if error.reason != "TLSV1_ALERT_DECODE_ERROR":
                raise
            # OpenSSL 3 sends this alert when it reads EOF without close_notify, as a client
            # does whose own read side was shut to end a blocking read (urllib3's
            # HTTPResponse.shutdown(), as the controller ends a watch). Nothing was lost:
            # the last response was whole and no next request had begun.
            log.debug(
                "devcluster: %s ended the idle TLS connection: %s", self.client_address, error
            )
            self.close_connection = True
            return
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("devcluster: %s " + format, self.address_string(), *args)

    def _peer_certificate(self) -> dict[str, Any] | None:
        if isinstance(self.connection, ssl.SSLSocket):
            certificate = self.connection.getpeercert()
            return dict(certificate) if certificate else None
        return None

    def _read_request(self) -> Request:
        split = urlsplit(self.path)
        length_header = self.headers.get("Content-Length")
        body = b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif length_header:
            try:
                length = int(length_header)
            except ValueError:
                raise BadRequest("invalid Content-Length") from None
            if length < 0 or length > MAX_BODY_BYTES:
                raise BadRequest(f"request body too large ({length} bytes)")
            body = self.rfile.read(length)
        return Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            query_string=split.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            peer_certificate=self._peer_certificate(),
        )

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest("invalid chunked request body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequest("request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _serve(self) -> None:
        try:
            request = self._read_request()
        except BadRequest as error:
            self._send(self.server.api.error_response(error))
            self.close_connection = True
            return
        response = self.server.api.handle(request)
        if isinstance(response, StreamingResponse):
            self._stream(response)
        else:
            self._send(response, head_only=self.command == "HEAD")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _head(self, status: int, content_type: str, extra: dict[str, str]) -> list[bytes]:
        reason = self.responses.get(status, ("",))[0]
        lines = [
            f"HTTP/1.1 {status} {reason}".encode(),
            f"Content-Type: {content_type}".encode(),
            b"Cache-Control: no-cache, private",
        ]
        lines.extend(f"{name}: {value}".encode() for name, value in extra.items())
        return lines

    def _send(self, response: Response, *, head_only: bool = False) -> None:
        lines = self._head(response.status, response.content_type, dict(response.headers))
        lines.append(f"Content-Length: {len(response.body)}".encode())
        if self.close_connection:
            lines.append(b"Connection: close")
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        # One write for head and body: split writes meet Nagle + delayed ACK.
        self.wfile.write(head if head_only else head + response.body)

    def _stream(self, response: StreamingResponse) -> None:
        lines = self._head(response.status, response.content_type, {"Transfer-Encoding": "chunked"})
        self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n")
        chunks: Iterator[bytes] = response.chunks
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
