"""Deletion: finalizers, ownerReference garbage collection, namespaces."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster import DevCluster


def _owner_reference(owner: Any, kind: str, api_version: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner.metadata.name,
        "uid": owner.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
            },
        },
    }


def test_finalizers_hold_an_object_until_removed(core: Any) -> None:
    """API concepts (finalizers): delete sets deletionTimestamp while finalizers remain;
    the object goes away when the last finalizer is removed."""
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "held", "finalizers": ["example.com/cleanup"]}}
    )
    core.delete_namespaced_config_map("held", "default")
    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map(
            "held", "default", {"metadata": {"finalizers": ["example.com/cleanup", "new"]}}
        )
    assert caught.value.status == 422
    core.patch_namespaced_config_map(
        "held",
        "default",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("held", "default")
    assert gone.value.status == 404


def test_deleting_a_deployment_collects_its_headless_service(
    kube_client: client.ApiClient, dev_cluster: DevCluster
) -> None:
    """Garbage collection (Kubernetes concepts): dependents whose owners are all gone are
    deleted in background cascading deletion, e.g. the controller's headless Service
    owned by its Deployment."""
    apps: Any = client.AppsV1Api(kube_client)
    core: Any = client.CoreV1Api(kube_client)
    deployment = apps.create_namespaced_deployment("default", _deployment("controller"))
    core.create_namespaced_service(
        "default",
        {
            "metadata": {
                "name": "controller-sync",
                "ownerReferences": [_owner_reference(deployment, "Deployment", "apps/v1")],
            },
            "spec": {"clusterIP": "None", "ports": [{"name": "sync", "port": 12345}]},
        },
    )
    assert core.read_namespaced_service("controller-sync", "default").spec.cluster_ip == "None"
    apps.delete_namespaced_deployment("controller", "default")
    assert dev_cluster.get_object("Service", "default", "controller-sync") is None


def test_a_dependent_with_another_live_owner_survives(kube_client: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(kube_client)
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "owner-1"}})
    second = core.create_namespaced_config_map("default", {"metadata": {"name": "owner-2"}})
    core.create_namespaced_secret(
        "default",
        {
            "metadata": {
                "name": "shared",
                "ownerReferences": [
                    _owner_reference(first, "ConfigMap", "v1"),
                    _owner_reference(second, "ConfigMap", "v1"),
                ],
            }
        },
    )
    core.delete_namespaced_config_map("owner-1", "default")
    survivor = core.read_namespaced_secret("shared", "default")
    assert [o.name for o in survivor.metadata.owner_references] == ["owner-2"]
    core.delete_namespaced_config_map("owner-2", "default")
    with pytest.raises(ApiException):
        core.read_namespaced_secret("shared", "default")


def test_orphan_propagation_keeps_dependents(kube_client: client.ApiClient) -> None:
    """Garbage collection: propagationPolicy Orphan removes the ownerReference instead."""
    apps: Any = client.AppsV1Api(kube_client)
    core: Any = client.CoreV1Api(kube_client)
    deployment = apps.create_namespaced_deployment("default", _deployment("web"))
    core.create_namespaced_config_map(
        "default",
        {
            "metadata": {
                "name": "web-config",
                "ownerReferences": [_owner_reference(deployment, "Deployment", "apps/v1")],
            }
        },
    )
    apps.delete_namespaced_deployment("web", "default", propagation_policy="Orphan")
    orphan = core.read_namespaced_config_map("web-config", "default")
    assert orphan.metadata.owner_references is None


def test_deleting_a_namespace_deletes_its_contents(core: Any, dev_cluster: DevCluster) -> None:
    core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_config_map("team", {"metadata": {"name": "c"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.delete_namespace("team")
    assert dev_cluster.objects("ConfigMap", "team") == []
    assert [c["metadata"]["name"] for c in dev_cluster.objects("ConfigMap")] == ["c"]


def test_delete_precondition_on_resource_version(core: Any) -> None:
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "pre"}})
    core.patch_namespaced_config_map("pre", "default", {"data": {"a": "b"}})
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_config_map(
            "pre",
            "default",
            body={"preconditions": {"resourceVersion": created.metadata.resource_version}},
        )
    assert caught.value.status == 409
