"""Ingress status written by `nginx-ingress run` against the local API server: where the
address comes from (ConfigMap, external Service, the pods' nodes), a change of it reaching
every Ingress, drift repaired, status cleared when an Ingress stops being ours, other
controllers' Ingresses untouched, and failures retried without stopping anything."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from status_helpers import (
    APP,
    LOCK,
    all_show,
    ingress,
    lease_holder,
    metric,
    seed_ingresses,
    shown,
    status_writes,
)

from controller_harness import (
    HASH,
    NS,
    SA_TOKEN,
    Harness,
    eventually,
    harness,
    rbac_cluster,
    seed_cluster,
    set_configmap,
)

NAMES = [f"shop-{n}" for n in range(20)]
POD = f"nginx-ingress-{HASH}-0"
FOREIGN = [{"hostname": "elsewhere.example.net"}]


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness]]:
    seed_cluster(dev_cluster, replicas=1)
    seed_ingresses(dev_cluster, NAMES)
    with harness(dev_cluster) as box:
        yield dev_cluster, box


def foreign_ingress(cluster: DevCluster) -> None:
    """An Ingress of another controller, with the status that controller wrote."""
    other = ingress("theirs", class_name="other")
    other["status"] = {"loadBalancer": {"ingress": FOREIGN}}
    cluster.seed([other])


def test_a_configmap_address_change_reaches_every_ingress_and_drift_is_repaired(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    foreign_ingress(cluster)
    set_configmap(cluster, {"external-status-address": "192.0.2.10"})
    box.start()
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "192.0.2.10"}]), 30)

    set_configmap(cluster, {"external-status-address": "2001:db8::7, lb.example.com"})
    new = [{"ip": "2001:db8::7"}, {"hostname": "lb.example.com"}]
    assert eventually(lambda: all_show(cluster, NAMES, new), 30)

    # Someone else edits one Ingress's status: the leader puts it back.
    edited = cluster.get_object("Ingress", APP, "shop-3")
    assert edited is not None
    edited["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.66"}]}}
    cluster.seed([edited])
    assert eventually(lambda: shown(cluster, "shop-3") == new, 15)
    assert shown(cluster, "theirs") == FOREIGN  # never ours: never touched
    assert "theirs" not in status_writes(cluster)


def test_an_ingress_that_stops_being_ours_gets_its_status_cleared(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    set_configmap(cluster, {"external-status-address": "192.0.2.10"})
    box.start()
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "192.0.2.10"}]), 30)

    moved = cluster.get_object("Ingress", APP, "shop-1")
    assert moved is not None
    moved["spec"]["ingressClassName"] = "other"
    cluster.seed([moved])  # its class changed: cleared
    rejected = cluster.get_object("Ingress", APP, "shop-2")
    assert rejected is not None
    rejected["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/a b"
    cluster.seed([rejected])  # still ours, but rejected: cleared
    assert eventually(lambda: shown(cluster, "shop-1") == [] and shown(cluster, "shop-2") == [])
    # An Ingress another controller took over and already wrote is left to it.
    taken = cluster.get_object("Ingress", APP, "shop-4")
    assert taken is not None
    taken["spec"]["ingressClassName"] = "other"
    taken["status"] = {"loadBalancer": {"ingress": FOREIGN}}
    cluster.seed([taken])
    time.sleep(1.0)
    assert shown(cluster, "shop-4") == FOREIGN
    assert all_show(cluster, [n for n in NAMES if n not in ("shop-1", "shop-2", "shop-4")],
                    [{"ip": "192.0.2.10"}])  # fmt: skip


def test_the_external_service_address_and_its_changes(world: tuple[DevCluster, Harness]) -> None:
    cluster, box = world
    service: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": NS, "name": "edge"},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]},
    }
    cluster.seed([service])
    box.start("-external-service=edge")  # NIC's form: a name in the controller's namespace
    time.sleep(1.0)
    assert status_writes(cluster) == {}  # no address yet: nothing to write
    service["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.44"}]}}
    cluster.seed([service])
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "192.0.2.44"}]), 30)
    service["status"] = {"loadBalancer": {"ingress": [{"hostname": "edge.lb.example.com"}]}}
    service["spec"]["externalIPs"] = ["203.0.113.9"]
    cluster.seed([service])
    new = [{"hostname": "edge.lb.example.com"}, {"ip": "203.0.113.9"}]
    assert eventually(lambda: all_show(cluster, NAMES, new), 30)
    # The ConfigMap's address comes first.
    set_configmap(cluster, {"external-status-address": "192.0.2.1"})
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "192.0.2.1"}]), 30)


def test_without_a_source_the_nodes_of_the_controllers_pods_are_reported(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    pods = {p["metadata"]["name"]: p for p in cluster.objects("Pod", NS)}
    own = pods[POD]
    own["status"] = {"phase": "Running", "hostIP": "10.1.0.7"}
    sibling = {**own, "metadata": {**own["metadata"], "name": f"nginx-ingress-{HASH}-9"}}
    sibling["metadata"].pop("uid", None)
    sibling["status"] = {"phase": "Running", "hostIP": "10.1.0.3"}
    stranger = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": NS, "name": "something-else", "labels": {"app": "x"}},
        "status": {"phase": "Running", "hostIP": "10.1.0.99"},
    }
    cluster.seed([own, sibling, stranger])
    box.start()
    both = [{"ip": "10.1.0.3"}, {"ip": "10.1.0.7"}]
    assert eventually(lambda: all_show(cluster, NAMES, both), 30)
    cluster.delete_object("Pod", NS, f"nginx-ingress-{HASH}-9")
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "10.1.0.7"}]), 30)


def test_failed_writes_are_retried_and_counted_and_the_rate_flag_is_taken(
    world: tuple[DevCluster, Harness],
) -> None:
    cluster, box = world
    set_configmap(cluster, {"external-status-address": "192.0.2.10"})
    statuses = f"/apis/networking.k8s.io/v1/namespaces/{APP}/ingresses/*/status"
    cluster.inject(
        f"/apis/networking.k8s.io/v1/namespaces/{APP}/ingresses/shop-0/status", 404, times=1
    )
    cluster.inject(statuses, 500, times=5)
    cluster.inject(statuses, 409, times=2)
    controller = box.start("-status-update-rate=200")
    others = NAMES[1:]
    assert eventually(lambda: all_show(cluster, others, [{"ip": "192.0.2.10"}]), 30)
    assert metric(controller, "ingress_status_updates_total", result="error") == 5
    assert metric(controller, "ingress_status_updates_total", result="conflict") == 2
    assert metric(controller, "ingress_status_updates_total", result="success") == len(others)
    assert "could not write the status of Ingress" in controller.output()
    # A 404 means deleted: not retried; the Ingress is looked at again when it changes.
    assert shown(cluster, "shop-0") == []
    touched = cluster.get_object("Ingress", APP, "shop-0")
    assert touched is not None
    touched["metadata"]["labels"]["touched"] = "yes"
    cluster.seed([touched])
    assert eventually(lambda: shown(cluster, "shop-0") == [{"ip": "192.0.2.10"}], 15)
    assert controller.alive()


def test_a_forbidden_status_write_is_reported_and_routing_goes_on(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """Under RBAC that grants the Lease but not `ingresses/status`: every write is 403,
    counted and logged (once, not once per Ingress), and the controller keeps serving."""
    rules = [
        {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["list", "watch"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    cluster = rbac_cluster(dev_cluster_factory, rules)
    seed_cluster(cluster, replicas=1)
    seed_ingresses(cluster, NAMES)
    set_configmap(cluster, {"external-status-address": "192.0.2.10"})
    with harness(cluster) as box:
        box.kubeconfig = cluster.write_kubeconfig(box.root / "sa.kubeconfig", token=SA_TOKEN)
        controller = box.start(plus=False)
        assert eventually(controller.ready, 30)
        assert eventually(lambda: lease_holder(cluster) == POD, 20)
        assert eventually(
            lambda: (
                (metric(controller, "ingress_status_updates_total", result="error") or 0)
                >= len(NAMES)
            ),
            30,
        )
        assert all(shown(cluster, name) == [] for name in NAMES)
        lines = [x for x in controller.output().splitlines() if "could not write the status" in x]
        warnings = [x for x in lines if "WARNING" in x]
        assert warnings and len(warnings) < len(NAMES), lines[:3]
        assert "403" in warnings[0]
        assert controller.ready()


def test_status_and_election_can_be_switched_off(world: tuple[DevCluster, Harness]) -> None:
    cluster, box = world
    set_configmap(cluster, {"external-status-address": "192.0.2.10"})
    quiet = box.start("-report-ingress-status=false")
    assert eventually(quiet.ready, 30)
    time.sleep(1.0)
    assert status_writes(cluster) == {}
    assert cluster.get_object("Lease", NS, LOCK) is None
    assert metric(quiet, "leader") == 0
    assert quiet.stop() == 0

    alone = box.start("-enable-leader-election=false")
    assert eventually(lambda: all_show(cluster, NAMES, [{"ip": "192.0.2.10"}]), 30)
    assert cluster.get_object("Lease", NS, LOCK) is None
    assert metric(alone, "leader") == 1


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("-external-service=Not_A_Name", "-external-service"),
        ("-external-service=a/b/c", "-external-service"),
        ("-leader-election-lock-name=UPPER", "-leader-election-lock-name"),
        ("-status-update-rate=0", "-status-update-rate"),
        ("-status-update-rate=nan", "-status-update-rate"),
        ("-leader-election-renew-deadline=40s", "renew deadline"),
        ("-leader-election-retry-period=soon", "-leader-election-retry-period"),
    ],
)
def test_bad_flags_are_refused_with_a_clear_message(
    world: tuple[DevCluster, Harness], flag: str, message: str
) -> None:
    _cluster, box = world
    controller = box.start(flag)
    assert controller.process.wait(30) == 2
    assert message in controller.output()
