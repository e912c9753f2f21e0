"""Ingress status and the leader election that decides who writes it, started and
stopped together.

`-report-ingress-status` (default true) writes the controller's address into the
Ingresses it serves; with `-enable-leader-election` (default true) only the holder of
the Lease `-leader-election-lock-name` does. Leadership gates status writes and
nothing else: every replica watches, renders and serves traffic, and readiness never
depends on it.

Stop order (SIGTERM): stop believing we lead and release the Lease first, so a
successor takes over at once, then stop the writers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from nginx_ingress.controller.ingress_status import (
    DEFAULT_RATE,
    AlwaysLeader,
    IngressStatusReporter,
)
from nginx_ingress.kube.api import KubeApi
from nginx_ingress.kube.lease import LeaderElector, LeaseTiming
from nginx_ingress.kube.reflector import WatchTiming
from nginx_ingress.observe.metrics import Metrics

log = logging.getLogger("nginx_ingress.controller.status")

DEFAULT_LOCK_NAME = "nginx-ingress-leader-election"


@dataclass(frozen=True, slots=True)
class StatusSettings:
    """The status and leader-election flags, checked."""

    external_service: tuple[str, str] | None = None
    """(namespace, name) of `-external-service`."""
    leader_election: bool = True
    lock_name: str = DEFAULT_LOCK_NAME
    timing: LeaseTiming = field(default_factory=LeaseTiming)
    rate: float = DEFAULT_RATE
    """`-status-update-rate`: status writes per second, at most."""


class StatusReporting:
    def __init__(
        self,
        api: KubeApi,
        settings: StatusSettings,
        *,
        namespace: str,
        pod_name: str,
        watch_namespaces: tuple[str, ...],
        metrics: Metrics,
        timing: WatchTiming = WatchTiming(),
    ) -> None:
        self._elector: LeaderElector | None = None
        if settings.leader_election:
            self._elector = LeaderElector(
                api,
                namespace=namespace,
                name=settings.lock_name,
                identity=pod_name,
                timing=settings.timing,
                on_started_leading=lambda: self.reporter.leadership_changed(True),
                on_stopped_leading=lambda: self.reporter.leadership_changed(False),
                watch_timing=timing,
            )
        leadership = self._elector or AlwaysLeader()
        metrics.track_leader(leadership.is_leader)
        self.reporter = IngressStatusReporter(
            api,
            leadership=leadership,
            metrics=metrics,
            namespace=namespace,
            pod_name=pod_name,
            external_service=settings.external_service,
            watch_namespaces=watch_namespaces,
            rate=settings.rate,
            timing=timing,
        )

    def start(self) -> None:
        self.reporter.start()
        if self._elector is not None:
            self._elector.start()
        else:
            log.info("leader election is off: this replica writes Ingress status")

    def stop(self) -> None:
        if self._elector is not None:
            self._elector.stop(release=True)
        self.reporter.stop()
