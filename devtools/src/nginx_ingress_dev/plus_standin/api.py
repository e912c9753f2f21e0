"""The NGINX Plus API of the stand-in: the API stub on every place the configuration puts
the API, seeded from the configuration at each (re)load.

Two loopback listeners always run: read-write and read-only, for `api` locations
the real NGINX keeps and proxies (`plusonly.ApiRoute`). A unix socket that the
configuration gives to the API alone gets a listener of its own, on that path,
with that location's `write`. All of them serve one set of data.

A reload loads the upstreams from the configuration before the real master is
signalled, and is undone if the master refuses it: whoever saw the new version
confirmed finds the new upstreams, and whoever saw the refusal finds the old ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from nginx_ingress_dev.plus_standin.declared import Declared
from nginx_ingress_dev.plus_standin.plusonly import ApiRoute, ApiSocket
from nginx_ingress_dev.plusapi_stub import Fault, PlusApiStub, SavedData


@dataclass(frozen=True, slots=True)
class Undo:
    """What `load` replaced, for `undo`."""

    data: SavedData
    declared: Declared | None


class StandinApi:
    """The stub's listeners and what tests may do to them. Thread-safe."""

    def __init__(self) -> None:
        self._read_write = PlusApiStub()
        self._read_only = self._read_write.sibling(write=False)
        self._sockets: dict[ApiSocket, PlusApiStub] = {}
        self._declared: Declared | None = None
        self._zone_sync_override: dict[str, Any] | None = None
        self._overridden = False
        self._lock = threading.Lock()

    def start(self) -> None:
        self._read_write.start()
        self._read_only.start()

    @property
    def route(self) -> ApiRoute:
        return ApiRoute(
            read_write=self._read_write.url.removesuffix("/api"),
            read_only=self._read_only.url.removesuffix("/api"),
        )

    def serve_sockets(self, sockets: tuple[ApiSocket, ...]) -> None:
        """Listen on exactly these unix sockets (a reload may add or drop one)."""
        with self._lock:
            for socket in list(self._sockets):
                if socket not in sockets:
                    self._sockets.pop(socket).stop()
            for socket in sockets:
                if socket not in self._sockets:
                    listener = self._read_write.sibling(unix_socket=socket.path, write=socket.write)
                    listener.start()
                    self._sockets[socket] = listener

    def load(self, declared: Declared) -> tuple[Undo, tuple[str, ...]]:
        """The API's data as `declared` says (a reload); returns how to undo it, and the
        servers left out with why."""
        with self._lock:
            undo = Undo(self._read_write.saved(), self._declared)
            problems = self._read_write.load(declared.upstreams)
            self._declared = declared
            self._publish_zone_sync()
        return undo, problems

    def undo(self, undo: Undo) -> None:
        with self._lock:
            self._read_write.restore(undo.data)
            self._declared = undo.declared
            self._publish_zone_sync()

    def stop(self) -> None:
        with self._lock:
            for listener in (*self._sockets.values(), self._read_only, self._read_write):
                listener.stop()
            self._sockets.clear()

    # --- what tests may do, through the control socket -------------------------------

    def set_fault(self, fault: Fault | None) -> None:
        self._read_write.fault = fault  # the data, and so the fault, are shared

    def refuse_connections(self) -> None:
        with self._lock:
            for listener in self._listeners():
                listener.refuse_connections()

    def accept_connections(self) -> None:
        with self._lock:
            for listener in self._listeners():
                listener.accept_connections()

    def override_zone_sync(self, document: dict[str, Any] | None) -> None:
        """`/stream/zone_sync/` answers `document` (None: 404) until `clear_zone_sync`, across
        reloads: peers coming and going, records pending."""
        with self._lock:
            self._zone_sync_override, self._overridden = document, True
            self._publish_zone_sync()

    def clear_zone_sync(self) -> None:
        """Back to what the configuration declares."""
        with self._lock:
            self._zone_sync_override, self._overridden = None, False
            self._publish_zone_sync()

    def clear_requests(self) -> None:
        self._read_write.clear_requests()

    def state(self) -> dict[str, Any]:
        """Everything a test may want to read back, as JSON."""
        stub, route = self._read_write, self.route
        with self._lock:
            sockets = [{"path": s.path, "write": s.write} for s in self._sockets]
        return {
            "generation": stub.generation,
            "upstreams": {name: stub.servers(name) for name in stub.upstream_names()},
            "zone_sync": stub.zone_sync(),
            "sockets": sockets,
            "route": {"read_write": route.read_write, "read_only": route.read_only},
            "requests": [
                {"method": r.method, "path": r.path, "body": r.body, "status": r.status}
                for r in stub.requests
            ],
        }

    def _listeners(self) -> list[PlusApiStub]:
        return [self._read_write, self._read_only, *self._sockets.values()]

    def _publish_zone_sync(self) -> None:
        if self._overridden:
            self._read_write.set_zone_sync(self._zone_sync_override)
        elif self._declared is not None:
            self._read_write.set_zone_sync(self._declared.zone_sync_document())
