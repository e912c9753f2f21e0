"""The controller loop: changes → coalesce → snapshot → parse, build, render → apply → report.

Idempotent, in the manner of controller-runtime: each sync reads the desired state
(the ConfigMap) and the actual state (the headless Service, NGINX's last applied
tree), converges, and schedules a retry with backoff when the API failed it.

Ordering for zone sync (spec section 3):
- enable: the headless Service is created or repaired first, and only once it is
  confirmed does the rendered configuration carry the zone-sync server;
- disable: NGINX is reloaded without the zone-sync server first, then the Service
  is deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from nginx_ingress.build import build_configuration
from nginx_ingress.configmap import ParseResult, Reason, parse_configmap
from nginx_ingress.controller.report import (
    Summary,
    SyncOutcome,
    applied_tree,
    describe_apply,
    summarize,
)
from nginx_ingress.debounce import Debouncer
from nginx_ingress.kube.api import (
    CONFIGMAPS,
    PODS,
    SERVICES,
    WORKLOADS,
    KubeApi,
    KubeError,
    Object,
    Resource,
)
from nginx_ingress.kube.events import WARNING, EventRecorder, ObjectReference
from nginx_ingress.kube.headless import (
    DesiredService,
    HeadlessService,
    ServiceOutcome,
    ServiceState,
)
from nginx_ingress.kube.reflector import Backoff, Reflector, WatchTiming
from nginx_ingress.kube.workload import Workload, find_workload, selector_for, workload_of
from nginx_ingress.nginx.manager import ApplyError, NginxManager
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress.render import render_configuration
from nginx_ingress.settings import Settings

log = logging.getLogger("nginx_ingress.controller")


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    settings: Settings
    pod_name: str
    configmap: tuple[str, str] | None = None
    """(namespace, name) of the controller's ConfigMap (`-nginx-configmaps`)."""
    service_selector: Mapping[str, str] | None = None
    """`-zone-sync-service-selector`: overrides the selector found from the workload."""
    quiet: float = 0.1
    max_delay: float = 1.0
    timing: WatchTiming = field(default_factory=WatchTiming)
    render_only: bool = False
    """`-render-only`: the manager writes checked files and never runs NGINX (for the logs)."""


class Controller:
    def __init__(
        self,
        config: ControllerSettings,
        api: KubeApi,
        manager: NginxManager,
        metrics: Metrics,
        recorder: EventRecorder,
    ) -> None:
        self._config = config
        self._settings = config.settings
        self._api = api
        self._manager = manager
        self._metrics = metrics
        self._recorder = recorder
        self._stopped = threading.Event()
        self._retry_timer: threading.Timer | None = None
        self._retry = Backoff(config.timing.backoff_initial, config.timing.backoff_cap)
        self._reported: tuple[str, str, Summary] | None = None
        self._applied: dict[str, str] = {}  # the tree of the last successful apply
        self._pod: Object | None = None
        self._workload: Workload | None = None
        self._workload_reflector: Reflector[Object] | None = None
        self._workload_gone = False
        self._lock = threading.Lock()
        namespace = self._settings.namespace
        self._service_reflector = self._reflector(
            SERVICES, namespace, self._settings.zone_sync_service_name
        )
        self._configmap_reflector = (
            self._reflector(CONFIGMAPS, *config.configmap) if config.configmap else None
        )
        self._service = HeadlessService(
            api,
            lambda: self._service_reflector.get(
                f"{namespace}/{self._settings.zone_sync_service_name}"
            ),
        )
        self._debouncer = Debouncer(
            self._sync, quiet=config.quiet, max_delay=config.max_delay, name="controller-sync"
        )

    def _reflector(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        on_change: Callable[[], None] | None = None,
    ) -> Reflector[Object]:
        """A reflector that follows one object by name."""
        return Reflector(
            self._api,
            resource,
            namespace=namespace,
            field_selector=f"metadata.name={name}",
            on_change=lambda _keys: (on_change or self._changed)(),
            timing=self._config.timing,
        )

    @property
    def reflectors(self) -> list[Reflector[Object]]:
        found = [self._service_reflector]
        if self._configmap_reflector is not None:
            found.append(self._configmap_reflector)
        if self._workload_reflector is not None:
            found.append(self._workload_reflector)
        return found

    def start(self) -> None:
        """Start watching; the first apply happens once every reflector has listed."""
        for reflector in self.reflectors:
            reflector.start()

    def stop(self) -> None:
        """Stop taking changes: no sync starts after this returns (one running finishes)."""
        with self._lock:
            self._stopped.set()
            if self._retry_timer is not None:
                self._retry_timer.cancel()
        self._debouncer.stop()
        with self._lock:
            reflectors = self.reflectors
        for reflector in reflectors:
            reflector.stop()

    def _changed(self) -> None:
        if not self._stopped.is_set():
            self._metrics.set_workqueue_depth("taskQueue", 1)
            self._debouncer.trigger()

    # --- one sync ----------------------------------------------------------------------------

    def _sync(self) -> None:
        # The workload's own watch does not gate syncs: a failure to list it (RBAC, say)
        # must not stop the controller from following its ConfigMap.
        gates = (self._service_reflector, self._configmap_reflector)
        if self._stopped.is_set() or not all(r.synced.is_set() for r in gates if r is not None):
            return  # the last reflector to finish its first list triggers the first sync
        self._metrics.set_workqueue_depth("taskQueue", 0)
        try:
            retry = "; ".join(self._converge()) or None
        except Exception:  # a bug, or an error no layer below expected: retry, never stop
            log.exception("the sync failed")
            retry = "the sync failed unexpectedly (logged above)"
        self._schedule_retry(retry)

    def _converge(self) -> list[str]:
        """One sync; returns why it must be retried (empty when it converged)."""
        configmap = self._configmap()
        result = parse_configmap((configmap or {}).get("data"), self._settings)
        zone_sync = result.config.zone_sync
        wanted = zone_sync.enabled
        outcome = ServiceOutcome(ServiceState.ABSENT)
        if wanted:
            outcome = self._converge_service(enabled=True, port=zone_sync.port)
        ready = outcome.state is ServiceState.READY
        error, held_back = self._apply(result, zone_sync_ready=ready)
        if not wanted and error is None:
            # Only once NGINX no longer names the Service (spec: disable reloads first).
            outcome = self._converge_service(enabled=False, port=zone_sync.port)
        self._metrics.set_zone_sync(enabled=wanted, service_ready=ready)
        synced = SyncOutcome(
            invalid_values=bool(result.problems),
            zone_sync_wanted=wanted,
            service=outcome,
            apply_error=error,
            held_back=tuple(sorted(held_back.items())),
        )
        self._report(configmap, result, synced)
        return synced.retry_reasons()

    def _configmap(self) -> Object | None:
        if self._configmap_reflector is None:
            return None
        return self._configmap_reflector.get("/".join(self._config.configmap or ()))

    def _apply(
        self, result: ParseResult, *, zone_sync_ready: bool
    ) -> tuple[str | None, dict[str, str]]:
        """Render and apply; (the error that stopped it, the files held back and why)."""
        configuration = build_configuration(
            result.config, self._settings, zone_sync_service_ready=zone_sync_ready
        )
        tree = render_configuration(configuration)
        try:
            applied = self._manager.apply(tree)
        except ApplyError as error:
            log.error("configuration not applied: %s", error)
            return str(error), {}
        for path, problem in applied.held_back.items():
            log.warning("%s held back: %s", path, problem)
        log.log(
            logging.INFO if applied.changed else logging.DEBUG,
            "%s",
            describe_apply(
                self._applied,
                tree,
                applied,
                render_only=self._config.render_only,
                conf_dir=str(self._settings.conf_dir),
            ),
        )
        if applied.changed:
            self._applied = applied_tree(self._applied, tree, applied.held_back)
        return None, dict(applied.held_back)

    def _converge_service(self, *, enabled: bool, port: int) -> ServiceOutcome:
        settings = self._settings
        selector: dict[str, str] = {}
        if enabled:
            try:
                self._discover_identity()
            except KubeError as error:
                if not self._config.service_selector:
                    return ServiceOutcome(
                        ServiceState.FAILED, f"cannot read the controller's own Pod: {error}"
                    )
            selector = selector_for(self._pod, self._workload, self._config.service_selector)
            if not selector:
                return ServiceOutcome(
                    ServiceState.FAILED,
                    "no selector for the headless Service: the Pod has no labels; "
                    "set -zone-sync-service-selector",
                )
        owner = None if self._workload_gone else self._workload
        desired = DesiredService(
            settings.zone_sync_service_name, settings.namespace, port, selector, owner
        )
        return self._service.converge(desired, enabled=enabled and settings.nginx_plus)

    def _discover_identity(self) -> None:
        """Read our Pod and its workload once; then follow the workload with a watch."""
        if self._pod is not None:
            return
        namespace = self._settings.namespace
        pod = self._api.get(PODS, self._config.pod_name, namespace)
        workload = find_workload(self._api, pod)
        self._pod, self._workload = pod, workload
        with self._lock:
            if (
                workload is not None
                and self._workload_reflector is None
                and not self._stopped.is_set()
            ):
                self._workload_reflector = self._reflector(
                    WORKLOADS[workload.kind], namespace, workload.name, self._workload_changed
                )
                self._workload_reflector.start()
        log.info(
            "running as Pod %s/%s of %s",
            namespace,
            self._config.pod_name,
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
        self._changed()

    def _report(self, configmap: Object | None, result: ParseResult, synced: SyncOutcome) -> None:
        if configmap is None:
            return
        about = ObjectReference.of(configmap, "v1", "ConfigMap")
        outcome = synced.service
        if outcome.state is ServiceState.CONFLICT:
            self._recorder.record(about, WARNING, "ZoneSyncServiceConflict", outcome.message)
        elif outcome.state is ServiceState.FAILED:
            self._recorder.record(about, WARNING, "ZoneSyncServiceFailed", outcome.message)
        name = f"{about.namespace}/{about.name}"
        summary = summarize(name, synced)
        # One report per version of the ConfigMap, and one more when its outcome changes
        # (applied after a failure, zone sync on once its Service is in place), not one
        # per sync.
        reported = (about.uid, about.resource_version, summary)
        if reported == self._reported:
            return
        self._reported = reported
        for problem in result.problems:
            reason = (
                "InvalidValue" if problem.reason is Reason.INVALID_VALUE else str(problem.reason)
            )
            self._recorder.record(about, WARNING, reason, f"ConfigMap {name}: {problem.line}")
        self._recorder.record(about, summary.type, summary.reason, summary.message)

    def _schedule_retry(self, reason: str | None) -> None:
        """Run the sync again after a backoff delay, because of `reason`; None: it converged."""
        with self._lock:
            if self._retry_timer is not None:
                self._retry_timer.cancel()
                self._retry_timer = None
            if reason is None:
                self._retry.reset()
                return
            if self._stopped.is_set():
                return
            delay = self._retry.next_delay()
            log.info("retrying the sync in %.1fs: %s", delay, reason)
            self._retry_timer = threading.Timer(delay, self._changed)
            self._retry_timer.daemon = True
            self._retry_timer.start()
