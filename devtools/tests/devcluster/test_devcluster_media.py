"""Content types as kube-apiserver answers them: 415 for request bodies it cannot read,
Accept negotiation by its rules, 406 when nothing acceptable can be served."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
import yaml

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.media import Output, negotiate, parse_accept

CONFIGMAP = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})


def _request(
    cluster: DevCluster, method: str, path: str, body: str | bytes = b"", **headers: str
) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
    try:
        names = {key.replace("_", "-"): value for key, value in headers.items()}
        connection.request(method, path, body=body, headers=names)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def _status(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(body)
    assert decoded["kind"] == "Status"
    return decoded


@pytest.mark.parametrize(
    "content_type", ["application/vnd.kubernetes.protobuf", "application/cbor", "text/plain"]
)
def test_a_body_in_another_format_is_415(dev_cluster: DevCluster, content_type: str) -> None:
    status, _, body = _request(
        dev_cluster,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap",
        Content_Type=content_type,
    )
    assert status == 415
    failure = _status(body)
    assert failure["reason"] == "UnsupportedMediaType"
    assert failure["code"] == 415
    assert failure["message"].startswith(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )
    assert "application/vnd.kubernetes.protobuf is not served" in failure["message"]
    assert dev_cluster.objects("ConfigMap", "default") == []


def test_json_yaml_and_no_content_type_are_read(dev_cluster: DevCluster) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    assert _request(dev_cluster, "POST", path, CONFIGMAP)[0] == 201
    yaml_body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n"
    assert _request(dev_cluster, "POST", path, yaml_body, Content_Type="application/yaml")[0] == 201
    json_body = CONFIGMAP.replace('"c"', '"j"')
    charset = "application/json; charset=utf-8"
    assert _request(dev_cluster, "POST", path, json_body, Content_Type=charset)[0] == 201


def test_a_patch_in_an_unknown_format_lists_the_patch_types(dev_cluster: DevCluster) -> None:
    dev_cluster.seed([json.loads(CONFIGMAP)])
    status, _, body = _request(
        dev_cluster,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/c",
        "{}",
        Content_Type="application/json",
    )
    assert status == 415
    message = _status(body)["message"]
    for patch_type in ("json-patch+json", "merge-patch+json", "strategic-merge-patch+json"):
        assert f"application/{patch_type}" in message


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.kubernetes.protobuf, application/json",
        "application/vnd.kubernetes.protobuf,application/json;q=0.9",
        "*/*",
        "application/*",
        "application/json;as=Widget;g=example.com;v=v1, application/json",
        "application/json;stream=watch",
    ],
)
def test_accept_headers_that_get_json(dev_cluster: DevCluster, accept: str) -> None:
    status, content_type, body = _request(
        dev_cluster, "GET", "/api/v1/namespaces/default", Accept=accept
    )
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body)["kind"] == "Namespace"


@pytest.mark.parametrize(
    "path", ["/api/v1/namespaces/default", "/api/v1/namespaces", "/apis/networking.k8s.io/v1"]
)
def test_protobuf_alone_is_406(dev_cluster: DevCluster, path: str) -> None:
    status, _, body = _request(
        dev_cluster, "GET", path, Accept="application/vnd.kubernetes.protobuf"
    )
    assert status == 406
    failure = _status(body)
    assert failure["reason"] == "NotAcceptable"
    assert failure["message"].startswith("only the following media types are accepted: ")


def test_yaml_is_served_on_request(dev_cluster: DevCluster) -> None:
    status, content_type, body = _request(
        dev_cluster,
        "GET",
        "/api/v1/namespaces/default",
        Accept="application/json;q=0.5, application/yaml",
    )
    assert (status, content_type) == (200, "application/yaml")
    assert yaml.safe_load(body)["metadata"]["name"] == "default"


def test_a_watch_has_no_yaml_form(dev_cluster: DevCluster) -> None:
    status, _, body = _request(
        dev_cluster, "GET", "/api/v1/namespaces?watch=1", Accept="application/yaml"
    )
    assert status == 406
    assert "application/json;stream=watch" in _status(body)["message"]


def test_partial_object_metadata(dev_cluster: DevCluster) -> None:
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    status, _, body = _request(dev_cluster, "GET", "/api/v1/namespaces", Accept=accept)
    assert status == 200
    listing = json.loads(body)
    assert listing["kind"] == "PartialObjectMetadataList"
    assert {item["kind"] for item in listing["items"]} == {"PartialObjectMetadata"}
    assert "spec" not in listing["items"][0]


def test_conversions_are_for_objects_only() -> None:
    table = "application/json;as=Table;g=meta.k8s.io;v=v1"
    assert negotiate(table, conversions=True) is Output.TABLE
    with pytest.raises(Exception, match="only the following media types"):
        negotiate(table, conversions=False)
    assert negotiate(f"{table}, application/json") is Output.JSON


def test_accept_clauses_order_by_quality_then_specificity() -> None:
    clauses = parse_accept("*/*;q=0.8, application/*, application/yaml;q=0.9, application/json")
    assert [(c.type, c.subtype) for c in clauses] == [
        ("application", "json"),
        ("application", "*"),
        ("application", "yaml"),
        ("*", "*"),
    ]
