"""OpenAPI documents generated from the official client's models, and the
`fieldValidation` they announce."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.fieldvalidation import unknown_fields
from nginx_ingress_dev.devcluster.resources import DEFAULT_RESOURCES, ResourceType
from nginx_ingress_dev.devcluster.schemas import CATALOG


def _get(cluster: DevCluster, path: str, accept: str = "application/json") -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": accept})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("resource", DEFAULT_RESOURCES.resources, ids=lambda r: r.key)
def test_every_served_kind_has_a_model(resource: ResourceType) -> None:
    model = CATALOG.model_name(resource)
    assert model is not None
    assert {"apiVersion", "kind", "metadata"} <= set(CATALOG.fields(model))
    assert CATALOG.model_name(resource, list_kind=True) is not None


def test_the_documents_are_built_on_first_request(dev_cluster: DevCluster) -> None:
    assert dev_cluster.api.openapi._v3 is None  # nothing paid at start-up
    status, root = _get(dev_cluster, "/openapi/v3")
    assert status == 200
    assert set(root["paths"]) == {
        "api/v1",
        "apis/apps/v1",
        "apis/networking.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
        "apis/coordination.k8s.io/v1",
        "apis/events.k8s.io/v1",
    }
    url = root["paths"]["apis/networking.k8s.io/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/networking.k8s.io/v1?hash=")
    status, document = _get(dev_cluster, url)
    assert status == 200
    schemas = document["components"]["schemas"]
    assert schemas["V1Ingress"]["x-kubernetes-group-version-kind"] == [
        {"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"}
    ]
    assert "V1ObjectMeta" in schemas  # each document stands alone
    patch = document["paths"]["/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}"][
        "patch"
    ]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Ingress"
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert _get(dev_cluster, "/openapi/v3/apis/example.com/v1")[0] == 404


def test_the_schemas_carry_this_servers_merge_keys_and_int_or_string(
    dev_cluster: DevCluster,
) -> None:
    schemas = _get(dev_cluster, "/openapi/v3/api/v1")[1]["components"]["schemas"]

    def extensions(model: str, field: str) -> dict[str, Any]:
        schema = schemas[model]["properties"][field]
        return {k: v for k, v in schema.items() if k.startswith("x-kubernetes-patch")}

    assert extensions("V1ServiceSpec", "ports")["x-kubernetes-patch-merge-key"] == "port"
    assert extensions("V1Container", "ports")["x-kubernetes-patch-merge-key"] == "containerPort"
    assert extensions("V1PodSpec", "containers")["x-kubernetes-patch-merge-key"] == "name"
    assert extensions("V1ObjectMeta", "finalizers") == {"x-kubernetes-patch-strategy": "merge"}
    assert extensions("V1ServiceSpec", "externalIPs") == {}  # atomic: replaced whole
    target_port = schemas["V1ServicePort"]["properties"]["targetPort"]
    assert target_port["format"] == "int-or-string"
    assert "port" in schemas["V1ServicePort"]["required"]


def test_swagger_2_is_served_as_json_and_protobuf_is_not(dev_cluster: DevCluster) -> None:
    status, document = _get(dev_cluster, "/openapi/v2")
    assert status == 200
    assert document["swagger"] == "2.0"
    spec = json.dumps(document["definitions"]["V1Ingress"]["properties"]["spec"])
    assert '"#/definitions/V1IngressSpec"' in spec
    assert "#/components/" not in json.dumps(document)
    protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    status, failure = _get(dev_cluster, "/openapi/v2", protobuf)
    assert status == 406
    assert failure["reason"] == "NotAcceptable"


def test_unknown_fields_are_found_at_every_depth() -> None:
    ingress = DEFAULT_RESOURCES.find("Ingress")
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "x", "labels": {"any": "key"}, "colour": "red"},
        "spec": {"rules": [{"host": "a", "htp": {}}], "ingressClassName": "nginx"},
        "extra": 1,
    }
    assert unknown_fields(ingress, obj) == ["metadata.colour", "spec.rules[0].htp", "extra"]


def _send(
    cluster: DevCluster, method: str, path: str, body: Any, content_type: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
    try:
        connection.request(method, path, json.dumps(body), {"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def test_field_validation_strict_warn_ignore(dev_cluster: DevCluster) -> None:
    def post(validation: str, name: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "dta": {}}
        path = f"/api/v1/namespaces/default/configmaps?fieldValidation={validation}"
        return _send(dev_cluster, "POST", path, body, "application/json")

    status, _, failure = post("Strict", "strict")
    assert status == 400
    assert failure["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "dta"'
    )
    status, headers, _ = post("Warn", "warned")
    assert status == 201
    assert headers["Warning"] == '299 - "unknown field \\"dta\\""'
    status, headers, _ = post("Ignore", "ignored")
    assert status == 201
    assert "Warning" not in headers
    status, _, failure = post("Loose", "loose")
    assert status == 400
    assert "must be one of Ignore, Warn or Strict" in failure["message"]
    assert [c["metadata"]["name"] for c in dev_cluster.objects("ConfigMap", "default")] == [
        "ignored",
        "warned",
    ]


def test_a_strict_patch_is_checked_after_patching(dev_cluster: DevCluster) -> None:
    dev_cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}}])
    path = "/api/v1/namespaces/default/configmaps/p?fieldValidation=Strict"
    status, _, failure = _send(
        dev_cluster, "PATCH", path, {"spec": {"x": 1}}, "application/merge-patch+json"
    )
    assert status == 400
    assert failure["message"] == 'strict decoding error: unknown field "spec"'
    stored = dev_cluster.get_object("ConfigMap", "default", "p")
    assert stored is not None
    assert "spec" not in stored
