"""A local API server ready for the chart: the kinds it installs, an administrator token for
Helm, a ServiceAccount token for the controller, and RBAC read live from the Roles,
ClusterRoles and bindings Helm stored, as a real API server enforces them.

There is no controller-manager here: `start_pods` creates what the Deployment, DaemonSet or
StatefulSet controller would (a ReplicaSet, pods with the owner chain and hash labels).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nginx_ingress_dev.devcluster import (
    RESOURCES,
    DevCluster,
    RbacAuthorizer,
    ResourceTable,
    ResourceType,
    TlsConfig,
    UserInfo,
)
from nginx_ingress_dev.devcluster.authz import RequestAttributes

ADMIN_TOKEN = "helm-admin-token"
CONTROLLER_TOKEN = "controller-service-account-token"
RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")

CHART_RESOURCES = ResourceTable(
    (
        *RESOURCES,
        ResourceType("", "v1", "ServiceAccount", "serviceaccounts", namespaced=True,
                     short_names=("sa",)),
        *(
            ResourceType("rbac.authorization.k8s.io", "v1", kind, f"{kind.lower()}s",
                         namespaced=not kind.startswith("Cluster"))
            for kind in RBAC_KINDS
        ),
        ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
                     namespaced=True, has_spec=True, short_names=("netpol",)),
        ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
                     namespaced=True, has_spec=True, has_status=True, short_names=("pdb",)),
        ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                     namespaced=True, has_spec=True, has_status=True, short_names=("hpa",)),
        # cert-manager's, for the zone-sync Certificate (its CRD would be installed with it).
        ResourceType("cert-manager.io", "v1", "Certificate", "certificates", namespaced=True,
                     has_spec=True, has_status=True, short_names=("cert",)),
    )
)  # fmt: skip
"""The development server's kinds plus those only the chart creates."""


@dataclass(frozen=True)
class LiveRbac(RbacAuthorizer):
    """RBAC from the objects stored at the moment of each request, so what Helm installs,
    upgrades or uninstalls is what is enforced."""

    source: Callable[[], Iterable[Mapping[str, Any]]] = field(default=lambda: ())

    def allows(self, user: UserInfo, request: RequestAttributes) -> bool:
        return RbacAuthorizer.from_manifests(self.source()).allows(user, request)


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def server_certificate(directory: Path) -> TlsConfig:
    """A self-signed certificate for 127.0.0.1: Helm's client (client-go) sends a bearer
    token only over HTTPS, as the controller's pod does with its ServiceAccount token."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", "server.key", "-out", "server.crt",
        ],
        cwd=directory, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return TlsConfig(directory / "server.crt", directory / "server.key")


@contextmanager
def chart_cluster(namespace: str, service_account: str, directory: Path) -> Iterator[DevCluster]:
    """A running HTTPS server (certificate in `directory`) with the namespace created; Helm
    authenticates with ADMIN_TOKEN, the controller with CONTROLLER_TOKEN as the chart's
    ServiceAccount."""
    cluster = DevCluster(
        resources=CHART_RESOURCES,
        tls=server_certificate(directory),
        tokens={
            ADMIN_TOKEN: UserInfo("helm", ("system:masters", "system:authenticated")),
            CONTROLLER_TOKEN: UserInfo(
                service_account_user(namespace, service_account),
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
            ),
        },
    )

    def stored_rbac() -> list[dict[str, Any]]:
        return [obj for kind in RBAC_KINDS for obj in cluster.objects(kind)]

    cluster.api.authorizer = LiveRbac({}, (), stored_rbac)
    with cluster:
        cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}])
        yield cluster


def owner_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def start_pods(cluster: DevCluster, workload: Mapping[str, Any], count: int) -> list[str]:
    """Create `count` pods of `workload` the way its controller would; returns their names."""
    kind = workload["kind"]
    namespace = workload["metadata"]["namespace"]
    name = workload["metadata"]["name"]
    template = workload["spec"]["template"]
    labels = dict(template["metadata"]["labels"])
    owner = owner_reference(workload)
    if kind == "Deployment":
        pod_hash = "5d8f7c9b4"
        labels["pod-template-hash"] = pod_hash
        (replica_set,) = cluster.seed(
            [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{pod_hash}",
                        "namespace": namespace,
                        "labels": labels,
                        "ownerReferences": [owner],
                    },
                    "spec": {
                        "selector": {
                            "matchLabels": {
                                **workload["spec"]["selector"]["matchLabels"],
                                "pod-template-hash": pod_hash,
                            }
                        },
                        "template": {**template, "metadata": {"labels": labels}},
                    },
                }
            ]
        )
        owner = owner_reference(replica_set)
        names = [f"{name}-{pod_hash}-{suffix}" for suffix in ("x7k2p", "m4q9z", "b8n3r")[:count]]
    elif kind == "DaemonSet":
        labels["controller-revision-hash"] = "6b9c8d7f5"
        names = [f"{name}-{suffix}" for suffix in ("h2j4k", "p9w3e", "t5r7y")[:count]]
    else:
        labels["controller-revision-hash"] = f"{name}-6b9c8d7f5"
        names = [f"{name}-{index}" for index in range(count)]
    pods = []
    for index, pod_name in enumerate(names):
        pod_labels = dict(labels)
        if kind == "StatefulSet":
            pod_labels["statefulset.kubernetes.io/pod-name"] = pod_name
            pod_labels["apps.kubernetes.io/pod-index"] = str(index)
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": namespace,
                    "labels": pod_labels,
                    "ownerReferences": [owner],
                },
                "spec": template["spec"],
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
    cluster.seed(pods)
    return names


def stored_objects(cluster: DevCluster, *, except_kinds: Iterable[str] = ("Event",)) -> set[str]:
    """Every stored object as `kind namespace/name`, to compare before and after."""
    skipped = set(except_kinds)
    found = set()
    for resource in cluster.store.resources.resources:
        if resource.kind in skipped or resource.kind == "Namespace":
            continue
        for obj in cluster.objects(resource.plural, api_version=resource.api_version):
            metadata = obj["metadata"]
            found.add(f"{resource.kind} {metadata.get('namespace', '')}/{metadata['name']}")
    return found
