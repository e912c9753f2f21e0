"""What a cluster would hold for the controller before it starts: its namespace, the
Deployment → ReplicaSet → Pod chain it runs in, and the IngressClass it serves.

The chain matters beyond appearances: the controller reads its own Pod, follows the
owner references to its workload, and copies the workload's selector into the
zone-sync headless Service, as it does in a cluster. The Pod is `Running` with
127.0.0.1 as its address, which is where its NGINX listens here.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nginx_ingress_dev.devcluster.seeding import seed_objects
from nginx_ingress_dev.devcluster.store import Store

NAMESPACE = "nginx-ingress"
CONFIGMAP = "nginx-config"
DEPLOYMENT = "nginx-ingress"
INGRESS_CLASS = "nginx"
CONTROLLER_NAME = "nginx.org/ingress-controller"
LABELS: Mapping[str, str] = {
    "app.kubernetes.io/name": "nginx-ingress",
    "app.kubernetes.io/instance": "dev",
}
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet


@dataclass(frozen=True)
class ControllerIdentity:
    """The names the controller is started with (`POD_NAMESPACE`, `POD_NAME`)."""

    namespace: str
    pod: str
    replica_set: str
    deployment: str

    @staticmethod
    def new() -> ControllerIdentity:
        pod_hash = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(5))
        replica_set = f"{DEPLOYMENT}-{pod_hash}"
        return ControllerIdentity(NAMESPACE, f"{replica_set}-{suffix}", replica_set, DEPLOYMENT)

    @property
    def pod_hash(self) -> str:
        return self.replica_set.removeprefix(f"{self.deployment}-")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(kind: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": stored["metadata"]["name"],
        "uid": stored["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _one_replica(container: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """A workload's spec: one replica of `container`, selected by its labels."""
    return {
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
    }


def create_controller_workload(store: Store, identity: ControllerIdentity) -> None:
    """The namespace, Deployment, ReplicaSet and Pod, each owned by the one before."""
    labels = dict(LABELS)
    pod_labels = {**labels, "pod-template-hash": identity.pod_hash}
    container = {"name": "nginx-ingress", "image": "nginx-ingress-py:dev", "args": ["run"]}
    namespaces = store.resources.find("namespaces")
    if store.find(namespaces, "", identity.namespace) is None:  # a manifest may define it
        seed_objects(
            store,
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": identity.namespace}}],
        )
    (deployment,) = seed_objects(
        store,
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": identity.deployment,
                    "namespace": identity.namespace,
                    "labels": labels,
                },
                "spec": _one_replica(container, labels),
                "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
            }
        ],
    ).objects
    (replica_set,) = seed_objects(
        store,
        [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": identity.replica_set,
                    "namespace": identity.namespace,
                    "labels": pod_labels,
                    "ownerReferences": [_owner("Deployment", deployment.obj)],
                },
                "spec": _one_replica(container, pod_labels),
                "status": {"replicas": 1, "readyReplicas": 1},
            }
        ],
    ).objects
    seed_objects(
        store,
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": identity.pod,
                    "namespace": identity.namespace,
                    "labels": pod_labels,
                    "ownerReferences": [_owner("ReplicaSet", replica_set.obj)],
                },
                "spec": {"containers": [container]},
                # The node's address is what the controller reports in Ingress status.
                "status": {
                    "phase": "Running",
                    "podIP": "127.0.0.1",
                    "hostIP": "127.0.0.1",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    # What kubectl's READY column counts: 1/1, as for a running pod.
                    "containerStatuses": [
                        {
                            "name": container["name"],
                            "image": container["image"],
                            "imageID": "",
                            "ready": True,
                            "started": True,
                            "restartCount": 0,
                            "state": {"running": {"startedAt": _now()}},
                        }
                    ],
                },
            }
        ],
    )


def ensure_ingress_class(store: Store) -> bool:
    """Create the IngressClass `nginx` unless it exists (a manifest's wins); True if created."""
    resource = store.resources.find("ingressclasses")
    if store.find(resource, "", INGRESS_CLASS) is not None:
        return False
    seed_objects(
        store,
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": INGRESS_CLASS},
                "spec": {"controller": CONTROLLER_NAME},
            }
        ],
    )
    return True
