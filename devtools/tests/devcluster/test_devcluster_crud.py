"""CRUD through the official client: server-set metadata, errors as Status bodies,
namespaces, generateName, replace with resourceVersion preconditions, generation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import status_body


def _ingress(name: str, host: str = "a.example.com") -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def test_create_sets_uid_timestamp_and_resource_version(core: Any) -> None:
    """API concepts (object metadata): the server sets uid, creationTimestamp and
    resourceVersion; kinds without spec (ConfigMap) carry no generation."""
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "settings"}, "data": {"a": "1"}}
    )
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert created.metadata.resource_version.isdigit()
    assert created.metadata.generation is None
    fetched = core.read_namespaced_config_map("settings", "default")
    assert fetched.metadata.uid == created.metadata.uid
    assert fetched.data == {"a": "1"}


def test_resource_version_is_global_and_monotonic(core: Any, networking: Any) -> None:
    """API concepts: resourceVersion is one counter for all kinds (etcd's revision)."""
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    second = networking.create_namespaced_ingress("default", _ingress("two"))
    third = core.create_namespaced_secret("default", {"metadata": {"name": "three"}})
    versions = [int(o.metadata.resource_version) for o in (first, second, third)]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3


def test_get_missing_object_is_404_with_a_status_body(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("absent", "default")
    assert caught.value.status == 404
    assert caught.value.headers is not None
    assert caught.value.headers["Content-Type"] == "application/json"
    body = status_body(caught.value)
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["code"] == 404
    assert body["message"] == 'configmaps "absent" not found'
    assert body["details"] == {"name": "absent", "group": "", "kind": "configmaps"}


def test_duplicate_create_is_409_already_exists(networking: Any) -> None:
    networking.create_namespaced_ingress("default", _ingress("dup"))
    with pytest.raises(ApiException) as caught:
        networking.create_namespaced_ingress("default", _ingress("dup"))
    assert caught.value.status == 409
    body = status_body(caught.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'ingresses.networking.k8s.io "dup" already exists'


def test_namespace_is_defaulted_from_the_url_and_a_mismatch_is_400(core: Any) -> None:
    """API concepts: an object without metadata.namespace takes the request's; a
    different one is rejected with 400 BadRequest."""
    created = core.create_namespaced_config_map("kube-system", {"metadata": {"name": "x"}})
    assert created.metadata.namespace == "kube-system"
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": "y", "namespace": "kube-system"}}
        )
    assert caught.value.status == 400
    assert status_body(caught.value)["reason"] == "BadRequest"


def test_create_in_a_missing_namespace_is_404(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert caught.value.status == 404
    assert status_body(caught.value)["message"] == 'namespaces "nowhere" not found'
    core.create_namespace({"metadata": {"name": "nowhere"}})
    core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})


def test_generate_name_appends_a_random_suffix(core: Any) -> None:
    """API concepts (generateName): the server appends 5 random characters."""
    names = {
        core.create_namespaced_config_map(
            "default", {"metadata": {"generateName": "job-"}}
        ).metadata.name
        for _ in range(5)
    }
    assert len(names) == 5
    assert all(re.fullmatch(r"job-[a-z0-9]{5}", name) for name in names)


def test_invalid_or_missing_names_are_422_invalid(core: Any) -> None:
    for metadata in ({"name": "Not_Valid"}, {}):
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_config_map("default", {"metadata": metadata})
        assert caught.value.status == 422
        assert status_body(caught.value)["reason"] == "Invalid"


def test_replace_with_stale_resource_version_is_409_and_fresh_succeeds(
    core: Any,
) -> None:
    """API concepts (optimistic concurrency): an update carrying an old
    resourceVersion is rejected with 409 Conflict."""
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "cas"}, "data": {"v": "1"}}
    )
    fresh = core.read_namespaced_config_map("cas", "default")
    fresh.data = {"v": "2"}
    updated = core.replace_namespaced_config_map("cas", "default", fresh)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

    created.data = {"v": "stale"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("cas", "default", created)
    assert caught.value.status == 409
    body = status_body(caught.value)
    assert body["reason"] == "Conflict"
    assert "the object has been modified" in str(body["message"])
    assert core.read_namespaced_config_map("cas", "default").data == {"v": "2"}


def test_replace_of_a_missing_object_is_404(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("ghost", "default", {"metadata": {"name": "ghost"}})
    assert caught.value.status == 404


def test_generation_counts_spec_changes_only(networking: Any) -> None:
    """API concepts: metadata.generation increments on spec changes, not on label or
    annotation changes."""
    created = networking.create_namespaced_ingress("default", _ingress("gen"))
    assert created.metadata.generation == 1
    labelled = networking.patch_namespaced_ingress(
        "gen", "default", {"metadata": {"labels": {"team": "a"}}}
    )
    assert labelled.metadata.generation == 1
    assert labelled.metadata.resource_version != created.metadata.resource_version
    respecced = networking.patch_namespaced_ingress(
        "gen", "default", {"spec": {"ingressClassName": "other"}}
    )
    assert respecced.metadata.generation == 2


def test_no_op_updates_keep_the_resource_version(core: Any, dev_cluster: DevCluster) -> None:
    """API concepts: an update that changes nothing does not bump resourceVersion
    and sends no watch event."""
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "same"}, "data": {"k": "v"}}
    )
    replaced = core.replace_namespaced_config_map("same", "default", created)
    patched = core.patch_namespaced_config_map("same", "default", {"data": {"k": "v"}})
    assert replaced.metadata.resource_version == created.metadata.resource_version
    assert patched.metadata.resource_version == created.metadata.resource_version
    assert dev_cluster.store.resource_version == int(created.metadata.resource_version)


def test_delete_returns_a_successstatus_body(core: Any) -> None:
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "bye"}})
    result = core.delete_namespaced_config_map("bye", "default")
    status = result if isinstance(result, dict) else result.to_dict()
    assert status["status"] == "Success"
    assert status["details"]["uid"] == created.metadata.uid
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_config_map("bye", "default")
    assert caught.value.status == 404


def test_cluster_scoped_resources(networking: Any) -> None:
    created = networking.create_ingress_class(
        {"metadata": {"name": "nginx"}, "spec": {"controller": "nginx.org/ingress-controller"}}
    )
    assert created.metadata.namespace is None
    names = [c.metadata.name for c in networking.list_ingress_class().items]
    assert names == ["nginx"]


def test_list_across_namespaces(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.create_namespaced_config_map("kube-system", {"metadata": {"name": "b"}})
    everywhere = core.list_config_map_for_all_namespaces()
    assert {(c.metadata.namespace, c.metadata.name) for c in everywhere.items} == {
        ("default", "a"),
        ("kube-system", "b"),
    }
    assert [c.metadata.name for c in core.list_namespaced_config_map("kube-system").items] == ["b"]


def test_dry_run_does_not_persist(core: Any) -> None:
    dry = core.create_namespaced_config_map("default", {"metadata": {"name": "dry"}}, dry_run="All")
    assert dry.metadata.name == "dry"
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", "default")
