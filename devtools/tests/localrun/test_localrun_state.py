"""The stand-ins for the controller's workload, and the state directory's lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.localrun.standins import (
    ControllerIdentity,
    create_controller_workload,
    ensure_ingress_class,
)
from nginx_ingress_dev.localrun.state import StateDir, StateError


def test_the_pod_is_owned_by_a_replica_set_owned_by_the_deployment() -> None:
    cluster = DevCluster()
    identity = ControllerIdentity.new()
    create_controller_workload(cluster.store, identity)
    pod = cluster.get_object("Pod", identity.namespace, identity.pod)
    replica_set = cluster.get_object("ReplicaSet", identity.namespace, identity.replica_set)
    deployment = cluster.get_object("Deployment", identity.namespace, identity.deployment)
    assert pod and replica_set and deployment
    assert pod["metadata"]["ownerReferences"][0]["uid"] == replica_set["metadata"]["uid"]
    assert replica_set["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    assert pod["status"]["phase"] == "Running"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    assert pod["metadata"]["labels"]["pod-template-hash"] == identity.pod_hash
    assert identity.pod.startswith(f"{identity.replica_set}-")


def test_the_ingress_class_is_made_only_when_missing() -> None:
    cluster = DevCluster()
    assert ensure_ingress_class(cluster.store)
    assert not ensure_ingress_class(cluster.store)
    found = cluster.get_object("IngressClass", "", "nginx")
    assert found is not None
    assert found["spec"]["controller"] == "nginx.org/ingress-controller"


def test_one_run_per_state_directory(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    with (
        state.lock(),
        pytest.raises(StateError, match="another `nginx-ingress dev` uses the state"),
    ):
        StateDir(tmp_path / "state").lock()
    with StateDir(tmp_path / "state").lock():
        pass  # released with its file


def test_a_state_directory_it_cannot_make_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StateError, match=r"--state-dir .*/file/state: cannot use it: "):
        StateDir(tmp_path / "file" / "state").lock()
