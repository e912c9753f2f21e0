"""Leader election on a Lease, against the local API server over HTTP: one leader among
several, optimistic concurrency, an empty pre-created Lease, release on stop, expiry by
local observation time, and a leader cut off from the API stepping down by its renew
deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nginx_ingress.kube.api import KubeApi
from nginx_ingress.kube.lease import LeaderElector, LeaseRecord, LeaseTiming, LeaseTimingError
from nginx_ingress.kube.reflector import WatchTiming
from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import api_client_for

NS = "nginx-ingress"
LOCK = "nginx-ingress-leader-election"
FAST = LeaseTiming(lease_duration=2.0, renew_deadline=1.2, retry_period=0.3)
SLOW = LeaseTiming()  # NIC's 30 s / 15 s / 7.5 s: nothing can expire during a test
WATCH = WatchTiming(min_watch=30, max_watch=60, backoff_initial=0.05, backoff_cap=0.2)
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases*"


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Candidates:
    """Electors for one Lease, each recording its callbacks; all stopped at the end."""

    def __init__(self, cluster: DevCluster) -> None:
        self.cluster = cluster
        self.electors: dict[str, LeaderElector] = {}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def start(self, identity: str, timing: LeaseTiming = FAST) -> LeaderElector:
        def record(what: str) -> Callable[[], None]:
            def call() -> None:
                with self._lock:
                    self.calls.append((identity, what))

            return call

        elector = LeaderElector(
            KubeApi(api_client_for(self.cluster), timeout=2),
            namespace=NS,
            name=LOCK,
            identity=identity,
            timing=timing,
            on_started_leading=record("started"),
            on_stopped_leading=record("stopped"),
            watch_timing=WATCH,
        )
        self.electors[identity] = elector
        elector.start()
        return elector

    def leaders(self) -> list[str]:
        return [name for name, e in self.electors.items() if e.is_leader()]

    def one_leader(self) -> str | None:
        found = self.leaders()
        return found[0] if len(found) == 1 else None

    def lease(self) -> dict[str, Any]:
        stored = self.cluster.get_object("Lease", NS, LOCK)
        assert stored is not None
        return stored

    def holder(self) -> str:
        return LeaseRecord.of(self.lease()).holder

    def stop(self) -> None:
        for elector in self.electors.values():
            elector.stop()


@pytest.fixture
def candidates(dev_cluster: DevCluster) -> Iterator[Candidates]:
    dev_cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
    created = Candidates(dev_cluster)
    yield created
    created.stop()


def test_exactly_one_of_three_leads_and_the_lease_names_it(candidates: Candidates) -> None:
    for name in ("pod-a", "pod-b", "pod-c"):
        candidates.start(name)
    assert eventually(lambda: candidates.one_leader() is not None)
    leader = candidates.one_leader()
    record = LeaseRecord.of(candidates.lease())
    assert record.holder == leader
    assert record.duration == 2 and record.transitions == 0  # created by the winner
    assert record.acquire_time and record.renew_time
    # It keeps leading while it renews, and nobody else starts leading meanwhile.
    time.sleep(FAST.lease_duration * 1.5)
    assert candidates.leaders() == [leader]
    renewed = LeaseRecord.of(candidates.lease())
    assert renewed.renew_time != record.renew_time and renewed.acquire_time == record.acquire_time
    assert [c for c in candidates.calls if c[1] == "started"] == [(leader, "started")]


def test_an_empty_lease_created_by_helm_is_acquired_and_its_metadata_kept(
    candidates: Candidates,
) -> None:
    candidates.cluster.seed([
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LOCK, "namespace": NS, "labels": {"app": "nginx-ingress"}},
        }
    ])  # fmt: skip
    candidates.start("pod-a")
    assert eventually(lambda: candidates.leaders() == ["pod-a"])
    lease = candidates.lease()
    assert lease["metadata"]["labels"] == {"app": "nginx-ingress"}
    assert LeaseRecord.of(lease).holder == "pod-a"
    assert LeaseRecord.of(lease).transitions == 1


def test_a_lease_of_the_wrong_shape_is_taken_over_not_a_crash(candidates: Candidates) -> None:
    candidates.cluster.seed([
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LOCK, "namespace": NS},
            "spec": {"holderIdentity": 7, "leaseDurationSeconds": "long", "leaseTransitions": -3},
        }
    ])  # fmt: skip
    candidates.start("pod-a")
    assert eventually(lambda: candidates.leaders() == ["pod-a"])
    assert candidates.holder() == "pod-a"


def test_a_released_lease_is_taken_over_at_once(candidates: Candidates) -> None:
    """With NIC's 30 s lease, a successor within seconds can only come from the release."""
    first = candidates.start("pod-a", SLOW)
    assert eventually(lambda: candidates.leaders() == ["pod-a"])
    candidates.start("pod-b", SLOW)
    assert eventually(lambda: LeaseRecord.of(candidates.lease()).holder == "pod-a")
    time.sleep(0.5)  # pod-b has seen the Lease held
    assert candidates.leaders() == ["pod-a"]
    first.stop()
    assert not first.is_leader()
    assert eventually(lambda: candidates.leaders() == ["pod-b"], timeout=5)
    record = LeaseRecord.of(candidates.lease())
    assert (record.holder, record.transitions) == ("pod-b", 1)
    assert ("pod-a", "stopped") in candidates.calls


def test_a_crashed_leader_is_replaced_once_its_lease_expires(candidates: Candidates) -> None:
    first = candidates.start("pod-a")
    assert eventually(lambda: candidates.leaders() == ["pod-a"])
    candidates.start("pod-b")
    time.sleep(0.5)
    first.stop(release=False)  # as a SIGKILL: the Lease still names pod-a
    crashed = time.monotonic()
    assert candidates.holder() == "pod-a"
    time.sleep(FAST.lease_duration / 4)
    assert candidates.leaders() == []  # pod-b respects the Lease until it expires
    assert eventually(lambda: candidates.leaders() == ["pod-b"], timeout=10)
    assert time.monotonic() - crashed >= FAST.lease_duration / 2
    assert LeaseRecord.of(candidates.lease()).transitions == 1


def test_expiry_is_judged_by_local_observation_not_by_the_lease_clock(
    candidates: Candidates,
) -> None:
    """A holder's renewTime from a skewed clock (here: years ago) does not make the Lease
    expired: it is valid for its duration from when this replica first saw it."""
    candidates.cluster.seed([
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LOCK, "namespace": NS},
            "spec": {
                "holderIdentity": "pod-elsewhere",
                "leaseDurationSeconds": 2,
                "acquireTime": "2001-01-01T00:00:00.000000Z",
                "renewTime": "2001-01-01T00:00:00.000000Z",
                "leaseTransitions": 4,
            },
        }
    ])  # fmt: skip
    started = time.monotonic()
    candidates.start("pod-a")
    time.sleep(0.8)
    assert candidates.leaders() == []
    assert eventually(lambda: candidates.leaders() == ["pod-a"], timeout=10)
    assert time.monotonic() - started >= 2.0
    record = LeaseRecord.of(candidates.lease())
    assert (record.holder, record.transitions) == ("pod-a", 5)


def test_a_leader_cut_off_from_the_api_stops_believing_by_its_renew_deadline(
    candidates: Candidates,
) -> None:
    leader = candidates.start("pod-a")
    assert eventually(leader.is_leader)
    candidates.cluster.inject(LEASES, 500)
    cut_off = time.monotonic()
    # Its last successful renewal started before the cut: by the renew deadline after the
    # cut it cannot believe it leads, whatever its thread is doing.
    time.sleep(FAST.renew_deadline + 0.02)
    assert not leader.is_leader()
    assert eventually(lambda: ("pod-a", "stopped") in candidates.calls)
    assert time.monotonic() - cut_off < FAST.lease_duration + 5
    candidates.cluster.clear_faults()
    assert eventually(leader.is_leader)  # the Lease still names it: it takes it back
    assert [what for _, what in candidates.calls] == ["started", "stopped", "started"]


def test_a_lease_taken_by_someone_else_ends_leadership_at_once(candidates: Candidates) -> None:
    """Optimistic concurrency: the leader's next renewal reads the new holder and steps
    down, without waiting for its renew deadline."""
    leader = candidates.start(
        "pod-a", LeaseTiming(lease_duration=30, renew_deadline=20, retry_period=0.3)
    )
    assert eventually(leader.is_leader)
    lease = candidates.lease()
    lease["spec"]["holderIdentity"] = "intruder"
    candidates.cluster.seed([lease])
    assert eventually(lambda: not leader.is_leader(), timeout=3)
    assert ("pod-a", "stopped") in candidates.calls
    assert candidates.holder() == "intruder"  # valid for 30 s: not taken back


def test_a_deleted_lease_is_created_again_by_the_leader(candidates: Candidates) -> None:
    leader = candidates.start("pod-a")
    assert eventually(leader.is_leader)
    candidates.cluster.delete_object("Lease", NS, LOCK)
    assert eventually(lambda: candidates.cluster.get_object("Lease", NS, LOCK) is not None)
    assert candidates.holder() == "pod-a"
    assert leader.is_leader()


def test_a_forbidden_lease_means_never_leading_and_no_crash(candidates: Candidates) -> None:
    candidates.cluster.inject(LEASES, 403)
    elector = candidates.start("pod-a")
    time.sleep(1.0)
    assert not elector.is_leader()
    candidates.cluster.clear_faults()
    assert eventually(elector.is_leader)


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"),
    [(15, 15, 5), (30, 15, 12.5), (30, 40, 7.5), (0, 0, 0), (30, 15, -1)],
)
def test_timings_that_cannot_work_are_refused(
    duration: float, deadline: float, retry: float
) -> None:
    with pytest.raises(LeaseTimingError, match="lease duration"):
        LeaseTiming(lease_duration=duration, renew_deadline=deadline, retry_period=retry)


def test_a_lease_deleted_under_a_leader_is_not_taken_by_a_follower(
    candidates: Candidates,
) -> None:
    """The leader still believes it leads until its renew deadline: a follower that saw it
    hold the Lease waits as if it were still there, and the leader creates it again."""
    timing = LeaseTiming(lease_duration=3.0, renew_deadline=2.0, retry_period=1.0)
    leader = candidates.start("pod-a", timing)
    assert eventually(leader.is_leader)
    candidates.start("pod-b", timing)
    assert eventually(lambda: candidates.holder() == "pod-a")
    time.sleep(0.3)  # pod-b has seen pod-a hold it
    candidates.cluster.delete_object("Lease", NS, LOCK)
    deadline = time.monotonic() + timing.retry_period * 2
    while time.monotonic() < deadline:
        assert candidates.leaders() in (["pod-a"], [])
        time.sleep(0.01)
    assert eventually(lambda: candidates.cluster.get_object("Lease", NS, LOCK) is not None)
    assert candidates.holder() == "pod-a"


def test_a_release_the_api_refuses_is_logged_and_stop_still_returns(
    candidates: Candidates, caplog: pytest.LogCaptureFixture
) -> None:
    leader = candidates.start("pod-a", SLOW)
    assert eventually(leader.is_leader)
    candidates.cluster.inject(LEASES, 500, method="PUT")
    leader.stop()
    assert not leader.is_leader()
    assert "could not release the Lease" in caplog.text
    assert candidates.holder() == "pod-a"  # a successor waits for it to expire
    assert ("pod-a", "stopped") in candidates.calls
