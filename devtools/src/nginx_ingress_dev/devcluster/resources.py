"""The resource table: every kind the development API server serves, one line each.

Everything else (routing, discovery documents, generation tracking, the status
subresource, field selectors) is derived from these rows, so serving another
kind is a matter of adding a row here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FieldLabels = tuple[tuple[str, tuple[str, ...]], ...]
"""Field-selector labels a kind supports beyond `metadata.name`/`metadata.namespace`,
as (label, path into the object)."""

_VERBS_NAMESPACED_OR_CLUSTER = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and what it has."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    has_status: bool = False
    has_spec: bool = False
    """Objects carry a `spec`; `metadata.generation` tracks changes to it. Kinds without
    one (ConfigMap, Secret, Event, EndpointSlice) get no generation at all."""
    short_names: tuple[str, ...] = ()
    field_labels: FieldLabels = ()
    returns_deleted_object: bool = False
    """DELETE answers with the deleted object instead of a `Status` (Pods, Services),
    as the official client's generated return types expect."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`ingresses.networking.k8s.io` or `configmaps`, as error messages spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def key(self) -> str:
        """A unique, stable identifier used as the store's index key."""
        return f"{self.group}/{self.version}/{self.plural}"

    @property
    def verbs(self) -> tuple[str, ...]:
        return _VERBS_NAMESPACED_OR_CLUSTER

    def field_paths(self) -> dict[str, tuple[str, ...]]:
        """Every supported field-selector label mapped to its path in the object."""
        paths: dict[str, tuple[str, ...]] = {"metadata.name": ("metadata", "name")}
        if self.namespaced:
            paths["metadata.namespace"] = ("metadata", "namespace")
        paths.update(dict(self.field_labels))
        return paths


def _dotted(*labels: str) -> FieldLabels:
    return tuple((label, tuple(label.split("."))) for label in labels)


_CORE_EVENT_FIELDS: FieldLabels = (
    *_dotted(
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "type",
    ),
    ("source", ("source", "component")),
)

_EVENTS_V1_FIELDS: FieldLabels = (
    *_dotted(
        "regarding.kind",
        "regarding.namespace",
        "regarding.name",
        "regarding.uid",
        "regarding.apiVersion",
        "regarding.resourceVersion",
        "regarding.fieldPath",
        "reason",
        "reportingController",
        "type",
    ),
    # The server converts between the two Event APIs, so the core spellings work too.
    *(
        (f"involvedObject.{name}", ("regarding", name))
        for name in ("kind", "namespace", "name", "uid", "apiVersion", "fieldPath")
    ),
)

_POD_FIELDS = _dotted(
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
)

RESOURCES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", "v1", "Namespace", "namespaces", namespaced=False, has_status=True,
                 has_spec=True, short_names=("ns",), field_labels=_dotted("status.phase")),
    ResourceType("", "v1", "ConfigMap", "configmaps", namespaced=True, short_names=("cm",)),
    ResourceType("", "v1", "Secret", "secrets", namespaced=True, field_labels=_dotted("type")),
    ResourceType("", "v1", "Service", "services", namespaced=True, has_status=True,
                 has_spec=True, short_names=("svc",), returns_deleted_object=True),
    ResourceType("", "v1", "Pod", "pods", namespaced=True, has_status=True, has_spec=True,
                 short_names=("po",), field_labels=_POD_FIELDS, returns_deleted_object=True),
    ResourceType("", "v1", "Event", "events", namespaced=True, short_names=("ev",),
                 field_labels=_CORE_EVENT_FIELDS),
    # apps/v1
    ResourceType("apps", "v1", "Deployment", "deployments", namespaced=True, has_status=True,
                 has_spec=True, short_names=("deploy",)),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", namespaced=True, has_status=True,
                 has_spec=True, short_names=("rs",)),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", namespaced=True, has_status=True,
                 has_spec=True, short_names=("ds",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", namespaced=True, has_status=True,
                 has_spec=True, short_names=("sts",)),
    # networking.k8s.io/v1
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", namespaced=True,
                 has_status=True, has_spec=True, short_names=("ing",)),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False,
                 has_spec=True),
    # discovery.k8s.io/v1
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", namespaced=True),
    # coordination.k8s.io/v1
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", namespaced=True, has_spec=True),
    # events.k8s.io/v1
    ResourceType("events.k8s.io", "v1", "Event", "events", namespaced=True, short_names=("ev",),
                 field_labels=_EVENTS_V1_FIELDS),
)  # fmt: skip


@dataclass(frozen=True)
class GroupVersion:
    group: str
    version: str

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class ResourceTable:
    """Lookups over a set of `ResourceType` rows."""

    resources: tuple[ResourceType, ...] = RESOURCES
    _by_path: Mapping[tuple[str, str, str], ResourceType] = field(init=False, repr=False)
    _by_kind: Mapping[tuple[str, str], ResourceType] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_path = {(r.group, r.version, r.plural): r for r in self.resources}
        by_kind = {(r.api_version, r.kind): r for r in self.resources}
        if len(by_path) != len(self.resources) or len(by_kind) != len(self.resources):
            raise ValueError("duplicate resource in the resource table")
        object.__setattr__(self, "_by_path", by_path)
        object.__setattr__(self, "_by_kind", by_kind)

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((api_version, kind))

    def find(self, name: str, api_version: str | None = None) -> ResourceType:
        """A resource named by kind, plural, short name or `plural.group` (test hooks).

        `Event` exists in two groups; pass `api_version` (or `events.events.k8s.io`)
        to choose, otherwise the core one is taken, as kubectl does.
        """
        for resource in self.resources:
            if api_version is not None and resource.api_version != api_version:
                continue
            if name in (resource.kind, resource.plural, resource.group_resource, resource.singular):
                return resource
            if name in resource.short_names:
                return resource
        raise KeyError(f"no resource {name!r}" + (f" in {api_version}" if api_version else ""))

    def for_object(self, obj: Mapping[str, Any]) -> ResourceType:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            raise KeyError("object has no apiVersion/kind")
        resource = self.by_kind(api_version, kind)
        if resource is None:
            raise KeyError(f"{api_version} {kind} is not served")
        return resource

    def group_versions(self) -> list[GroupVersion]:
        """Served group/versions in table order, core first."""
        seen: dict[tuple[str, str], GroupVersion] = {}
        for resource in self.resources:
            seen.setdefault(
                (resource.group, resource.version), GroupVersion(resource.group, resource.version)
            )
        return list(seen.values())

    def in_group_version(self, group: str, version: str) -> Iterable[ResourceType]:
        return (r for r in self.resources if r.group == group and r.version == version)


DEFAULT_RESOURCES = ResourceTable()
