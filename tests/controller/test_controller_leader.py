"""Leader election between `nginx-ingress run` processes against the local API server:
exactly one leader writes Ingress status, once per Ingress; a killed leader is replaced
once its Lease expires and no Ingress loses its status; a leader stopped with SIGTERM
releases the Lease and its successor takes over at once; an API outage longer than the
renew deadline makes the leader step down, and readiness never depends on leading."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from status_helpers import (
    FAST_ELECTION,
    FAST_LEASE_SECONDS,
    all_show,
    leaders,
    lease_holder,
    metric,
    seed_ingresses,
    shown,
    status_writes,
)

from controller_harness import (
    HASH,
    Controller,
    Harness,
    eventually,
    harness,
    seed_cluster,
    set_configmap,
)

NAMES = [f"shop-{n}" for n in range(8)]
ADDRESSES = [{"ip": "192.0.2.10"}, {"hostname": "lb.example.com"}]


def pod(n: int) -> str:
    return f"nginx-ingress-{HASH}-{n}"


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness]]:
    seed_cluster(dev_cluster, replicas=3)
    seed_ingresses(dev_cluster, NAMES)
    set_configmap(dev_cluster, {"external-status-address": "192.0.2.10,lb.example.com"})
    with harness(dev_cluster) as box:
        yield dev_cluster, box


def start(box: Harness, replicas: int, *flags: str) -> dict[str, Controller]:
    return {pod(n): box.start(*flags, pod=pod(n)) for n in range(replicas)}


def the_leader(controllers: dict[str, Controller]) -> str | None:
    """The one pod that says it leads, None while there is not exactly one."""
    found = leaders(list(controllers.values()))
    if len(found) != 1:
        return None
    return next(name for name, c in controllers.items() if c is found[0])


def elected(cluster: DevCluster, box: Harness, replicas: int) -> tuple[dict[str, Controller], str]:
    """`replicas` controllers with the fast election, once every Ingress shows the addresses
    and one of them leads; and that leader."""
    controllers = start(box, replicas, *FAST_ELECTION)
    assert eventually(lambda: all_show(cluster, NAMES, ADDRESSES), 30)
    assert eventually(lambda: the_leader(controllers) is not None, 10)
    leader = the_leader(controllers)
    assert leader is not None
    return controllers, leader


def written_by(controller: Controller) -> float:
    return metric(controller, "ingress_status_updates_total", result="success") or 0.0


def test_two_replicas_one_leader_writes_each_status_once(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    controllers, leader = elected(cluster, box, 2)
    assert lease_holder(cluster) == leader
    time.sleep(2 * FAST_LEASE_SECONDS)  # renewals and resyncs come and go: no more writes
    assert the_leader(controllers) == leader
    assert status_writes(cluster) == dict.fromkeys(NAMES, 1)
    assert {name: written_by(c) for name, c in controllers.items()} == {
        name: (len(NAMES) if name == leader else 0.0) for name in controllers
    }
    assert all(c.ready() for c in controllers.values())


def test_a_killed_leader_is_replaced_within_the_lease_duration_and_no_status_is_lost(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    controllers, leader = elected(cluster, box, 3)
    writes = status_writes(cluster)

    lost: list[str] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            lost.extend(name for name in NAMES if shown(cluster, name) != ADDRESSES)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        killed = controllers.pop(leader)
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait(10)
        gone = time.monotonic()
        assert eventually(lambda: the_leader(controllers) is not None, 4 * FAST_LEASE_SECONDS)
        took = time.monotonic() - gone
        successor = the_leader(controllers)
        assert eventually(lambda: lease_holder(cluster) == successor, 5)
        time.sleep(1.0)  # the successor looked at every Ingress: each already right
    finally:
        sampling.set()
        sampler.join()
    print(f"takeover after SIGKILL: {took:.2f}s (lease {FAST_LEASE_SECONDS:g}s)")
    assert took < FAST_LEASE_SECONDS + 2.0  # the lease expiring, plus one attempt
    assert not lost, f"Ingresses seen without their status: {sorted(set(lost))}"
    assert status_writes(cluster) == writes
    assert all_show(cluster, NAMES, ADDRESSES)


def test_a_leader_stopped_with_sigterm_releases_the_lease_and_is_replaced_at_once(
    world: tuple[DevCluster, Harness],
) -> None:
    """NIC's 30 s lease: a successor within 2 s can only come from the release."""
    cluster, box = world
    controllers = start(box, 2)
    assert eventually(lambda: the_leader(controllers) is not None, 20)
    assert eventually(lambda: all_show(cluster, NAMES, ADDRESSES), 30)
    leader = the_leader(controllers)
    assert leader is not None
    stopping = controllers.pop(leader)
    stopping.process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    (successor,) = controllers
    assert eventually(lambda: lease_holder(cluster) == successor, 10)
    took = time.monotonic() - sent
    print(f"takeover after SIGTERM: {took:.2f}s (lease 30s)")
    assert took < 2.0
    assert stopping.process.wait(30) == 0
    assert "released the Lease" in stopping.output()
    assert eventually(lambda: the_leader(controllers) == successor, 5)
    assert all_show(cluster, NAMES, ADDRESSES)


def test_an_api_outage_longer_than_the_renew_deadline_makes_the_leader_step_down(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    controllers = start(box, 2, *FAST_ELECTION)
    assert eventually(lambda: the_leader(controllers) is not None, 10)
    assert eventually(lambda: all_show(cluster, NAMES, ADDRESSES), 30)
    cluster.inject("*", 503)
    try:
        # By the renew deadline (2 s) nobody may believe it leads; metrics are served by
        # the controller itself, not the API, so they can tell.
        assert eventually(lambda: not leaders(list(controllers.values())), 2 + 3)
        set_configmap(cluster, {"external-status-address": "198.51.100.7"})
        # Readiness never depends on leading (None: no answer within 2 s on a busy machine).
        answers = [
            c.http_status("ready", "/nginx-ready") for _ in range(5) for c in controllers.values()
        ]
        assert 503 not in answers and answers.count(200) >= len(controllers), answers
        assert all_show(cluster, NAMES, ADDRESSES)  # nobody could write meanwhile
    finally:
        cluster.clear_faults()
    assert eventually(lambda: the_leader(controllers) is not None, 15)
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "198.51.100.7"}]), 30)
