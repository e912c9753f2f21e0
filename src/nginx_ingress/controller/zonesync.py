"""The zone-sync headless Service reconciler: who the controller is, and its Service.

Reads the controller's own Pod and workload once (then follows the workload with a
watch, so the Service's selector follows it), and converges the headless Service
named by `-zone-sync-service-name`. The ordering against NGINX's reloads (create
before enabling, delete after disabling) is the loop's: this only converges.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from nginx_ingress.kube.api import PODS, SERVICES, WORKLOADS, KubeApi, KubeError, Object
from nginx_ingress.kube.headless import (
    DesiredService,
    HeadlessService,
    ServiceOutcome,
    ServiceState,
)
from nginx_ingress.kube.reflector import Backoff, Reflector, WatchTiming
from nginx_ingress.kube.workload import Workload, find_workload, selector_for, workload_of
from nginx_ingress.settings import Settings

log = logging.getLogger("nginx_ingress.controller")


class ZoneSyncService:
    def __init__(
        self,
        api: KubeApi,
        settings: Settings,
        pod_name: str,
        *,
        selector_override: Mapping[str, str] | None,
        on_change: Callable[[], None],
        timing: WatchTiming,
    ) -> None:
        self._api, self._settings, self._pod_name = api, settings, pod_name
        self._selector_override = selector_override
        self._on_change, self._timing = on_change, timing
        self._lock = threading.Lock()
        self._stopped = False
        self._pod: Object | None = None
        self._workload: Workload | None = None
        self._workload_gone = False
        self._workload_reflector: Reflector[Object] | None = None
        self._identity_backoff = Backoff(timing.backoff_initial, timing.backoff_cap)
        self._identity_failure: tuple[float, KubeError] | None = None
        """The last failed read of the Pod and when to try again (monotonic seconds)."""
        self.service_reflector = self._follow(SERVICES, settings.zone_sync_service_name)
        key = f"{settings.namespace}/{settings.zone_sync_service_name}"
        self._service = HeadlessService(api, lambda: self.service_reflector.get(key))

    def _follow(
        self, resource: object, name: str, on_change: Callable[[], None] | None = None
    ) -> Reflector[Object]:
        changed = on_change or self._on_change
        return Reflector(
            self._api,
            resource,  # type: ignore[arg-type]
            namespace=self._settings.namespace,
            field_selector=f"metadata.name={name}",
            on_change=lambda _keys: changed(),
            timing=self._timing,
        )

    @property
    def reflectors(self) -> list[Reflector[Object]]:
        with self._lock:
            extra = [self._workload_reflector] if self._workload_reflector else []
        return [self.service_reflector, *extra]

    def start(self) -> None:
        self.service_reflector.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        for reflector in self.reflectors:
            reflector.stop()

    def converge(self, *, enabled: bool, port: int) -> ServiceOutcome:
        """Make the Service exist (enabled, NGINX Plus) or not; never raises for API errors."""
        selector: dict[str, str] = {}
        if enabled:
            try:
                self._discover_identity()
            except KubeError as error:
                if not self._selector_override:
                    return ServiceOutcome(
                        ServiceState.FAILED, f"cannot read the controller's own Pod: {error}"
                    )
            selector = selector_for(self._pod, self._workload, self._selector_override)
            if not selector:
                return ServiceOutcome(
                    ServiceState.FAILED,
                    "no selector for the headless Service: the Pod has no labels; "
                    "set -zone-sync-service-selector",
                )
        settings = self._settings
        owner = None if self._workload_gone else self._workload
        desired = DesiredService(
            settings.zone_sync_service_name, settings.namespace, port, selector, owner
        )
        return self._service.converge(desired, enabled=enabled and settings.nginx_plus)

    def selector(self) -> dict[str, str]:
        """The headless Service's selector: the controller's own pods (raises `KubeError`
        when the Pod cannot be read and no -zone-sync-service-selector is given)."""
        if self._selector_override:
            return dict(self._selector_override)
        self._discover_identity()
        return selector_for(self._pod, self._workload, None)

    def _discover_identity(self) -> None:
        """Read our Pod and its workload once; then follow the workload with a watch.

        After a failed read, the same error is raised again without a request until a
        backoff delay has passed: every sync asks (zone sync and `limit-req-scale` both
        need the Pod), and endpoint churn must not turn into one GET per sync while the
        API refuses."""
        if self._pod is not None:
            return
        now = time.monotonic()
        if self._identity_failure is not None and now < self._identity_failure[0]:
            raise self._identity_failure[1]
        namespace = self._settings.namespace
        try:
            pod = self._api.get(PODS, self._pod_name, namespace)
            workload = find_workload(self._api, pod)
        except KubeError as error:
            self._identity_failure = (now + self._identity_backoff.next_delay(), error)
            raise
        self._identity_failure = None
        self._pod, self._workload = pod, workload
        with self._lock:
            if workload is not None and self._workload_reflector is None and not self._stopped:
                self._workload_reflector = self._follow(
                    WORKLOADS[workload.kind], workload.name, self._workload_changed
                )
                self._workload_reflector.start()
        log.info(
            "running as Pod %s/%s of %s",
            namespace,
            self._pod_name,
            f"{workload.kind} {workload.name}" if workload else "no known workload",
        )

    def _workload_changed(self) -> None:
        reflector, workload = self._workload_reflector, self._workload
        if reflector is None or workload is None:
            return
        current = reflector.get(f"{self._settings.namespace}/{workload.name}")
        # Deleted: stop naming it as the Service's owner (the garbage collector would take
        # the Service with it, and the next sync would create it again, in a loop).
        self._workload_gone = current is None
        if current is not None:
            self._workload = workload_of(current)
        self._on_change()
