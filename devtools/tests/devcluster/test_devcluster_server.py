"""Transport and discovery: status codes, headers, discovery documents, the dynamic
client, and a shutdown that ends watches and frees the port."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any

import pytest
from kubernetes import client, dynamic

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.server import RequestHandler

DynamicClient: Any = dynamic.DynamicClient


def _get(cluster: DevCluster, path: str) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        decoded = json.loads(body) if headers.get("content-type") == "application/json" else body
        return response.status, headers, decoded
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/version", "/version/"])
def test_version_with_and_without_trailing_slash(dev_cluster: DevCluster, path: str) -> None:
    status, headers, body = _get(dev_cluster, path)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body["major"] == "1"
    assert body["gitVersion"].startswith("v1.")


def test_discovery_documents(dev_cluster: DevCluster) -> None:
    """API concepts (discovery): /api lists core versions, /apis the groups, and each
    group-version an APIResourceList with name, singularName, namespaced, kind, verbs."""
    assert _get(dev_cluster, "/api")[2]["versions"] == ["v1"]
    groups = {g["name"] for g in _get(dev_cluster, "/apis")[2]["groups"]}
    assert groups == {
        "apps",
        "networking.k8s.io",
        "discovery.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
    }
    group = _get(dev_cluster, "/apis/networking.k8s.io")[2]
    assert group["kind"] == "APIGroup"
    assert group["preferredVersion"] == {"groupVersion": "networking.k8s.io/v1", "version": "v1"}
    resources = {
        r["name"]: r for r in _get(dev_cluster, "/apis/networking.k8s.io/v1")[2]["resources"]
    }
    assert resources["ingresses"]["kind"] == "Ingress"
    assert resources["ingresses"]["singularName"] == "ingress"
    assert resources["ingresses"]["namespaced"] is True
    assert "watch" in resources["ingresses"]["verbs"]
    assert resources["ingresses/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["ingressclasses"]["namespaced"] is False
    core = {r["name"]: r for r in _get(dev_cluster, "/api/v1")[2]["resources"]}
    assert core["namespaces"]["namespaced"] is False
    assert core["configmaps"]["shortNames"] == ["cm"]


def test_the_official_clients_discovery_calls(kube_client: client.ApiClient) -> None:
    version: Any = client.VersionApi(kube_client)
    assert version.get_code().major == "1"
    apis: Any = client.ApisApi(kube_client)
    assert "apps" in {g.name for g in apis.get_api_versions().groups}
    networking: Any = client.NetworkingV1Api(kube_client)
    assert "ingresses" in {r.name for r in networking.get_api_resources().resources}


def test_dynamic_client_discovers_and_lists(
    kube_client: client.ApiClient, dev_cluster: DevCluster
) -> None:
    dev_cluster.seed(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "dyn"},
                "spec": {},
            }
        ]
    )
    dynamic_client = DynamicClient(kube_client)
    ingresses = dynamic_client.resources.get(api_version="networking.k8s.io/v1", kind="Ingress")
    names = [item.metadata.name for item in ingresses.get(namespace="default").items]
    assert names == ["dyn"]


def test_health_endpoints_and_unknown_paths(dev_cluster: DevCluster) -> None:
    status, _, body = _get(dev_cluster, "/healthz")
    assert (status, body) == (200, b"ok")
    status, _, body = _get(dev_cluster, "/apis/example.com/v1/widgets")
    assert status == 404
    assert body["reason"] == "NotFound"


def test_responses_disable_nagle() -> None:
    """A split header/body write under Nagle + delayed ACK cost a spike 40 ms per request."""
    assert RequestHandler.disable_nagle_algorithm is True


def test_stop_ends_open_watches_and_frees_the_port() -> None:
    before = set(threading.enumerate())
    cluster = DevCluster().start()
    port = cluster.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/v1/namespaces/default/configmaps?watch=1")
    response = connection.getresponse()
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("GET", "/version")
    idle.getresponse().read()  # a keep-alive connection left open
    assert cluster.wait_for_watchers("configmaps")
    cluster.stop()
    assert response.read() == b""  # the chunked stream was ended, not left hanging
    connection.close()
    idle.close()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
