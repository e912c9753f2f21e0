"""PATCH formats (pure functions and over HTTP), server-side apply, /status isolation."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster import BadRequest, DevCluster, Invalid
from nginx_ingress_dev.devcluster.patch import json_patch, merge_patch, strategic_merge


def test_merge_patch_follows_rfc_7386() -> None:
    original = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patched = merge_patch(original, {"a": "z", "c": {"f": None}, "l": [3]})
    assert patched == {"a": "z", "c": {"d": "e"}, "l": [3]}
    assert original == {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}


def test_json_patch_follows_rfc_6902() -> None:
    document = {"metadata": {"labels": {"a/b": "1"}}, "list": [1, 2, 3]}
    patched = json_patch(
        document,
        [
            {"op": "add", "path": "/list/-", "value": 4},
            {"op": "remove", "path": "/list/0"},
            {"op": "replace", "path": "/metadata/labels/a~1b", "value": "2"},
            {"op": "copy", "from": "/list", "path": "/copy"},
            {"op": "move", "from": "/copy", "path": "/moved"},
            {"op": "test", "path": "/moved/0", "value": 2},
        ],
    )
    assert patched == {"metadata": {"labels": {"a/b": "2"}}, "list": [2, 3, 4], "moved": [2, 3, 4]}
    with pytest.raises(Invalid):
        json_patch(document, [{"op": "test", "path": "/list/0", "value": 9}])
    with pytest.raises(Invalid):
        json_patch(document, [{"op": "remove", "path": "/absent"}])
    with pytest.raises(BadRequest):
        json_patch(document, {"op": "add"})


def test_strategic_merge_uses_the_merge_keys_the_controller_relies_on() -> None:
    service = {
        "metadata": {
            "finalizers": ["a"],
            "ownerReferences": [{"uid": "1", "name": "old"}, {"uid": "2", "name": "keep"}],
        },
        "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    patched = strategic_merge(
        service,
        {
            "metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "1", "name": "new"}]},
            "spec": {
                "ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "$patch": "delete"}]
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced"}]},
        },
    )
    assert patched["metadata"]["finalizers"] == ["a", "b"]
    assert patched["metadata"]["ownerReferences"] == [
        {"uid": "1", "name": "new"},
        {"uid": "2", "name": "keep"},
    ]
    assert patched["spec"]["ports"] == [{"port": 80, "name": "http", "targetPort": 8080}]
    assert patched["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Synced"},
    ]


def test_strategic_merge_merges_containers_by_name_and_replaces_atomic_lists() -> None:
    deployment = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1", "ports": [{"containerPort": 80}]},
                        {"name": "sidecar", "image": "s:1"},
                    ]
                }
            }
        },
        "rules": [1, 2],
    }
    patched = strategic_merge(
        deployment,
        {
            "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:2"}]}}},
            "rules": [3],
        },
    )
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "nginx", "image": "nginx:2", "ports": [{"containerPort": 80}]}
    assert containers[1] == {"name": "sidecar", "image": "s:1"}
    assert patched["rules"] == [3]


def _service(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]},
    }


def test_patch_content_types_over_http(core: Any) -> None:
    core.create_namespaced_service("default", _service("svc"))
    strategic = core.patch_namespaced_service(
        "svc", "default", {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    )
    assert [(p.port, p.target_port) for p in strategic.spec.ports] == [(80, 8080), (443, 443)]
    merged = core.patch_namespaced_service(
        "svc",
        "default",
        {"spec": {"ports": [{"name": "only", "port": 81}]}},
        _content_type="application/merge-patch+json",
    )
    assert [p.port for p in merged.spec.ports] == [81]
    patched = core.patch_namespaced_service(
        "svc",
        "default",
        [{"op": "add", "path": "/metadata/labels", "value": {"app": "web"}}],
        _content_type="application/json-patch+json",
    )
    assert patched.metadata.labels == {"app": "web"}


def test_failed_json_patch_test_is_422(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"k": "v"}})
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map(
            "c",
            "default",
            [{"op": "test", "path": "/data/k", "value": "other"}],
            _content_type="application/json-patch+json",
        )
    assert caught.value.status == 422


def test_server_side_apply_creates_then_merges(networking: Any) -> None:
    """API concepts (server-side apply): apply creates a missing object and merges into
    an existing one; fieldManager is required."""
    manifest: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "applied", "namespace": "default", "labels": {"a": "1"}},
        "spec": {"ingressClassName": "nginx"},
    }
    created = networking.patch_namespaced_ingress(
        "applied",
        "default",
        manifest,
        field_manager="nginx-ingress",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    assert created.metadata.labels == {"a": "1"}
    manifest["metadata"]["labels"] = {"b": "2"}
    updated = networking.patch_namespaced_ingress(
        "applied",
        "default",
        manifest,
        field_manager="nginx-ingress",
        _content_type="application/apply-patch+yaml",
    )
    assert updated.metadata.labels == {"a": "1", "b": "2"}
    assert [m.manager for m in updated.metadata.managed_fields] == ["nginx-ingress"]
    with pytest.raises(ApiException) as caught:
        networking.patch_namespaced_ingress(
            "applied", "default", manifest, _content_type="application/apply-patch+yaml"
        )
    assert caught.value.status == 400


def test_status_subresource_is_isolated(networking: Any, dev_cluster: DevCluster) -> None:
    """API concepts (status subresource): writes to the main resource ignore .status;
    writes to /status change only .status and do not bump generation."""
    body = {
        "metadata": {"name": "ing"},
        "spec": {"ingressClassName": "nginx"},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.9"}]}},
    }
    created = networking.create_namespaced_ingress("default", body)
    assert created.status is None or not created.status.load_balancer
    status = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
    patched = networking.patch_namespaced_ingress_status("ing", "default", status)
    assert patched.status.load_balancer.ingress[0].ip == "192.0.2.1"
    assert patched.metadata.generation == 1

    ignored = networking.patch_namespaced_ingress(
        "ing", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}}}
    )
    assert ignored.status.load_balancer.ingress[0].ip == "192.0.2.1"
    assert ignored.metadata.resource_version == patched.metadata.resource_version

    current = networking.read_namespaced_ingress("ing", "default")
    current.spec.ingress_class_name = "changed-through-status"
    current.status.load_balancer.ingress[0].ip = "192.0.2.3"
    replaced = networking.replace_namespaced_ingress_status("ing", "default", current)
    assert replaced.spec.ingress_class_name == "nginx"
    assert replaced.status.load_balancer.ingress[0].ip == "192.0.2.3"
    stored = dev_cluster.get_object("Ingress", "default", "ing")
    assert stored is not None
    assert stored["metadata"]["generation"] == 1


def test_status_of_a_kind_without_status_is_404(dev_cluster: DevCluster) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", dev_cluster.port, timeout=10)
    try:
        connection.request("GET", "/api/v1/namespaces/default/configmaps/x/status")
        response = connection.getresponse()
        assert response.status == 404
        assert json.loads(response.read())["reason"] == "NotFound"
    finally:
        connection.close()
