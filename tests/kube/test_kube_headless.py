"""The headless Service reconciler, the workload lookup and the event recorder, over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from nginx_ingress.kube.api import PODS, SERVICES, KubeApi, NotFound
from nginx_ingress.kube.events import WARNING, EventRecorder, ObjectReference
from nginx_ingress.kube.headless import DesiredService, HeadlessService, ServiceState, drift
from nginx_ingress.kube.workload import Workload, find_workload, selector_for
from nginx_ingress_dev.devcluster import DevCluster, RbacAuthorizer
from nginx_ingress_dev.devcluster.pytest_plugin import api_client_for

NS = "nginx-ingress"
NAME = "nginx-ingress-headless"


def workload_objects(
    kind: str = "Deployment", *, expressions: bool = False
) -> list[dict[str, Any]]:
    """A controller workload with its chain down to one Pod, as the cluster would hold them."""
    selector: dict[str, Any] = {"matchLabels": {"app": "nginx-ingress"}}
    if expressions:
        selector["matchExpressions"] = [{"key": "tier", "operator": "In", "values": ["edge"]}]
    pod_labels = {"app": "nginx-ingress", "tier": "edge"}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    ]
    top = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "nginx-ingress", "namespace": NS},
        "spec": {"selector": selector, "template": {"metadata": {"labels": pod_labels}}},
    }
    objects.append(top)
    owner_kind, owner_name = kind, "nginx-ingress"
    if kind == "Deployment":
        pod_labels = {**pod_labels, "pod-template-hash": "5d8f9c"}
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": "nginx-ingress-5d8f9c",
                    "namespace": NS,
                    "labels": pod_labels,
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "nginx-ingress",
                            "uid": "",
                            "controller": True,
                        }
                    ],
                },
                "spec": {
                    "selector": {
                        "matchLabels": {**selector["matchLabels"], "pod-template-hash": "5d8f9c"}
                    }
                },
            }
        )
        owner_kind, owner_name = "ReplicaSet", "nginx-ingress-5d8f9c"
    elif kind == "StatefulSet":
        pod_labels = {
            **pod_labels,
            "statefulset.kubernetes.io/pod-name": "nginx-ingress-0",
            "controller-revision-hash": "x",
        }
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "nginx-ingress-0",
                "namespace": NS,
                "labels": pod_labels,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": owner_kind,
                        "name": owner_name,
                        "uid": "",
                        "controller": True,
                    }
                ],
            },
            "spec": {"containers": [{"name": "controller", "image": "x"}]},
        }
    )
    return objects


def seed_workload(
    cluster: DevCluster, kind: str = "Deployment", *, expressions: bool = False
) -> None:
    """Seed in order, filling in each owner's uid as the API assigned it."""
    uids: dict[tuple[str, str], str] = {}
    for obj in workload_objects(kind, expressions=expressions):
        for reference in obj["metadata"].get("ownerReferences", []):
            reference["uid"] = uids[(reference["kind"], reference["name"])]
        (stored,) = cluster.seed([obj])
        uids[(obj["kind"], obj["metadata"]["name"])] = stored["metadata"]["uid"]


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}


@pytest.fixture
def api(dev_cluster: DevCluster) -> KubeApi:
    dev_cluster.seed([NAMESPACE])
    return KubeApi(api_client_for(dev_cluster), timeout=5)


def reconciler(api: KubeApi) -> HeadlessService:
    """Reads straight from the API: these tests are about writes, not the cache."""

    def read() -> dict[str, Any] | None:
        try:
            return api.get(SERVICES, NAME, NS)
        except NotFound:
            return None

    return HeadlessService(api, read)


def desired(workload: Workload | None = None, port: int = 12345) -> DesiredService:
    return DesiredService(NAME, NS, port, {"app": "nginx-ingress"}, workload)


def deployment(api: KubeApi) -> Workload:
    workload = find_workload(api, api.get(PODS, "nginx-ingress-0", NS))
    assert workload is not None
    return workload


@pytest.mark.parametrize("kind", ["Deployment", "DaemonSet", "StatefulSet"])
def test_the_workload_is_found_through_the_owner_chain(
    dev_cluster: DevCluster, api: KubeApi, kind: str
) -> None:
    seed_workload(dev_cluster, kind)
    workload = deployment(api)
    assert (workload.kind, workload.name) == (kind, "nginx-ingress")
    assert workload.match_labels == {"app": "nginx-ingress"}
    stored = dev_cluster.get_object(kind, NS, "nginx-ingress")
    assert stored is not None and workload.uid == stored["metadata"]["uid"]


def test_selector_never_copies_pod_template_hash(dev_cluster: DevCluster, api: KubeApi) -> None:
    """NIC issue 7864: a selector with the pod-template-hash matched no pod after a rollout."""
    seed_workload(dev_cluster, "Deployment", expressions=True)
    pod = dev_cluster.get_object("Pod", NS, "nginx-ingress-0")
    workload = deployment(api)
    assert workload.match_labels is None  # matchExpressions cannot be a Service selector
    assert selector_for(pod, workload, None) == {"app": "nginx-ingress", "tier": "edge"}
    assert selector_for(pod, None, {"x": "y"}) == {"x": "y"}
    assert selector_for(None, None, None) == {}


def test_create_a_complete_headless_service(dev_cluster: DevCluster, api: KubeApi) -> None:
    seed_workload(dev_cluster)
    workload = deployment(api)
    outcome = reconciler(api).converge(desired(workload), enabled=True)
    assert outcome.state is ServiceState.READY
    service = dev_cluster.get_object("Service", NS, NAME)
    assert service is not None
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"app": "nginx-ingress"}
    assert service["spec"]["ports"] == [
        {"name": "zone-sync", "port": 12345, "targetPort": 12345, "protocol": "TCP"}
    ]
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert service["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "nginx-ingress-controller",
        "app.kubernetes.io/component": "zone-sync",
    }
    (owner,) = service["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Deployment",
        "nginx-ingress",
        workload.uid,
    )


def test_the_owner_garbage_collects_the_service(dev_cluster: DevCluster, api: KubeApi) -> None:
    seed_workload(dev_cluster)
    reconciler(api).converge(desired(deployment(api)), enabled=True)
    dev_cluster.delete_object("Deployment", NS, "nginx-ingress")
    assert dev_cluster.get_object("Service", NS, NAME) is None


@pytest.mark.parametrize(
    "edit",
    [
        {"spec": {"selector": {"app": "someone-else"}}},
        {"spec": {"ports": [{"name": "x", "port": 1, "targetPort": 1, "protocol": "TCP"}]}},
        {"spec": {"publishNotReadyAddresses": False}},
        {"metadata": {"labels": {"app.kubernetes.io/component": "other"}}},
    ],
)
def test_drift_is_repaired(api: KubeApi, edit: dict[str, Any]) -> None:
    services = reconciler(api)
    services.converge(desired(), enabled=True)
    api.patch(SERVICES, NAME, edit, namespace=NS)
    assert drift(api.get(SERVICES, NAME, NS), desired())
    assert services.converge(desired(), enabled=True).state is ServiceState.READY
    assert not drift(api.get(SERVICES, NAME, NS), desired())


def test_a_port_change_updates_the_service(api: KubeApi) -> None:
    services = reconciler(api)
    services.converge(desired(port=12345), enabled=True)
    assert services.converge(desired(port=34100), enabled=True).state is ServiceState.READY
    service = api.get(SERVICES, NAME, NS)
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(34100, 34100)]


def test_ours_but_not_headless_is_recreated(dev_cluster: DevCluster, api: KubeApi) -> None:
    manifest = desired().manifest()
    manifest["spec"]["clusterIP"] = "10.96.0.50"
    dev_cluster.seed([manifest])
    assert reconciler(api).converge(desired(), enabled=True).state is ServiceState.READY
    assert api.get(SERVICES, NAME, NS)["spec"]["clusterIP"] == "None"


def test_a_foreign_service_is_never_touched(dev_cluster: DevCluster, api: KubeApi) -> None:
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"selector": {"app": "other"}, "ports": [{"port": 80}]},
    }
    (before,) = dev_cluster.seed([foreign])
    outcome = reconciler(api).converge(desired(), enabled=True)
    assert (
        outcome.state is ServiceState.CONFLICT
        and "not managed by this controller" in outcome.message
    )
    assert reconciler(api).converge(desired(), enabled=False).state is ServiceState.ABSENT
    after = dev_cluster.get_object("Service", NS, NAME)
    assert (
        after is not None
        and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    )


def test_disabling_deletes_only_ours(dev_cluster: DevCluster, api: KubeApi) -> None:
    services = reconciler(api)
    services.converge(desired(), enabled=True)
    assert services.converge(desired(), enabled=False).state is ServiceState.ABSENT
    assert dev_cluster.get_object("Service", NS, NAME) is None
    assert services.converge(desired(), enabled=False).state is ServiceState.ABSENT  # idempotent


@pytest.mark.usefixtures("api")  # seeds the namespace
def test_replicas_racing_end_with_one_service(dev_cluster: DevCluster) -> None:
    """Every replica converges the same Service: AlreadyExists and Conflict are handled,
    nothing raises, and exactly one Service results."""
    results = []
    barrier = threading.Barrier(6)

    def replica() -> None:
        own = KubeApi(api_client_for(dev_cluster), timeout=5)
        services = HeadlessService(own, lambda: None)  # a cache that has not seen it yet
        barrier.wait()
        results.append(services.converge(desired(), enabled=True).state)

    threads = [threading.Thread(target=replica) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [ServiceState.READY] * 6
    assert len(dev_cluster.objects("Service", NS)) == 1


def test_forbidden_is_a_failure_not_a_crash(dev_cluster_factory: Callable[..., DevCluster]) -> None:
    rbac = RbacAuthorizer.from_manifests(
        [
            {
                "kind": "Role",
                "metadata": {"name": "read", "namespace": NS},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["services"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
            {
                "kind": "RoleBinding",
                "metadata": {"name": "read", "namespace": NS},
                "roleRef": {"kind": "Role", "name": "read"},
                "subjects": [{"kind": "User", "name": "controller"}],
            },
        ]
    )
    cluster = dev_cluster_factory(tokens={"t0ken": "controller"}, rbac=rbac)
    cluster.seed([NAMESPACE])
    api = KubeApi(api_client_for(cluster, token="t0ken"), timeout=5)
    outcome = reconciler(api).converge(desired(), enabled=True)
    assert outcome.state is ServiceState.FAILED and "403" in outcome.message


def test_events_are_posted_once_and_failures_do_not_escape(
    dev_cluster: DevCluster, api: KubeApi
) -> None:
    (configmap,) = dev_cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg", "namespace": "default"},
            }
        ]
    )
    recorder = EventRecorder(api, instance="pod-0")
    about = ObjectReference.of(configmap, "v1", "ConfigMap")
    try:
        for _ in range(3):
            recorder.record(about, WARNING, "InvalidValue", "zone-sync-port: bad")
        assert recorder.flush()
        dev_cluster.inject("/api/v1/namespaces/default/events", 500)
        recorder.record(about, WARNING, "InvalidValue", "another")
        assert recorder.flush(10)
    finally:
        recorder.stop()
    events = dev_cluster.objects("Event", "default")
    assert [(e["reason"], e["message"]) for e in events] == [
        ("InvalidValue", "zone-sync-port: bad")
    ]
    (event,) = events
    assert event["metadata"]["name"].startswith("cfg.")
    assert event["involvedObject"]["uid"] == configmap["metadata"]["uid"]
    assert event["type"] == "Warning" and event["source"]["host"] == "pod-0"


def test_the_recorder_stops_promptly_with_the_api_gone(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    cluster = dev_cluster_factory(port=0)
    api = KubeApi(api_client_for(cluster), timeout=1)
    cluster.stop()
    recorder = EventRecorder(api, capacity=3)
    about = ObjectReference("v1", "ConfigMap", "default", "cfg")
    for n in range(10):  # more than the queue holds: the rest are dropped, not blocking
        recorder.record(about, WARNING, "InvalidValue", f"problem {n}")
    start = time.monotonic()
    recorder.stop(timeout=2)
    assert time.monotonic() - start < 8
    assert not any(t.name == "event-recorder" and t.is_alive() for t in threading.enumerate())
