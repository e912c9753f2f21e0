"""The stand-ins' loop: whenever anything in the local API server changed, bring the
EndpointSlices, the made-up certificates and the backends in line with it.

Level-triggered, as a cluster's controllers are: each pass looks at the whole (small)
state, so a Service from the folder and one from `kubectl apply` are treated alike,
and a pass that finds everything in place writes nothing. "Anything changed" is the
store's global resourceVersion, read every 100 ms: in-process, that is cheaper and
simpler than a watch per kind, and no change can be missed between two reads.
"""

from __future__ import annotations

import logging
import threading

from nginx_ingress_dev.devcluster.store import Store
from nginx_ingress_dev.localrun.backends import BackendStandIn
from nginx_ingress_dev.localrun.certificates import CertificateStandIn
from nginx_ingress_dev.localrun.console import Console
from nginx_ingress_dev.localrun.endpoints import EndpointStandIn

log = logging.getLogger(__name__)


class StandIns:
    def __init__(
        self,
        store: Store,
        console: Console,
        certificates: CertificateStandIn,
        *,
        backends: bool,
        interval: float = 0.1,
    ) -> None:
        self._store = store
        self._console = console
        self._endpoints = EndpointStandIn(store)
        self._certificates = certificates
        self._backends = BackendStandIn() if backends else None
        self._interval = interval
        self._seen = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dev-stand-ins", daemon=True)
        self._lock = threading.Lock()

    def reconcile(self) -> None:
        """One pass, until it writes nothing more (a Secret made here changes nothing else,
        an EndpointSlice nothing else: two passes at most)."""
        with self._lock:
            for _ in range(3):
                version = self._store.resource_version
                lines = [*self._certificates.reconcile(), *self._endpoints.reconcile()]
                if self._backends is not None:
                    lines.extend(self._backends.reconcile(self._endpoints.addresses))
                self._seen = self._store.resource_version
                self._console.lines(lines)  # warnings come as `warning: …` already
                if self._seen == version:
                    return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            if self._backends is not None:
                self._backends.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if self._store.resource_version == self._seen:
                continue
            try:
                self.reconcile()
            except Exception:  # a bug here must not stop the stand-ins for good
                log.exception("the local run's stand-ins failed")
