"""Events (core and events.k8s.io) and Leases, including the official leader election."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import status_body

# The client's leader-election modules carry no type hints.
ElectionConfig: Any = electionconfig.Config
LeaderElection: Any = leaderelection.LeaderElection
AnyLeaseLock: Any = LeaseLock


def test_core_events_with_generate_name(core: Any) -> None:
    """API concepts (generateName): the server makes the name unique; the controller
    names events `<object>.` like client-go's recorder."""
    event = core.create_namespaced_event(
        "default",
        {
            "metadata": {"generateName": "ing1."},
            "involvedObject": {"kind": "Ingress", "name": "ing1", "namespace": "default"},
            "reason": "AddedOrUpdated",
            "message": "Configuration was added or updated",
            "type": "Normal",
            "source": {"component": "nginx-ingress-controller"},
        },
    )
    assert re.fullmatch(r"ing1\.[a-z0-9]{5}", event.metadata.name)
    assert event.involved_object.name == "ing1"


def test_events_k8s_io_events_with_generate_name(kube_client: client.ApiClient) -> None:
    events: Any = client.EventsV1Api(kube_client)
    event = events.create_namespaced_event(
        "default",
        {
            "metadata": {"generateName": "ing1."},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "nginx.org/ingress-controller",
            "reportingInstance": "nginx-ingress-0",
            "action": "Reconcile",
            "reason": "AddedOrUpdated",
            "regarding": {"kind": "Ingress", "name": "ing1", "namespace": "default"},
            "type": "Normal",
        },
    )
    assert event.metadata.name.startswith("ing1.")
    listed = events.list_namespaced_event("default", field_selector="regarding.name=ing1")
    assert [e.metadata.name for e in listed.items] == [event.metadata.name]


def _lease(name: str, holder: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15},
    }


def test_lease_compare_and_swap(kube_client: client.ApiClient) -> None:
    """Leases (coordination.k8s.io): two writers replacing from the same
    resourceVersion; the second gets 409 Conflict, so only one becomes holder."""
    leases: Any = client.CoordinationV1Api(kube_client)
    leases.create_namespaced_lease("default", _lease("leader", "nobody"))
    first_view = leases.read_namespaced_lease("leader", "default")
    second_view = leases.read_namespaced_lease("leader", "default")
    first_view.spec.holder_identity = "pod-a"
    leases.replace_namespaced_lease("leader", "default", first_view)
    second_view.spec.holder_identity = "pod-b"
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("leader", "default", second_view)
    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "Conflict"
    assert leases.read_namespaced_lease("leader", "default").spec.holder_identity == "pod-a"


@pytest.mark.usefixtures("default_client_configuration")
def test_official_leader_election_acquires_the_lease(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """kubernetes.leaderelection with LeaseLock creates the Lease after a 404 (it reads
    `code` from the Status body), becomes leader and records itself as holder."""
    cluster = dev_cluster_factory()
    configuration = client.Configuration()
    configuration.host = cluster.url
    client.Configuration.set_default(configuration)  # LeaseLock builds its own API object
    leading = threading.Event()
    stopped = threading.Event()
    config = ElectionConfig(
        AnyLeaseLock("nginx-ingress-leader", "default", "pod-a"),
        lease_duration=3,
        renew_deadline=2,
        retry_period=1,
        onstarted_leading=leading.set,
        onstopped_leading=stopped.set,
    )
    election = threading.Thread(target=LeaderElection(config).run, name="leader-election")
    election.start()
    try:
        assert leading.wait(10)
        lease = cluster.get_object("Lease", "default", "nginx-ingress-leader")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == "pod-a"
    finally:
        # The election loop has no stop: make renewals fail so it gives up leadership.
        cluster.inject("/apis/coordination.k8s.io/*", status=500)
        election.join(timeout=15)
    assert stopped.is_set()
    assert not election.is_alive()
