"""Ingress status: the leader writes the controller's address into `status.loadBalancer`
of every Ingress it serves, and clears it on those it stops serving.

What it knows, and from whom (one owner for each):
- which Ingresses are ours, served or rejected: the routing table, handed over by the
  sync loop after each sync (`observe`), which never waits for a write;
- the address to report: `StatusSource` (ConfigMap, external Service, or the pods);
- what each Ingress shows now: its own informer of `IngressStatus` views. Routing's
  Ingress view leaves status out, so our writes start no sync; this informer sees every
  change of an Ingress, so a status someone else edits is noticed and repaired;
- whether to write at all: the leader elector (`Leadership.is_leader`), asked right
  before each write, so a replica that lost the Lease stops at once.

Writes go through a work queue (each Ingress once, however often it changes) to a few
workers that share one rate limiter (`-status-update-rate`, default 50 writes/s): a new
leader, or a new address for 10,000 Ingresses, is a steady stream, not a storm. An
Ingress is written only when what it shows differs from what it should show; a write
sends the object as read, with its resourceVersion, and a Conflict (someone changed it
meanwhile) waits for the watch to bring the new version. Failures are retried per
Ingress with backoff; the log says so once, not once per Ingress.

An Ingress that leaves our class has its status cleared only while it still shows our
address (its new controller may have written its own already); a rejected one (still
ours) is cleared. An Ingress deleted is simply forgotten.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nginx_ingress.controller.status_source import Addresses, StatusSource
from nginx_ingress.generate.table import IngressReport, Outcome
from nginx_ingress.kube.api import INGRESSES, Conflict, KubeApi, KubeError, NotFound
from nginx_ingress.kube.reflector import Reflector, WatchTiming
from nginx_ingress.ratelimit import RateLimiter
from nginx_ingress.resources.status import IngressStatus, LoadBalancerIngress
from nginx_ingress.values import HostKind, HostPort
from nginx_ingress.workqueue import WorkQueue

log = logging.getLogger("nginx_ingress.controller.status")

SUCCESS, CONFLICT, ERROR = "success", "conflict", "error"
DEFAULT_RATE = 50.0
WORKERS = 4
"""Enough to reach the rate with API latencies of tens of milliseconds."""
RETRY_INITIAL, RETRY_CAP = 0.5, 60.0
LOG_EVERY = 30.0
"""Seconds between two log lines about the same kind of failure."""


class Leadership(Protocol):
    def is_leader(self) -> bool: ...


class AlwaysLeader:
    """`-enable-leader-election=false`: this replica writes (as NIC, every replica does)."""

    def is_leader(self) -> bool:
        return True


class StatusMetrics(Protocol):
    def status_update(self, result: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Ours:
    """What routing said of one of our Ingresses, and the class it read to say so."""

    served: bool
    class_annotation: str | None
    class_name: str

    def read(self, current: IngressStatus) -> bool:
        """`current` is a version of the Ingress whose class routing has seen."""
        return (current.class_annotation, current.class_name) == (
            self.class_annotation,
            self.class_name,
        )


def configured_addresses(hosts: Sequence[HostPort]) -> Addresses:
    """The ConfigMap's `external-status-address` as status entries."""
    return tuple(
        LoadBalancerIngress(ip=h.host)
        if h.kind in (HostKind.IPV4, HostKind.IPV6)
        else LoadBalancerIngress(hostname=h.host)
        for h in hosts
    )


class IngressStatusReporter:
    def __init__(
        self,
        api: KubeApi,
        *,
        leadership: Leadership,
        metrics: StatusMetrics,
        namespace: str,
        pod_name: str,
        external_service: tuple[str, str] | None = None,
        watch_namespaces: Sequence[str] = (),
        rate: float = DEFAULT_RATE,
        workers: int = WORKERS,
        timing: WatchTiming = WatchTiming(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api, self._leadership, self._metrics = api, leadership, metrics
        self._clock = clock
        self._lock = threading.Lock()
        # Guarded by `_lock`:
        self._ours: dict[str, _Ours] = {}
        """Ingress key → served or rejected, as routing last said."""
        self._released: set[str] = set()
        """Ingresses that left our class: cleared while they still show our address."""
        self._configured: Addresses | None = None
        """The ConfigMap's addresses; None until the first sync."""
        self._addresses: Addresses | None = None
        """What to report; None while unknown (nothing is written then)."""
        self._written: dict[str, tuple[str, Addresses]] = {}
        """Key → (the resourceVersion our write replaced, what we wrote): until the watch
        brings the new version, the informer's copy is older than what the Ingress shows."""
        self._failures: dict[str, int] = {}
        self._last_logged: tuple[str, float] = ("", -LOG_EVERY)
        self._queue = WorkQueue(clock=clock)
        self._limiter = RateLimiter(rate, clock=clock)
        self._stopped = threading.Event()
        self._source = StatusSource(
            api,
            namespace=namespace,
            pod_name=pod_name,
            external_service=external_service,
            on_change=self._source_changed,
            timing=timing,
        )
        scopes: Sequence[str | None] = watch_namespaces or [None]
        self._informer = {
            scope: Reflector(
                api,
                INGRESSES,
                namespace=scope,
                on_change=self._status_changed,
                timing=timing,
                transform=IngressStatus.from_object,
            )
            for scope in scopes
        }
        self._workers = [
            threading.Thread(target=self._work, name=f"ingress-status-{n}", daemon=True)
            for n in range(workers)
        ]

    @property
    def reflectors(self) -> list[Reflector[object]]:
        own: list[Reflector[object]] = list(self._informer.values())  # type: ignore[arg-type]
        return [*self._source.reflectors, *own]

    def start(self) -> None:
        self._source.start()
        for reflector in self._informer.values():
            reflector.start()
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """No write starts after this returns; one in flight ends within the API timeout."""
        self._stopped.set()
        self._queue.shut_down()
        if not any(worker.is_alive() for worker in self._workers):
            return  # never started
        for worker in self._workers:
            worker.join(self._api.timeout + 1)
        for reflector in self.reflectors:
            reflector.stop()

    # --- what others tell it (any thread; never blocks on the API) -----------------------

    def observe(self, reports: Iterable[IngressReport], configured: Sequence[HostPort]) -> None:
        """After each sync: the Ingresses whose outcome changed, and the ConfigMap's
        `external-status-address`."""
        touched = []
        with self._lock:
            for report in reports:
                key = report.key
                touched.append(key)
                if report.outcome == Outcome.GONE:
                    was_ours = self._ours.pop(key, None) is not None
                    if report.ingress is not None and was_ours:
                        self._released.add(key)  # still exists, of another class now
                    else:  # deleted: forget it
                        self._released.discard(key)
                        self._written.pop(key, None)
                        self._failures.pop(key, None)
                elif report.ingress is not None:
                    self._ours[key] = _Ours(
                        served=report.outcome != Outcome.REJECTED,
                        class_annotation=report.ingress.class_annotation,
                        class_name=report.ingress.class_name,
                    )
                    self._released.discard(key)
            addresses = configured_addresses(configured)
            everything = None
            # The source says when its own addresses move (`_source_changed`): after a sync
            # they are looked at again only when the ConfigMap's moved, or are still unknown
            # (with the pods as source, that look is a copy and a scan of every pod).
            if addresses != self._configured or self._addresses is None:
                self._configured = addresses
                everything = self._update_addresses()
        self._enqueue(everything if everything is not None else touched)

    def leadership_changed(self, leading: bool) -> None:
        """From the elector: leading, look at every Ingress; not leading, drop the queue."""
        if leading:
            with self._lock:
                keys = [*self._ours, *self._released]
            self._queue.add_all(keys)
        else:
            self._queue.clear()

    def _source_changed(self) -> None:
        with self._lock:
            everything = self._update_addresses()
        if everything is not None:
            self._enqueue(everything)

    def _status_changed(self, keys: frozenset[str]) -> None:
        with self._lock:
            wanted = [k for k in keys if k in self._ours or k in self._released]
        self._enqueue(wanted)

    def _update_addresses(self) -> list[str] | None:
        """Recompute what to report (under `_lock`); every key to look at when it moved."""
        if self._configured is None:
            return None
        addresses = self._source.addresses(self._configured)
        if addresses == self._addresses:
            return None
        self._addresses = addresses
        if addresses is not None:
            log.info(
                "Ingress status: reporting %s (from %s)",
                ", ".join(map(str, addresses)) or "no address",
                self._source.describe(self._configured),
            )
        return [*self._ours, *self._released]

    def _enqueue(self, keys: Iterable[str]) -> None:
        if self._leadership.is_leader():
            self._queue.add_all(keys)

    # --- the workers ---------------------------------------------------------------------

    def _work(self) -> None:
        while (key := self._queue.get()) is not None:
            try:
                self._reconcile(key)
            except Exception:  # a bug must not stop the other Ingresses' status
                log.exception("Ingress status of %s: unexpected error", key)
                self._retry(key)
            finally:
                self._queue.done(key)

    def _reconcile(self, key: str) -> None:
        if not self._leadership.is_leader():
            return
        current = self._current(key)
        if current is None:  # not listed yet (its listing will queue it), or deleted
            with self._lock:
                if key not in self._ours:  # deleted after it left our class: forget it
                    self._released.discard(key)
                    self._written.pop(key, None)
            return
        with self._lock:
            shown = self._shown(key, current)
            desired = self._desired(key, current, shown)
            if desired is None or desired == shown:
                self._failures.pop(key, None)
                return
        if not self._limiter.acquire(self._stopped) or not self._leadership.is_leader():
            return
        try:
            self._api.replace_status(INGRESSES, current.with_load_balancer(desired))
        except NotFound:
            return  # deleted meanwhile
        except Conflict as error:
            self._metrics.status_update(CONFLICT)
            log.debug("Ingress status of %s: %s; waiting for the new version", key, error)
            self._retry(key)
        except KubeError as error:
            self._metrics.status_update(ERROR)
            self._log_failure(key, error)
            self._retry(key)
        else:
            self._metrics.status_update(SUCCESS)
            with self._lock:
                self._written[key] = (current.resource_version, desired)
                self._failures.pop(key, None)
                if not desired:
                    self._released.discard(key)
            log.debug("Ingress status of %s: %s", key, ", ".join(map(str, desired)) or "cleared")

    def _current(self, key: str) -> IngressStatus | None:
        reflector = self._informer.get(key.partition("/")[0]) or self._informer.get(None)
        return reflector.get(key) if reflector is not None else None

    def _shown(self, key: str, current: IngressStatus) -> Addresses:
        """What the Ingress shows (under `_lock`), counting our own write the watch has not
        brought yet."""
        written = self._written.get(key)
        if written is not None:
            if written[0] == current.resource_version:
                return written[1]
            del self._written[key]
        return current.load_balancer

    def _desired(self, key: str, current: IngressStatus, shown: Addresses) -> Addresses | None:
        """What the Ingress should show (under `_lock`); None: leave it alone."""
        addresses = self._addresses
        if addresses is None:
            return None
        ours = self._ours.get(key)
        if ours is not None:
            if not ours.read(current):
                return None  # its class changed and routing has not said yet: it will
            return addresses if ours.served else ()
        if key in self._released:
            if shown and shown == addresses:
                return ()
            self._released.discard(key)  # another controller's now, or already clear
        return None

    def _retry(self, key: str) -> None:
        with self._lock:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
        delay = min(RETRY_CAP, RETRY_INITIAL * 2 ** (failures - 1))
        self._queue.add_after(key, delay * random.uniform(0.5, 1.0))

    def _log_failure(self, key: str, error: KubeError) -> None:
        """One line per kind of failure every LOG_EVERY seconds, not one per Ingress."""
        kind = type(error).__name__
        now = self._clock()
        with self._lock:
            last_kind, last_time = self._last_logged
            loud = kind != last_kind or now - last_time >= LOG_EVERY
            if loud:
                self._last_logged = (kind, now)
        level = logging.WARNING if loud else logging.DEBUG
        log.log(level, "could not write the status of Ingress %s (retrying): %s", key, error)
