"""Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics.

Only one replica may write Ingress status; the others serve traffic just the same.
The algorithm is client-go's `leaderelection` (which NIC runs), written small on our
raw API layer. The official Python client's `leaderelection` package does not fit: it
uses its own typed client, measures time with the wall clock, cannot be stopped,
never releases the Lease and sets no timeout on its calls.

- **Acquire or renew**: read the Lease. A record that differs from the one seen last
  restarts our *local* observation clock; a Lease someone else holds is respected until
  its `leaseDurationSeconds` have passed on our monotonic clock since we saw it change,
  so clock skew between nodes does not matter. Otherwise we write ourselves in as the
  holder, sending the resourceVersion we read: a Conflict means another replica won the
  race. `leaseTransitions` counts changes of holder; `acquireTime` is kept across
  renewals. An empty Lease (created by Helm, with no holder) is simply acquired.
- **Belief**: a leader renews every retry period, and believes it leads only until
  `renew_deadline` after the *start* of its last successful renewal; `is_leader()`
  checks the clock each time, so a replica cut off from the API (or stuck in a call)
  stops believing it leads while the Lease is still valid for everyone else
  (renew deadline < lease duration): two replicas never lead at once.
- **Followers** watch the Lease and try again as soon as it changes, and otherwise when
  it would expire, or after a jittered retry period (client-go's 1.2 jitter).
- **Release**: `stop()` stops believing at once, then writes an empty holder with a
  one-second duration, so a successor takes over immediately instead of waiting out
  the lease duration.

Every call has a timeout no longer than the renew deadline.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nginx_ingress.kube.api import (
    LEASES,
    AlreadyExists,
    Conflict,
    KubeApi,
    KubeError,
    NotFound,
    Object,
)
from nginx_ingress.kube.reflector import Reflector, WatchTiming

log = logging.getLogger("nginx_ingress.kube.lease")

JITTER = 1.2
"""client-go's JitterFactor: a follower retries after 1 to 2.2 retry periods."""


RELEASE_TIMEOUT = 2.0
"""Seconds the release on shutdown may take: past that, a successor waits for the Lease to
expire anyway, and the pod's termination grace period is better spent on NGINX."""


class LeaseTimingError(ValueError):
    """Lease timings that cannot work together."""


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    """NIC's values: a 30 s lease, renewed every 7.5 s, given up 15 s after the last renewal."""

    lease_duration: float = 30.0
    renew_deadline: float = 15.0
    retry_period: float = 7.5

    def __post_init__(self) -> None:
        # client-go's checks: a leader must be able to retry within its deadline, and
        # must give up before the others may take over.
        if not 0 < JITTER * self.retry_period < self.renew_deadline < self.lease_duration:
            raise LeaseTimingError(
                f"the lease duration ({self.lease_duration:g}s) must be longer than the renew "
                f"deadline ({self.renew_deadline:g}s), and the renew deadline longer than "
                f"{JITTER:g} times the retry period ({self.retry_period:g}s)"
            )


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The leader-election fields of a Lease's spec; read whatever their shape."""

    holder: str = ""
    duration: int = 0
    acquire_time: str = ""
    renew_time: str = ""
    transitions: int = 0

    @classmethod
    def of(cls, lease: Object) -> LeaseRecord:
        spec = lease.get("spec")
        if not isinstance(spec, dict):
            return cls()

        def text(name: str) -> str:
            value = spec.get(name)
            return value if isinstance(value, str) else ""

        def number(name: str) -> int:
            value = spec.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
            return 0

        return cls(
            holder=text("holderIdentity"),
            duration=number("leaseDurationSeconds"),
            acquire_time=text("acquireTime"),
            renew_time=text("renewTime"),
            transitions=number("leaseTransitions"),
        )

    def spec(self) -> Object:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.duration,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def _micro_time() -> str:
    """The wall clock as a Kubernetes MicroTime (only for people and tools reading the Lease;
    the election itself never compares wall clocks)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _spec_of(lease: Object) -> Object:
    """The spec's other fields (`strategy`, `preferredHolder` …) are kept as they are."""
    spec = lease.get("spec")
    return spec if isinstance(spec, dict) else {}


def _nothing() -> None:
    return None


class LeaderElector:
    def __init__(
        self,
        api: KubeApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        timing: LeaseTiming = LeaseTiming(),
        on_started_leading: Callable[[], None] = _nothing,
        on_stopped_leading: Callable[[], None] = _nothing,
        watch_timing: WatchTiming = WatchTiming(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """The callbacks run on the elector's thread and must return quickly."""
        if not identity:
            raise ValueError("a leader elector needs an identity (the pod's name)")
        self._api = api
        self._namespace, self._name, self._identity = namespace, name, identity
        self._timing = timing
        self._started_cb, self._stopped_cb = on_started_leading, on_stopped_leading
        self._clock = clock
        self._call_timeout = min(api.timeout, timing.renew_deadline)
        self._lock = threading.Lock()
        self._leading_until = -math.inf
        """Monotonic time until which we lead; guarded by `_lock`."""
        # Owned by the elector's thread:
        self._announced = False
        """The callbacks were told we lead."""
        self._lease: Object | None = None
        """The Lease as we last wrote it while holding it (for the release)."""
        self._observed = LeaseRecord()
        self._observed_at = -math.inf
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._release = True
        self._watch: Reflector[Object] = Reflector(
            api,
            LEASES,
            namespace=namespace,
            field_selector=f"metadata.name={name}",
            on_change=self._lease_changed,
            timing=watch_timing,
        )
        self._thread = threading.Thread(target=self._run, name="leader-elector", daemon=True)

    @property
    def lock(self) -> str:
        return f"{self._namespace}/{self._name}"

    @property
    def identity(self) -> str:
        return self._identity

    def is_leader(self) -> bool:
        """True only while a renewal that started less than the renew deadline ago succeeded."""
        with self._lock:
            return self._clock() < self._leading_until

    def start(self) -> None:
        self._watch.start()
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop leading at once (`is_leader()` is False when this is called), then release
        the Lease if we held it, so a successor need not wait for it to expire."""
        self._release = release
        with self._lock:  # one step, so a renewal finishing now cannot make us lead again
            self._stopped.set()
            self._leading_until = -math.inf
        self._wake.set()
        if self._thread.is_alive():
            # An attempt in flight, then the release (which gives up sooner).
            self._thread.join(self._call_timeout + RELEASE_TIMEOUT + 0.5)
            self._watch.stop()

    # --- the elector's thread ---------------------------------------------------------------

    def _lease_changed(self, _keys: frozenset[str]) -> None:
        # Our own writes must not wake us (a leader would renew in a loop).
        lease = self._watch.get(self.lock)
        if lease is None or LeaseRecord.of(lease).holder != self._identity:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.clear()  # a change during the attempt makes the wait below return
            started = self._clock()
            failure: KubeError | None = None
            try:
                self._try_acquire_or_renew(started)
            except KubeError as error:
                failure = error
            except Exception:  # a bug must not end the election; followers keep trying
                log.exception("leader election: unexpected error")
            if self._stopped.is_set():
                break
            self._announce(failure)
            self._wake.wait(self._next_delay(failure is not None))
        self._finish()

    def _try_acquire_or_renew(self, started: float) -> None:
        """One attempt; raises KubeError when the API failed or another replica won."""
        try:
            lease = self._api.get(LEASES, self._name, self._namespace, timeout=self._call_timeout)
        except NotFound:
            # Deleted while another replica held it: that replica still believes it leads
            # until its renew deadline and creates it again at its next renewal, so treat
            # it as held until it would have expired (client-go would create it at once).
            holder = self._observed.holder
            if holder and holder != self._identity and self._valid(self._clock()):
                return
            self._create(started)
            return
        record = LeaseRecord.of(lease)
        now = self._clock()
        if record != self._observed:
            if record.holder not in (self._observed.holder, self._identity):
                log.info("leader election: %s is the leader", record.holder or "nobody")
            self._observed, self._observed_at = record, now
        if record.holder and record.holder != self._identity:
            with self._lock:
                self._leading_until = -math.inf  # someone else holds it: we do not lead
            self._lease = None
            if self._valid(now):
                return  # held, and not expired as far as we have seen
        wall = _micro_time()
        ours = record.holder == self._identity
        wanted = LeaseRecord(
            holder=self._identity,
            duration=max(1, math.ceil(self._timing.lease_duration)),
            acquire_time=record.acquire_time if ours and record.acquire_time else wall,
            renew_time=wall,
            transitions=record.transitions if ours else record.transitions + 1,
        )
        body = {
            **lease,
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "spec": {**_spec_of(lease), **wanted.spec()},
        }
        self._written(self._api.replace(LEASES, body, timeout=self._call_timeout), started)

    def _valid(self, now: float) -> bool:
        """The Lease last seen has not expired, by our clock since we saw it change."""
        duration = self._observed.duration or self._timing.lease_duration
        return now < self._observed_at + duration

    def _create(self, started: float) -> None:
        wall = _micro_time()
        record = LeaseRecord(
            holder=self._identity,
            duration=max(1, math.ceil(self._timing.lease_duration)),
            acquire_time=wall,
            renew_time=wall,
        )
        body = {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": record.spec(),
        }
        created = self._api.create(LEASES, body, self._namespace, timeout=self._call_timeout)
        log.info("leader election: created the Lease %s", self.lock)
        self._written(created, started)

    def _written(self, lease: Object, started: float) -> None:
        self._lease = lease
        self._observed, self._observed_at = LeaseRecord.of(lease), self._clock()
        with self._lock:
            if not self._stopped.is_set():
                self._leading_until = started + self._timing.renew_deadline

    def _announce(self, failure: KubeError | None) -> None:
        """Tell the callbacks when what we believe changed; log why."""
        leading = self.is_leader()
        if leading and not self._announced:
            self._announced = True
            log.info(
                "leader election: %s leads (Lease %s, transitions %d)",
                self._identity,
                self.lock,
                self._observed.transitions,
            )
            self._started_cb()
        elif not leading and self._announced:
            self._announced = False
            why = f"could not renew the Lease in time: {failure}" if failure else "lost the Lease"
            if self._observed.holder and self._observed.holder != self._identity:
                why = f"{self._observed.holder} holds the Lease now"
            log.warning("leader election: %s stopped leading: %s", self._identity, why)
            self._stopped_cb()
        if failure is not None:
            level = logging.DEBUG if isinstance(failure, Conflict | AlreadyExists) else logging.INFO
            if leading or self._announced:
                level = logging.WARNING
            log.log(level, "leader election: Lease %s: %s", self.lock, failure)

    def _next_delay(self, failed: bool) -> float:
        timing = self._timing
        now = self._clock()
        with self._lock:
            until = self._leading_until
        if now < until:
            # Renew every retry period; after a failure, retry sooner, within the deadline
            # (but never in a tight loop as the deadline nears).
            if not failed:
                return timing.retry_period
            return min(timing.retry_period, max((until - now) / 2, timing.retry_period / 4))
        delay = timing.retry_period * (1 + random.uniform(0, JITTER))
        holder = self._observed.holder
        if holder and holder != self._identity:
            expiry = self._observed_at + (self._observed.duration or timing.lease_duration)
            delay = min(delay, max(expiry - now, 0.0) + 0.01)
        return delay

    def _finish(self) -> None:
        """On stop: release the Lease if we hold it, then tell the callbacks."""
        lease = self._lease
        if self._release and lease is not None:
            record = LeaseRecord.of(lease)
            if record.holder == self._identity:
                wall = _micro_time()
                released = LeaseRecord(
                    duration=1, acquire_time=wall, renew_time=wall, transitions=record.transitions
                )
                body = {**lease, "spec": {**_spec_of(lease), **released.spec()}}
                try:
                    self._api.replace(LEASES, body, timeout=RELEASE_TIMEOUT)
                    log.info("leader election: released the Lease %s", self.lock)
                except KubeError as error:
                    log.warning(
                        "leader election: could not release the Lease %s (a successor takes "
                        "over once it expires): %s",
                        self.lock,
                        error,
                    )
        self._lease = None
        if self._announced:
            self._announced = False
            log.info("leader election: %s stopped leading: shutting down", self._identity)
            self._stopped_cb()
