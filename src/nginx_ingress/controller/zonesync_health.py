"""Zone-sync health, from NGINX Plus's own view (`GET /api/<v>/stream/zone_sync`).

While zone sync is in place, the API is asked every few seconds how many peers this
replica is connected to and how far each synced zone lags; that becomes the metrics
`…_zone_sync_nodes_online` and `…_zone_sync_records_pending{zone}` /
`…_records_total{zone}`. Beyond NIC (which has the numbers but never says anything),
fewer peers online than the headless Service has ready endpoints minus this one, for
longer than the grace period, posts one Warning `ZoneSyncDegraded` on the ConfigMap,
and the way back one Normal `ZoneSyncRecovered`: one event per transition, never one
per poll, so a replica that restarts during a rollout does not page anyone.

One thread owns the poll and the degraded state; the sync loop only says whether zone
sync is in place. Every API call has a timeout (the client's).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from nginx_ingress.kube.events import NORMAL, WARNING, EventRecorder, ObjectReference
from nginx_ingress.nginx.plusapi import PlusApiClient, PlusApiError
from nginx_ingress.observe.metrics import Metrics

log = logging.getLogger("nginx_ingress.controller")

DEGRADED, RECOVERED = "ZoneSyncDegraded", "ZoneSyncRecovered"


class ZoneSyncHealth:
    def __init__(
        self,
        client: PlusApiClient,
        metrics: Metrics,
        recorder: EventRecorder,
        *,
        expected_peers: Callable[[], int | None],
        configmap: Callable[[], ObjectReference | None],
        interval: float = 5.0,
        grace: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client, self._metrics, self._recorder = client, metrics, recorder
        self._expected_peers, self._configmap = expected_peers, configmap
        self._interval, self._grace, self._clock = interval, grace, clock
        self._active = threading.Event()
        self._stopped = threading.Event()
        self._short_since: float | None = None
        self._degraded = False
        self._thread = threading.Thread(target=self._run, name="zone-sync-health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(10)

    def set_active(self, active: bool) -> None:
        """Zone sync is in place (the sync loop says so after each apply)."""
        if active:
            self._active.set()
        else:
            self._active.clear()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            if self._active.is_set():
                try:
                    self.poll()
                except Exception:  # a bug here must not end the health checks
                    log.exception("zone-sync health check failed")

    def poll(self) -> None:
        """One look at the API: metrics, and an event when the state changes."""
        try:
            status = self._client.zone_sync()
        except PlusApiError as error:
            log.warning("cannot read zone-sync status from the NGINX Plus API: %s", error)
            return
        if status is None:  # not configured (yet): nothing to say
            return
        self._metrics.set_zone_sync_status(
            status.nodes_online,
            {zone.name: (zone.records_pending, zone.records_total) for zone in status.zones},
        )
        expected = self._expected_peers()
        now = self._clock()
        if expected is not None and status.nodes_online < expected:
            if self._short_since is None:
                self._short_since = now
            if not self._degraded and now - self._short_since >= self._grace:
                self._degraded = True
                self._say(
                    WARNING,
                    DEGRADED,
                    f"zone sync reaches {status.nodes_online} of {expected} peers "
                    f"(the headless Service's ready endpoints but this one) for "
                    f"{now - self._short_since:.0f}s: state is not shared with the others",
                )
            return
        self._short_since = None
        if self._degraded:
            self._degraded = False
            self._say(
                NORMAL, RECOVERED, f"zone sync reaches every peer again ({status.nodes_online})"
            )

    def _say(self, kind: str, reason: str, message: str) -> None:
        self._recorder.say(self._configmap(), kind, reason, message)
