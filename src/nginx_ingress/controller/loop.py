"""The controller loop: changes → coalesce → converge → apply → report.

Idempotent, in the manner of controller-runtime: each sync reads the desired state
(the ConfigMap and the Ingresses with what they refer to) and the actual state (the
headless Service, what NGINX runs), converges, and schedules a retry with backoff
when the API failed it. Changes arrive as keys by kind (`ChangeSet`), so a sync
rebuilds only the Ingresses they touch; the first sync, a ConfigMap change and an
IngressClass change look at every Ingress.

One sync, in order:
1. the ConfigMap is parsed (when it changed);
2. zone sync: when asked for, the headless Service is created or repaired first,
   and the zone-sync server is rendered only once the Service is confirmed, and, when
   TLS is asked for, only with a usable certificate (`zonesync_tls`);
3. the routing table rebuilds the Ingresses the changes touch;
4. the main files are rendered, and every changed file goes to the NGINX manager in
   one apply (one reload); start-up waits until every informer has listed, so the
   first apply carries every Ingress and NGINX starts once;
5. zone sync off: only now, with NGINX no longer naming it, the Service is deleted;
6. events: the ConfigMap's summary, and one per Ingress whose outcome changed.

Ingress status is not written here: each sync hands the routing table's outcomes and
the ConfigMap's `external-status-address` to the status reporter (`StatusObserver`),
which queues its writes on its own threads, so a slow API never holds up a reload.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

from nginx_ingress import gcpause
from nginx_ingress.configmap import ParseResult, Reason, parse_configmap
from nginx_ingress.controller.changes import ChangeSet
from nginx_ingress.controller.informers import (
    INGRESS,
    INGRESS_CLASS,
    SECRET,
    SERVICE,
    ClusterInformers,
)
from nginx_ingress.controller.ingress_events import IngressEvents
from nginx_ingress.controller.plus import update_servers
from nginx_ingress.controller.replicas import ReplicaCount
from nginx_ingress.controller.report import Summary, SyncOutcome, describe_apply, summarize
from nginx_ingress.controller.zonesync import ZoneSyncService
from nginx_ingress.controller.zonesync_health import ZoneSyncHealth
from nginx_ingress.controller.zonesync_tls import TlsState, ZoneSyncTlsSecrets, ZoneSyncTlsTracker
from nginx_ingress.debounce import Debouncer
from nginx_ingress.generate import RoutingSummary, build_configuration
from nginx_ingress.generate.ingress import reads_replicas
from nginx_ingress.generate.table import Changes, IngressReport, RoutingTable, Update
from nginx_ingress.generate.zonesync_tls import zone_sync_tls_files, zone_sync_tls_model
from nginx_ingress.kube.api import CONFIGMAPS, ENDPOINTSLICES, KubeApi, KubeError, Object
from nginx_ingress.kube.events import WARNING, EventRecorder, ObjectReference
from nginx_ingress.kube.headless import ServiceOutcome, ServiceState
from nginx_ingress.kube.reflector import Backoff, Reflector, WatchTiming
from nginx_ingress.layout import DEFAULT_SECRET_FILE
from nginx_ingress.nginx.manager import ApplyError, ApplyResult, NginxManager
from nginx_ingress.nginx.plusapi import PlusApiClient
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress.render import render_configuration
from nginx_ingress.resources import EndpointSlice
from nginx_ingress.resources.endpointslice import SERVICE_NAME_LABEL
from nginx_ingress.settings import Settings
from nginx_ingress.values import HostPort

log = logging.getLogger("nginx_ingress.controller")

CONFIGMAP, ZONE_SYNC, EVERYTHING, REPLICAS = "ConfigMap", "ZoneSync", "Everything", "Replicas"
ZONE_SYNC_TLS = "ZoneSyncTLS"
"""A Secret the zone-sync TLS keys name changed."""
CERTIFICATE_EXPIRY = "CertificateExpiry"
"""A timer's signal: a served certificate expires now (the table knows which)."""


class StatusObserver(Protocol):
    def observe(self, reports: Sequence[IngressReport], configured: Sequence[HostPort]) -> None:
        """Ingresses whose outcome changed, and the ConfigMap's addresses; must not block."""


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    settings: Settings
    pod_name: str
    configmap: tuple[str, str] | None = None
    """(namespace, name) of the controller's ConfigMap (`-nginx-configmaps`)."""
    service_selector: Mapping[str, str] | None = None
    """`-zone-sync-service-selector`: overrides the selector found from the workload."""
    ingress_class: str = "nginx"
    watch_namespaces: tuple[str, ...] = ()
    """`-watch-namespace`: empty for every namespace."""
    secret_namespaces: tuple[str, ...] | None = None
    """`-watch-secret-namespace`: None for the same as `watch_namespaces`."""
    quiet: float = 0.1
    max_delay: float = 1.0
    timing: WatchTiming = field(default_factory=WatchTiming)
    render_only: bool = False
    """`-render-only`: the manager writes checked files and never runs NGINX (for the logs)."""
    zone_sync_degraded_after: float = 30.0
    """`-zone-sync-degraded-after`: how long zone sync may miss peers before a warning."""


class Controller:
    def __init__(
        self,
        config: ControllerSettings,
        api: KubeApi,
        manager: NginxManager,
        metrics: Metrics,
        recorder: EventRecorder,
        *,
        status: StatusObserver | None = None,
        plus_api: PlusApiClient | None = None,
    ) -> None:
        self._config = config
        self._status = status
        self._plus_api = plus_api
        self._settings = config.settings
        self._manager = manager
        self._metrics = metrics
        self._recorder = recorder
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._retry_timer: threading.Timer | None = None
        self._expiry_timer: threading.Timer | None = None
        self._retry = Backoff(config.timing.backoff_initial, config.timing.backoff_cap)
        self._replicas_problem: str | None = None
        """Why `limit-req-scale` counts 1 replica for now: a retry reason until it counts."""
        self._changes = ChangeSet()
        # Owned by the sync thread:
        self._reported: tuple[str, str, Summary] | None = None
        self._parsed: tuple[object, ParseResult] | None = None
        self._main: dict[str, str] = {}
        self._main_rendered: tuple[tuple[object, ...], dict[str, str]] | None = None
        """The main files' inputs and the files rendered from them: most syncs (an endpoint
        change) change none of them, and rendering nginx.conf again would be wasted."""
        self._default_secret_problem: str | None = None
        self._unreported: list[IngressReport] = []
        self._first_apply = True
        self._inputs: tuple[bool, int] = (False, 1)
        """(zone sync in place, ready replicas) the table last built with."""
        self._table = RoutingTable(self._settings, config.ingress_class)
        self._ingress_events = IngressEvents(recorder)

        self._informers = ClusterInformers(
            api,
            namespaces=config.watch_namespaces,
            secret_namespaces=config.secret_namespaces,
            on_change=self._changed,
            timing=config.timing,
        )
        self._zone_sync = ZoneSyncService(
            api,
            self._settings,
            config.pod_name,
            selector_override=config.service_selector,
            on_change=lambda: self._changed(ZONE_SYNC, frozenset()),
            timing=config.timing,
        )
        self._tls_secrets = ZoneSyncTlsSecrets(
            api, lambda: self._changed(ZONE_SYNC_TLS, frozenset()), config.timing
        )
        self._tls = ZoneSyncTlsTracker(
            self._tls_secrets,
            self._settings,
            metrics,
            lambda kind, reason, message: recorder.say(
                self._configmap_reference(), kind, reason, message
            ),
        )
        self._replicas = ReplicaCount(
            api,
            self._settings.namespace,
            on_change=lambda: self._changed(REPLICAS, frozenset()),
            timing=config.timing,
        )
        self._configmap_reflector: Reflector[Object] | None = None
        if config.configmap is not None:
            namespace, name = config.configmap
            self._configmap_reflector = Reflector(
                api,
                CONFIGMAPS,
                namespace=namespace,
                field_selector=f"metadata.name={name}",
                on_change=lambda keys: self._changed(CONFIGMAP, keys),
                timing=config.timing,
            )
        self._health: ZoneSyncHealth | None = None
        self._peers: Reflector[EndpointSlice] | None = None
        if plus_api is not None:
            # The headless Service's endpoints: how many peers zone sync should reach.
            self._peers = Reflector(
                api,
                ENDPOINTSLICES,
                namespace=self._settings.namespace,
                label_selector=f"{SERVICE_NAME_LABEL}={self._settings.zone_sync_service_name}",
                timing=config.timing,
                transform=EndpointSlice.from_object,
            )
            self._health = ZoneSyncHealth(
                plus_api,
                metrics,
                recorder,
                expected_peers=self._expected_peers,
                configmap=self._configmap_reference,
                interval=min(5.0, config.zone_sync_degraded_after / 3),
                grace=config.zone_sync_degraded_after,
            )
        self._debouncer = Debouncer(
            self._sync, quiet=config.quiet, max_delay=config.max_delay, name="controller-sync"
        )

    @property
    def informers(self) -> ClusterInformers:
        return self._informers

    def _gates(self) -> list[Reflector[object]]:
        """The reflectors that must have listed before a sync: all but the workload's (a
        failure to read it, RBAC say, must not stop routing)."""
        gates: list[Reflector[object]] = [self._zone_sync.service_reflector]  # type: ignore[list-item]
        if self._configmap_reflector is not None:
            gates.append(self._configmap_reflector)  # type: ignore[arg-type]
        if self._replicas.reflector is not None:
            gates.append(self._replicas.reflector)  # type: ignore[arg-type]
        return [*gates, *self._informers.reflectors]

    def start(self) -> None:
        """Start watching; the first apply happens once every informer has listed."""
        if self._configmap_reflector is not None:
            self._configmap_reflector.start()
        if self._peers is not None and self._health is not None:
            self._peers.start()
            self._health.start()
        self._zone_sync.start()
        self._informers.start()

    def stop(self) -> None:
        """Stop taking changes: no sync starts after this returns (one running finishes)."""
        with self._lock:
            self._stopped.set()
            for timer in (self._retry_timer, self._expiry_timer):
                if timer is not None:
                    timer.cancel()
        self._debouncer.stop()
        if self._configmap_reflector is not None:
            self._configmap_reflector.stop()
        self._zone_sync.stop()
        self._tls_secrets.stop()
        self._replicas.stop()
        self._informers.stop()
        if self._peers is not None and self._health is not None:
            self._health.stop()
            self._peers.stop()

    def _changed(self, kind: str, keys: frozenset[str]) -> None:
        if not self._stopped.is_set():
            self._changes.add(kind, keys)
            self._metrics.set_workqueue_depth("taskQueue", max(1, self._changes.depth))
            self._debouncer.trigger()

    # --- one sync ----------------------------------------------------------------------------

    def _sync(self) -> None:
        if self._stopped.is_set() or not all(r.synced.is_set() for r in self._gates()):
            return  # the last reflector to finish its first list triggers the first sync
        taken = self._changes.take()
        self._metrics.set_workqueue_depth("taskQueue", 0)
        try:
            retry = "; ".join(self._converge(taken)) or None
        except Exception:  # a bug, or an error no layer below expected: retry, never stop
            log.exception("the sync failed")
            # What it was doing is unknown: the next sync looks at everything again.
            self._changes.add(EVERYTHING)
            retry = "the sync failed unexpectedly (logged above)"
        self._schedule_retry(retry)

    def _converge(self, taken: Mapping[str, set[str]]) -> list[str]:
        configmap = self._configmap()
        result = self._parse(configmap)
        everything = (
            self._first_apply or CONFIGMAP in taken or INGRESS_CLASS in taken or EVERYTHING in taken
        )
        zone_sync = result.config.zone_sync
        now = time.time()
        tls = self._tls.resolve(zone_sync, now)
        if tls.waiting:  # deciding before the Secrets are listed would reload twice
            self._changes.put_back(dict(taken))
            return ["waiting for the first list of the zone-sync TLS Secrets"]
        wanted = zone_sync.enabled
        outcome = ServiceOutcome(ServiceState.ABSENT)
        if wanted:
            outcome = self._zone_sync.converge(enabled=True, port=zone_sync.port)
        ready = outcome.state is ServiceState.READY
        if self._count_replicas(first=self._first_apply):
            # The first apply waits for the count (the pods' list triggers the next sync),
            # so that scaled rate limits start right, with one reload.
            self._changes.put_back(dict(taken))
            return []

        in_place = wanted and ready and tls.allows_zone_sync
        inputs = (in_place, self._replicas.count())
        update = self._table.update(
            Changes(
                ingresses=frozenset(taken.get(INGRESS, ())),
                services=frozenset(taken.get(SERVICE, ())),
                secrets=frozenset(taken.get(SECRET, ())),
                everything=everything or inputs != self._inputs,
                expired=self._table.expired(now),
                zone_sync=inputs[0],
                replicas=inputs[1],
            ),
            self._informers,
            result.config,
            now,
        )
        self._inputs = inputs
        if self._status is not None:
            self._status.observe(update.reports, result.config.external_status_address)
        self._unreported.extend(update.reports)
        main_changes = self._main_changes(result, zone_sync_ready=ready, tls=tls)
        only_endpoints = set(taken) <= {SERVICE} and not everything
        if only_endpoints and update.servers_only and not main_changes and self._by_api(update):
            error, held_back = None, dict[str, str]()
        else:
            changes = {**main_changes, **update.changed}
            error, held_back = self._apply(changes, "endpoints" if only_endpoints else "other")
        if not wanted and error is None:
            # Only once NGINX no longer names the Service (spec: disable reloads first).
            outcome = self._zone_sync.converge(enabled=False, port=zone_sync.port)
        self._metrics.set_zone_sync(enabled=wanted and tls.allows_zone_sync, service_ready=ready)
        if error is None:
            self._tls.applied(tls, in_place=in_place, now=now)
        self._schedule_expiry()
        if self._health is not None:
            self._health.set_active(in_place and error is None)
        self._metrics.set_ingress_resources(self._table.served)
        synced = SyncOutcome(
            invalid_values=bool(result.problems),
            zone_sync_wanted=wanted,
            service=outcome,
            tls_problem=tls.problem if wanted else None,
            apply_error=error,
            held_back=tuple(sorted(held_back.items())),
        )
        self._report(configmap, result, synced)
        if error is None:
            refused = {
                owner: problem
                for path, problem in held_back.items()
                if (owner := self._table.owner_of(path)) is not None
            }
            self._ingress_events.report(self._unreported, refused)
            self._unreported = []
        return [*synced.retry_reasons(), *filter(None, [self._replicas_problem])]

    def _by_api(self, update: Update) -> bool:
        """Endpoint changes through the NGINX Plus API; True when applied that way (else the
        caller reloads, which the files allow either way)."""
        if self._plus_api is None or self._first_apply or not self._manager.ready:
            return False
        failure = update_servers(self._plus_api, update.upstreams)
        if failure is not None:
            log.warning("NGINX Plus API: %s; reloading instead", failure)
            return False
        try:
            self._manager.write_without_reload(update.changed)
        except ApplyError as error:
            log.warning("%s; reloading instead", error)
            return False
        self._metrics.upstream_servers_updated(len(update.upstreams))
        log.info(
            "upstream servers changed through the NGINX Plus API, no reload: %s",
            ", ".join(sorted(update.upstreams)),
        )
        return True

    def _expected_peers(self) -> int | None:
        """Ready endpoints of the headless Service but this replica; None until listed."""
        peers = self._peers
        if peers is None or not peers.synced.is_set():
            return None
        ready = {e.address for s in peers.snapshot().values() for e in s.endpoints if e.ready}
        return max(0, len(ready) - 1)

    def _configmap_reference(self) -> ObjectReference | None:
        configmap = self._configmap()
        return None if configmap is None else ObjectReference.of(configmap, "v1", "ConfigMap")

    def _count_replicas(self, *, first: bool) -> bool:
        """Start counting the controller's replicas once an Ingress asks for `limit-req-scale`;
        True when the first apply must wait for that count."""
        self._replicas_problem = None
        if self._replicas.reflector is not None:
            return False
        wanted = self._table.reads_replicas or (
            first and any(reads_replicas(i) for i in self._informers.ingresses.values())
        )
        if not wanted:
            return False
        try:
            selector = self._zone_sync.selector()  # no request while its backoff lasts
        except KubeError as error:
            self._replicas_problem = (
                f"cannot read the controller's own Pod ({error}): limit-req-scale counts 1 replica"
            )
            return False
        self._replicas.start(selector)
        return first

    def _schedule_expiry(self) -> None:
        """A sync when the next served certificate expires, so its Ingress is warned about
        then, not at its next change; and when the zone-sync certificate nears its end
        (a warning) and ends (zone sync off)."""
        deadlines = [d for d in (self._table.next_expiry(), self._tls.next_deadline()) if d]
        when = min(deadlines, default=None)
        with self._lock:
            if self._expiry_timer is not None:
                self._expiry_timer.cancel()
                self._expiry_timer = None
            if when is None or self._stopped.is_set():
                return
            delay = min(max(when - time.time(), 0.0) + 1.0, 24 * 3600.0)  # re-armed daily
            self._expiry_timer = threading.Timer(
                delay, lambda: self._changed(CERTIFICATE_EXPIRY, frozenset())
            )
            self._expiry_timer.daemon = True
            self._expiry_timer.start()

    def _configmap(self) -> Object | None:
        if self._configmap_reflector is None:
            return None
        return self._configmap_reflector.get("/".join(self._config.configmap or ()))

    def _parse(self, configmap: Object | None) -> ParseResult:
        """The ConfigMap parsed, again only when its data changed."""
        data = (configmap or {}).get("data")
        if self._parsed is None or self._parsed[0] != data:
            self._parsed = (data, parse_configmap(data, self._settings))
        return self._parsed[1]

    def _main_changes(
        self, result: ParseResult, *, zone_sync_ready: bool, tls: TlsState
    ) -> dict[str, str | None]:
        """The main files (nginx.conf, the catch-all server, the default certificate, the
        zone-sync certificates) that differ from the last ones handed to the manager."""
        certificate, files = None, {}
        tls_model, tls_config = None, result.config.zone_sync.tls
        if tls.material is not None and tls_config is not None:
            tls_model = zone_sync_tls_model(tls_config, tls.material, self._settings)
            if zone_sync_ready:
                files.update(zone_sync_tls_files(tls.material))
        if self._settings.default_server_tls_secret is not None:
            namespace, name = self._settings.default_server_tls_secret
            secret = self._informers.secret(f"{namespace}/{name}")
            if secret is not None and secret.tls is not None:
                files[DEFAULT_SECRET_FILE] = secret.tls.pem
                certificate = DEFAULT_SECRET_FILE
            else:
                why = "does not exist" if secret is None else secret.problem
                if why != self._default_secret_problem:  # once per problem, not per sync
                    log.warning(
                        "-default-server-tls-secret %s/%s %s: TLS handshakes for names no "
                        "Ingress serves are refused",
                        namespace,
                        name,
                        why,
                    )
                self._default_secret_problem = why
            if certificate is not None:
                self._default_secret_problem = None
        summary = RoutingSummary(
            default_certificate=None if certificate is None else PurePosixPath(certificate),
            catch_all_root=self._table.catch_all_root,
            longest_host=self._table.longest_host,
        )
        inputs = (result.config, zone_sync_ready, summary, tls_model)
        if self._main_rendered is None or self._main_rendered[0] != inputs:
            configuration = build_configuration(
                result.config,
                self._settings,
                zone_sync_service_ready=zone_sync_ready,
                routing=summary,
                zone_sync_tls=tls_model,
            )
            self._main_rendered = (inputs, render_configuration(configuration))
        files.update(self._main_rendered[1])
        changes: dict[str, str | None] = {
            path: text for path, text in files.items() if self._main.get(path) != text
        }
        changes.update({path: None for path in self._main if path not in files})
        self._main = files
        return changes

    def _apply(
        self, changes: dict[str, str | None], reason: str
    ) -> tuple[str | None, dict[str, str]]:
        """Hand the changed files to the manager; (the error that stopped it, the files held
        back and why)."""
        try:
            applied = self._manager.apply_changes(changes, reason)
        except ApplyError as error:
            log.error("configuration not applied: %s", error)
            return str(error), {}
        for path, problem in applied.held_back.items():
            log.warning("%s held back: %s", path, problem)
        self._log_apply(changes, applied)
        return None, dict(applied.held_back)

    def _log_apply(self, changes: Mapping[str, str | None], applied: ApplyResult) -> None:
        line = describe_apply(
            changes,
            applied,
            first=self._first_apply,
            render_only=self._config.render_only,
            conf_dir=str(self._settings.conf_dir),
        )
        log.log(logging.INFO if applied.changed else logging.DEBUG, "%s", line)
        if applied.changed:
            if self._first_apply:
                gcpause.settle()  # the caches are full: later collections skip them
            self._first_apply = False

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
            self._retry_timer = threading.Timer(
                delay, lambda: self._changed(EVERYTHING, frozenset())
            )
            self._retry_timer.daemon = True
            self._retry_timer.start()
