"""Server-side printing: kube-apiserver's columns and cell formats, over HTTP as
kubectl asks for them (list, get, watch; includeObject)."""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.resources import DEFAULT_RESOURCES, ResourceType
from nginx_ingress_dev.devcluster.tables import human_duration, table

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _created(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cells(kind: str, obj: dict[str, Any], api_version: str | None = None) -> dict[str, Any]:
    resource = DEFAULT_RESOURCES.find(kind, api_version)
    obj.setdefault("metadata", {}).setdefault("creationTimestamp", _created(300))
    document = table(resource, [obj], {}, now=NOW)
    names = [column["name"] for column in document["columnDefinitions"]]
    return dict(zip(names, document["rows"][0]["cells"], strict=True))


@pytest.mark.parametrize(
    "seconds,text",
    [
        (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (303, "5m3s"),
        (600, "10m"), (179 * 60, "179m"), (3 * 3600 + 60, "3h1m"), (9 * 3600, "9h"),
        (50 * 3600, "2d2h"), (9 * 86400, "9d"), (800 * 86400, "2y70d"), (3000 * 86400, "8y"),
    ],
)  # fmt: skip
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_ingress_columns() -> None:
    row = _cells(
        "Ingress",
        {
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": ["a.example.com"]}],
                "rules": [{"host": f"h{i}.example.com"} for i in range(5)],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}, {"hostname": "lb"}]}},
        },
    )
    assert row == {
        "Name": "",
        "Class": "nginx",
        "Hosts": "h0.example.com,h1.example.com,h2.example.com + 2 more...",
        "Address": "192.0.2.2,lb",
        "Ports": "80, 443",
        "Age": "5m",
    }
    bare = _cells("Ingress", {"spec": {"rules": [{"http": {}}]}})
    assert (bare["Class"], bare["Hosts"], bare["Address"], bare["Ports"]) == (
        "<none>",
        "*",
        "",
        "80",
    )


def test_service_columns() -> None:
    row = _cells(
        "Service",
        {
            "spec": {
                "type": "NodePort",
                "clusterIPs": ["10.96.0.5"],
                "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53}],
                "selector": {"b": "2", "a": "1"},
            }
        },
    )
    assert row["Type"] == "NodePort"
    assert row["Cluster-IP"] == "10.96.0.5"
    assert row["External-IP"] == "<none>"
    assert row["Port(s)"] == "80:30080/TCP,53/TCP"
    assert row["Selector"] == "a=1,b=2"
    pending = _cells("Service", {"spec": {"type": "LoadBalancer"}})
    assert (pending["External-IP"], pending["Cluster-IP"], pending["Port(s)"]) == (
        "<pending>",
        "<none>",
        "<none>",
    )


def test_endpoint_slice_columns() -> None:
    row = _cells(
        "EndpointSlice",
        {
            "addressType": "IPv4",
            "ports": [{"port": 8080}, {"name": "named"}, {}, {"port": 1}],
            "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(4)],
        },
    )
    assert row["Ports"] == "8080,named,* + 1 more..."
    assert row["Endpoints"] == "10.0.0.0,10.0.0.1,10.0.0.2 + 1 more..."
    assert _cells("EndpointSlice", {"addressType": "IPv6"})["Endpoints"] == "<unset>"


def test_pod_columns() -> None:
    running = {
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "podIPs": [{"ip": "10.1.0.7"}],
            "containerStatuses": [
                {"ready": True, "restartCount": 2, "state": {"running": {}}},
                {"ready": False, "restartCount": 1, "state": {"waiting": {"reason": "Crash"}}},
            ],
        },
    }
    row = _cells("Pod", running)
    assert (row["Ready"], row["Status"], row["Restarts"]) == ("1/2", "Crash", "3")
    assert (row["IP"], row["Node"], row["Nominated Node"]) == ("10.1.0.7", "node-1", "<none>")
    pending = _cells("Pod", {"spec": {"containers": [{}]}, "status": {"phase": "Pending"}})
    assert (pending["Ready"], pending["Status"], pending["IP"]) == ("0/1", "Pending", "<none>")
    deleting = {"metadata": {"deletionTimestamp": _created(1)}, "status": {"phase": "Running"}}
    assert _cells("Pod", deleting)["Status"] == "Terminating"


def test_event_columns_for_both_event_apis() -> None:
    core = _cells(
        "Event",
        {
            "type": "Warning",
            "reason": "Rejected",
            "message": " host taken \n",
            "involvedObject": {"kind": "Ingress", "name": "web"},
            "source": {"component": "nginx-ingress"},
            "firstTimestamp": _created(7200),
            "lastTimestamp": _created(60),
            "count": 3,
        },
        "v1",
    )
    assert core["Last Seen"] == "60s"
    assert core["First Seen"] == "120m"
    assert (core["Object"], core["Message"], core["Count"]) == ("ingress/web", "host taken", 3)
    assert core["Source"] == "nginx-ingress"
    modern = _cells(
        "Event",
        {
            "type": "Normal",
            "reason": "AddedOrUpdated",
            "note": "ok",
            "regarding": {"kind": "ConfigMap", "name": "nginx-config"},
            "eventTime": "2025-12-31T23:59:00.000000Z",
            "reportingController": "nginx.org/ingress-controller",
            "reportingInstance": "pod-1",
        },
        "events.k8s.io/v1",
    )
    assert (modern["Last Seen"], modern["Count"], modern["Object"]) == (
        "60s",
        1,
        "configmap/nginx-config",
    )
    assert modern["Source"] == "nginx.org/ingress-controller, pod-1"


def test_small_kinds_and_the_generic_table() -> None:
    assert _cells("ConfigMap", {"data": {"a": "1"}, "binaryData": {"b": ""}})["Data"] == 2
    assert _cells("Secret", {"type": "Opaque", "data": {"a": ""}})["Type"] == "Opaque"
    assert _cells("Lease", {"spec": {"holderIdentity": "pod-0"}})["Holder"] == "pod-0"
    assert _cells("Namespace", {"status": {"phase": "Active"}})["Status"] == "Active"
    deployment = _cells(
        "Deployment",
        {
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}},
            },
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        },
    )
    assert deployment == {
        "Name": "",
        "Ready": "2/3",
        "Up-to-date": 3,
        "Available": 2,
        "Age": "5m",
        "Containers": "web",
        "Images": "nginx:1",
        "Selector": "app=web",
    }


def _get(cluster: DevCluster, path: str, accept: str = TABLE) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept": accept})
        response = connection.getresponse()
        body: dict[str, Any] = json.loads(response.read())
        assert response.status == 200, body
        return body
    finally:
        connection.close()


def test_lists_and_gets_as_tables(dev_cluster: DevCluster) -> None:
    dev_cluster.seed(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(3)]
    )
    listed = _get(dev_cluster, "/api/v1/namespaces/default/configmaps?limit=2")
    assert listed["kind"] == "Table"
    assert listed["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in listed["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [row["cells"][0] for row in listed["rows"]] == ["c0", "c1"]
    assert listed["metadata"]["continue"]
    assert listed["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    single = _get(dev_cluster, "/api/v1/namespaces/default/configmaps/c2?includeObject=Object")
    assert single["rows"][0]["object"]["kind"] == "ConfigMap"
    bare = _get(dev_cluster, "/api/v1/namespaces/default/configmaps/c2?includeObject=None")
    assert "object" not in bare["rows"][0]


def test_include_object_must_be_known(dev_cluster: DevCluster) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", dev_cluster.port, timeout=10)
    connection.request("GET", "/api/v1/namespaces?includeObject=All", headers={"Accept": TABLE})
    response = connection.getresponse()
    assert response.status == 400
    assert "includeObject must be one of Metadata, Object, None" in response.read().decode()
    connection.close()


def test_a_table_watch_sends_the_columns_once(dev_cluster: DevCluster) -> None:
    """kube-apiserver sends the column definitions with the first event only."""
    dev_cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first"}}])
    connection = http.client.HTTPConnection("127.0.0.1", dev_cluster.port, timeout=10)
    try:
        connection.request(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=5",
            headers={"Accept": TABLE},
        )
        response = connection.getresponse()
        first = json.loads(response.readline())
        assert dev_cluster.wait_for_watchers("configmaps")
        dev_cluster.seed(
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "second"}}]
        )
        second = json.loads(response.readline())
    finally:
        dev_cluster.drop_watches()
        connection.close()
    assert (first["type"], second["type"]) == ("ADDED", "ADDED")
    assert first["object"]["kind"] == second["object"]["kind"] == "Table"
    assert [c["name"] for c in first["object"]["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert second["object"]["columnDefinitions"] == []
    assert second["object"]["rows"][0]["cells"][0] == "second"


def test_kinds_without_a_printer_get_the_generic_table() -> None:
    widget = ResourceType("example.com", "v1", "Widget", "widgets", namespaced=True)
    created = "2025-12-31T23:00:00Z"
    document = table(widget, [{"metadata": {"name": "w", "creationTimestamp": created}}], {})
    assert document["columnDefinitions"][1]["name"] == "Created At"
    assert document["columnDefinitions"][1]["type"] == "date"
    assert document["rows"][0]["cells"] == ["w", created]
