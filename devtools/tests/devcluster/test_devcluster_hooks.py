"""Test hooks: fault injection, request log, seeding, inspection, EndpointSlices."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.hooks import SERVICE_NAME_LABEL
from nginx_ingress_dev.devcluster.pytest_plugin import status_body

Watch: Any = watch.Watch


def test_injected_429_retry_after_is_honoured_by_the_client(
    core: Any, dev_cluster: DevCluster
) -> None:
    """API concepts (API priority and fairness): a 429 carries Retry-After. The official
    client (urllib3's default Retry) sleeps that long and retries by itself."""
    dev_cluster.inject("/api/v1/namespaces/*/configmaps", status=429, retry_after=1, times=1)
    dev_cluster.clear_request_log()
    assert core.list_namespaced_config_map("default").items == []
    statuses = [record.status for record in dev_cluster.request_log]
    assert statuses == [429, 200]


def test_injected_429_reaches_a_client_without_retries(dev_cluster: DevCluster) -> None:
    configuration = client.Configuration()
    configuration.host = dev_cluster.url
    configuration.retries = 0
    dev_cluster.inject("/api/v1/namespaces/*/configmaps", status=429, retry_after=7, times=1)
    with client.ApiClient(configuration) as api:
        core: Any = client.CoreV1Api(api)
        with pytest.raises(ApiException) as caught:
            core.list_namespaced_config_map("default")
        assert caught.value.status == 429
        assert caught.value.headers is not None
        assert caught.value.headers["Retry-After"] == "7"
        body = status_body(caught.value)
        assert body["reason"] == "TooManyRequests"
        assert body["details"] == {"retryAfterSeconds": 7}
        assert core.list_namespaced_config_map("default").items == []  # times=1: used up


def test_injected_500_until_cleared(core: Any, dev_cluster: DevCluster) -> None:
    dev_cluster.inject("/api/v1/namespaces/default/*", status=500, method="GET")
    core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})  # POST unaffected
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            core.read_namespaced_config_map("x", "default")
        assert caught.value.status == 500
        assert status_body(caught.value)["reason"] == "InternalError"
    dev_cluster.clear_faults()
    assert core.read_namespaced_config_map("x", "default").metadata.name == "x"


def test_injected_latency_delays_but_serves(core: Any, dev_cluster: DevCluster) -> None:
    dev_cluster.inject("/api/v1/namespaces/default/configmaps", status=None, latency=0.2, times=1)
    dev_cluster.clear_request_log()
    assert core.list_namespaced_config_map("default").items == []
    (record,) = dev_cluster.request_log
    assert record.status == 200
    assert record.duration_seconds >= 0.2


def test_request_log_records_method_path_verb_and_status(
    core: Any, dev_cluster: DevCluster
) -> None:
    dev_cluster.clear_request_log()
    core.create_namespaced_config_map("default", {"metadata": {"name": "logged"}})
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("absent", "default")
    records = [(r.method, r.path, r.verb, r.status, r.user) for r in dev_cluster.request_log]
    assert records == [
        ("POST", "/api/v1/namespaces/default/configmaps", "create", 201, "system:admin"),
        ("GET", "/api/v1/namespaces/default/configmaps/absent", "get", 404, "system:admin"),
    ]


def test_drop_watches_ends_streams_and_clients_resume(core: Any, dev_cluster: DevCluster) -> None:
    """A dropped watch makes the official Watch (without timeout) reconnect from the last
    resourceVersion it saw, so no event is lost."""
    seen: list[str] = []
    done = threading.Event()
    stream = Watch()
    start = core.list_namespaced_config_map("default").metadata.resource_version

    def consume() -> None:
        for event in stream.stream(
            core.list_namespaced_config_map, "default", resource_version=start
        ):
            seen.append(event["object"].metadata.name)
            if len(seen) == 2:
                stream.stop()
        done.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        assert dev_cluster.wait_for_watchers("configmaps")
        core.create_namespaced_config_map("default", {"metadata": {"name": "first"}})
        assert dev_cluster.drop_watches() == 1
        core.create_namespaced_config_map("default", {"metadata": {"name": "second"}})
        assert done.wait(10)
    finally:
        dev_cluster.drop_watches()
        consumer.join(timeout=10)
    assert seen == ["first", "second"]
    watches = [r for r in dev_cluster.request_log if r.verb == "watch"]
    assert len(watches) >= 2


def test_seed_yaml_reads_a_directory_namespaces_first(
    tmp_path: Path, dev_cluster: DevCluster
) -> None:
    (tmp_path / "a-app.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: team}\ndata: {k: v}\n"
        "---\n"
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: team}\n"
        "spec: {ingressClassName: nginx}\n"
        "status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}\n"
    )
    (tmp_path / "b-namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"
    )
    (tmp_path / "ignored.txt").write_text("not yaml")
    seeded = dev_cluster.seed_yaml(tmp_path)
    assert [o["kind"] for o in seeded] == ["Namespace", "ConfigMap", "Ingress"]
    ingress = dev_cluster.get_object("ing", "team", "web")
    assert ingress is not None
    assert ingress["status"]["loadBalancer"]["ingress"] == [
        {"ip": "192.0.2.1"}
    ]  # seeding keeps status
    # Seeding again updates in place.
    dev_cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "app", "namespace": "team"},
                "data": {"k": "w"},
            }
        ]
    )
    configmaps = dev_cluster.objects("ConfigMap", "team")
    assert [c["data"] for c in configmaps] == [{"k": "w"}]


def test_publish_endpoints_writes_a_slice_owned_by_the_service(
    kube_client: client.ApiClient, dev_cluster: DevCluster
) -> None:
    core: Any = client.CoreV1Api(kube_client)
    discovery: Any = client.DiscoveryV1Api(kube_client)
    core.create_namespaced_service(
        "default", {"metadata": {"name": "web"}, "spec": {"ports": [{"name": "http", "port": 80}]}}
    )
    dev_cluster.publish_endpoints("default", "web", ["10.0.0.1", "10.0.0.2"], {"http": 8080})
    slices = discovery.list_namespaced_endpoint_slice(
        "default", label_selector=f"{SERVICE_NAME_LABEL}=web"
    )
    (endpoint_slice,) = slices.items
    assert endpoint_slice.address_type == "IPv4"
    assert [e.addresses for e in endpoint_slice.endpoints] == [["10.0.0.1"], ["10.0.0.2"]]
    assert all(e.conditions.ready for e in endpoint_slice.endpoints)
    assert [(p.name, p.port) for p in endpoint_slice.ports] == [("http", 8080)]

    dev_cluster.publish_endpoints("default", "web", ["10.0.0.3"], {"http": 8080})
    (updated,) = discovery.list_namespaced_endpoint_slice("default").items
    assert [e.addresses for e in updated.endpoints] == [["10.0.0.3"]]

    core.delete_namespaced_service("web", "default")
    assert discovery.list_namespaced_endpoint_slice("default").items == []


def test_delete_object_hook(dev_cluster: DevCluster) -> None:
    dev_cluster.seed(
        [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}]
    )
    assert dev_cluster.delete_object("secrets", "default", "s")
    assert not dev_cluster.delete_object("secrets", "default", "s")
