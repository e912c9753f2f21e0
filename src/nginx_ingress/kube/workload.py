"""The controller's own workload: found from its Pod through the owner chain.

The headless Service must select exactly the controller's replicas, across
rollouts: the workload's `spec.selector.matchLabels` does (and a Deployment's
never holds `pod-template-hash`). NIC 5.0 copied the pod's labels, hash included,
and every upgrade left the Service selecting no pods (NIC issue 7864).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from nginx_ingress.kube.api import PODS, REPLICASETS, WORKLOADS, KubeApi, NotFound, Object

# Labels Kubernetes sets per pod or per revision: never part of a stable selector.
VOLATILE_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
    }
)


@dataclass(frozen=True, slots=True)
class Workload:
    """The Deployment, DaemonSet or StatefulSet (or bare ReplicaSet) that runs the controller."""

    api_version: str
    kind: str
    name: str
    uid: str
    match_labels: Mapping[str, str] | None
    """None when the selector uses matchExpressions, which a Service cannot express."""

    def owner_reference(self) -> dict[str, object]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
        }


def controller_of(obj: Object) -> Mapping[str, str] | None:
    references = obj.get("metadata", {}).get("ownerReferences") or []
    for reference in references:
        if reference.get("controller"):
            return reference  # type: ignore[no-any-return]
    return references[0] if references else None


def find_workload(api: KubeApi, pod: Object) -> Workload | None:
    """Walk Pod → ReplicaSet → Deployment (or Pod → DaemonSet/StatefulSet); None if unknown."""
    namespace = pod["metadata"]["namespace"]
    owner = controller_of(pod)
    if owner is None or owner.get("kind") not in WORKLOADS:
        return None
    workload = api.get(WORKLOADS[owner["kind"]], owner["name"], namespace)
    if owner["kind"] == REPLICASETS.kind:
        parent = controller_of(workload)
        if parent is not None and parent.get("kind") == "Deployment":
            # An orphaned ReplicaSet (its Deployment gone) still selects the pods.
            with contextlib.suppress(NotFound):
                workload = api.get(WORKLOADS["Deployment"], parent["name"], namespace)
    return workload_of(workload)


def workload_of(obj: Object) -> Workload:
    selector = obj.get("spec", {}).get("selector") or {}
    labels = selector.get("matchLabels")
    usable = labels if labels and not selector.get("matchExpressions") else None
    return Workload(
        api_version=obj.get("apiVersion", "apps/v1"),
        kind=obj.get("kind", ""),
        name=obj["metadata"]["name"],
        uid=obj["metadata"]["uid"],
        match_labels={k: v for k, v in usable.items() if k not in VOLATILE_LABELS}
        if usable
        else None,
    )


def selector_for(
    pod: Object | None, workload: Workload | None, override: Mapping[str, str] | None
) -> dict[str, str]:
    """The headless Service's selector: the override, else the workload's matchLabels, else
    the pod's own labels without the per-pod and per-revision ones."""
    if override:
        return dict(override)
    if workload is not None and workload.match_labels:
        return dict(workload.match_labels)
    labels = (pod or {}).get("metadata", {}).get("labels") or {}
    return {k: v for k, v in labels.items() if k not in VOLATILE_LABELS}


def read_pod(api: KubeApi, namespace: str, name: str) -> Object:
    return api.get(PODS, name, namespace)
