"""Seeding: objects from manifest files (or Python dicts) into the store, before or while
the server runs, as a test hook and for `nginx-ingress dev-api --seed`.

Seeding is forgiving where a fresh cluster would be in the way, and strict where a
silent guess would mislead:

- A namespaced object whose Namespace does not exist gets it created (and reported),
  as a folder applied with its Namespace manifest would; example folders such as
  `examples/` carry no Namespace objects, and a development server that refuses them
  helps nobody.
- The same object defined twice (same kind, namespace and name) is reported with both
  sources; the last definition wins, as it would with `kubectl apply` of the folder.
- Anything that cannot be seeded (unreadable file, bad YAML, an unserved kind, no name,
  an invalid name) is a `SeedError` whose one-line message names the file, the YAML
  document and, for syntax errors, the line.

Files are read by `loading.read_manifests` (the product's manifest loader, with a
fast path for JSON), so messages match `nginx-ingress validate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_ingress.manifests import ManifestError
from nginx_ingress_dev.devcluster.errors import ApiError
from nginx_ingress_dev.devcluster.loading import read_manifests
from nginx_ingress_dev.devcluster.patch import deep_copy
from nginx_ingress_dev.devcluster.resources import ResourceTable, ResourceType
from nginx_ingress_dev.devcluster.store import Store
from nginx_ingress_dev.devcluster.watch import StoredObject


class SeedError(ValueError):
    """Objects that cannot be seeded; the message is one line naming the source."""


def reference(resource: ResourceType, namespace: str, name: str) -> str:
    """`Kind namespace/name` (`Kind name` for cluster-scoped kinds)."""
    where = f"{namespace}/{name}" if resource.namespaced else name
    return f"{resource.kind} {where}"


@dataclass(frozen=True)
class SeedEntry:
    """One object to seed, with where it came from (`file: document N`)."""

    source: str
    obj: Mapping[str, Any]
    resource: ResourceType
    namespace: str
    name: str
    """Empty with `metadata.generateName` (a new object every time)."""

    @property
    def reference(self) -> str:
        return reference(self.resource, self.namespace, self.name)


@dataclass(frozen=True)
class Duplicate:
    """An object defined more than once; the last source wins."""

    reference: str
    sources: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"{self.reference} is defined {len(self.sources)} times "
            f"({', '.join(self.sources)}); the last one wins"
        )


@dataclass(frozen=True)
class SeedPlan:
    """What to seed, in order: Namespaces first, each object once."""

    entries: tuple[SeedEntry, ...]
    duplicates: tuple[Duplicate, ...]
    documents: int
    """Objects read, duplicates included."""


@dataclass(frozen=True)
class SeedReport:
    objects: tuple[StoredObject, ...]
    created_namespaces: tuple[str, ...]
    duplicates: tuple[Duplicate, ...]

    def summary(self, what: str) -> str:
        count = len(self.objects)
        line = f"seeded {count} object{'' if count == 1 else 's'} from {what}"
        if self.created_namespaces:
            line += f", creating namespace {', '.join(self.created_namespaces)} for them"
        return line

    def warnings(self) -> list[str]:
        return [duplicate.describe() for duplicate in self.duplicates]


# --- planning ----------------------------------------------------------------------------


def _entry(table: ResourceTable, source: str, obj: Mapping[str, Any]) -> SeedEntry:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise SeedError(f"{source}: not a Kubernetes object (no apiVersion and kind)")
    resource = table.by_kind(api_version, kind)
    if resource is None:
        raise SeedError(
            f"{source}: {api_version} {kind} is not served by the development API server "
            "(see docs/devcluster.md for the served kinds)"
        )
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        raise SeedError(f"{source}: {kind} has no metadata")
    name = metadata.get("name") or ""
    if not isinstance(name, str) or not (name or metadata.get("generateName")):
        raise SeedError(f"{source}: {kind} has no metadata.name")
    namespace = metadata.get("namespace") or ("default" if resource.namespaced else "")
    if not isinstance(namespace, str):
        raise SeedError(f"{source}: {kind} {name}: metadata.namespace is not a string")
    return SeedEntry(source, obj, resource, namespace if resource.namespaced else "", name)


def plan(table: ResourceTable, sources: Sequence[tuple[str, Mapping[str, Any]]]) -> SeedPlan:
    """Check every object, collapse duplicates (last wins) and put Namespaces first."""
    entries = [_entry(table, source, obj) for source, obj in sources]
    latest: dict[tuple[str, str, str], SeedEntry] = {}
    seen_sources: dict[tuple[str, str, str], list[str]] = {}
    unnamed: list[SeedEntry] = []
    for entry in entries:
        if not entry.name:
            unnamed.append(entry)
            continue
        key = (entry.resource.key, entry.namespace, entry.name)
        latest.pop(key, None)  # re-insert: the object takes the place of its last definition
        latest[key] = entry
        seen_sources.setdefault(key, []).append(entry.source)
    duplicates = tuple(
        Duplicate(latest[key].reference, tuple(found))
        for key, found in seen_sources.items()
        if len(found) > 1
    )
    ordered = sorted(
        [*latest.values(), *unnamed], key=lambda entry: entry.resource.kind != "Namespace"
    )
    return SeedPlan(tuple(ordered), duplicates, len(entries))


# --- applying ----------------------------------------------------------------------------


def _create_or_replace(store: Store, entry: SeedEntry) -> StoredObject:
    """Create, or replace if present, keeping `status` (seeding is not a client write)."""
    resource, obj = entry.resource, entry.obj
    existing = store.find(resource, entry.namespace, entry.name) if entry.name else None
    if existing is None:
        return store.create(resource, entry.namespace, obj, keep_status=True)
    body = deep_copy(dict(obj))
    body.setdefault("metadata", {}).pop("resourceVersion", None)
    stored = store.update(resource, entry.namespace, existing.name, body)
    if resource.has_status and "status" in obj:
        stored = store.update(
            resource,
            entry.namespace,
            existing.name,
            {**body, "status": obj["status"]},
            subresource="status",
        )
    return stored


def apply(store: Store, seed_plan: SeedPlan) -> SeedReport:
    """Seed the plan's objects, creating the Namespaces they need that do not exist."""
    namespaces = store.resources.by_path("", "v1", "namespaces")
    if namespaces is None:
        raise SeedError("the resource table has no core/v1 namespaces")
    planned = {e.name for e in seed_plan.entries if e.resource is namespaces}
    created: list[str] = []
    stored: list[StoredObject] = []
    for entry in seed_plan.entries:
        try:
            namespace = entry.namespace
            if (
                entry.resource.namespaced
                and namespace not in planned
                and store.find(namespaces, "", namespace) is None
            ):
                store.create(namespaces, "", {"metadata": {"name": namespace}})
                created.append(namespace)
            stored.append(_create_or_replace(store, entry))
        except ApiError as error:
            raise SeedError(f"{entry.source}: {entry.reference}: {error.message}") from None
    return SeedReport(tuple(stored), tuple(created), seed_plan.duplicates)


def seed_objects(store: Store, objects: Iterable[Mapping[str, Any]]) -> SeedReport:
    """Seed Python dicts (sources are `object N`, 1-based)."""
    sources = [(f"object {number}", obj) for number, obj in enumerate(objects, start=1)]
    return apply(store, plan(store.resources, sources))


def seed_paths(store: Store, paths: Iterable[str | Path]) -> SeedReport:
    """Seed the objects of YAML/JSON files and directories of them."""
    try:
        manifests = read_manifests(paths)
    except ManifestError as error:
        raise SeedError(str(error)) from None
    sources = [
        (f"{manifest.source}: document {manifest.document}", manifest.object)
        for manifest in manifests
    ]
    return apply(store, plan(store.resources, sources))
