"""The folder of manifests, kept equal to the API as a user edits it.

Each file's objects are read with the product's manifest loader (several YAML
documents, JSON, `List` kinds; errors name the file and the line). The folder's
desired state is every file's objects, later files winning on a duplicate (as
`kubectl apply -f DIR` would). An update compares the desired state before and
after the files that changed and turns the difference into API writes: a new
object is created, a changed one replaced, one no file defines any more deleted.
A file that cannot be read keeps its last good objects, so a half-typed edit
never takes anything down. Objects the folder never defined (a `kubectl apply`,
the stand-ins) are never touched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_ingress.manifests import MANIFEST_SUFFIXES, ManifestError, load_file
from nginx_ingress_dev.devcluster.errors import ApiError, NotFound
from nginx_ingress_dev.devcluster.resources import ResourceType
from nginx_ingress_dev.devcluster.seeding import SeedError, apply, plan, reference
from nginx_ingress_dev.devcluster.store import Store


def manifest_paths(root: Path) -> list[Path]:
    """The paths of the folder (or the file itself) that name manifests if they are files,
    which is left to the caller to check; hidden files and directories (editors' swap and
    lock files) are left out."""
    if root.is_file():
        return [root]
    return [
        path
        for path in root.rglob("*")
        if path.suffix in MANIFEST_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def manifest_files(root: Path) -> list[Path]:
    """The manifest files of the folder (or the file itself), sorted."""
    return sorted(path for path in manifest_paths(root) if path.is_file())


@dataclass(frozen=True)
class ObjectKey:
    resource: ResourceType
    namespace: str
    name: str

    def describe(self) -> str:
        """`Ingress cafe/cafe`, `IngressClass nginx`."""
        return reference(self.resource, self.namespace, self.name)


@dataclass(frozen=True)
class Defined:
    """One object as a file defines it."""

    path: Path
    position: int
    """Its place in the file (objects are created in the order they are written)."""
    source: str
    """`path: document N`, for messages."""
    obj: Mapping[str, Any]


@dataclass(frozen=True)
class FileReport:
    """What an update did for one file, as lines to show."""

    path: Path
    actions: tuple[str, ...] = ()
    """`created Service cafe/tea`, … in the order they were done."""
    problems: tuple[str, ...] = ()
    """One line each: a file that does not parse, an object the API refused."""


class FolderSync:
    """Not thread-safe: one thread (the watcher) calls `update`."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self._store = store
        self._files: dict[Path, dict[ObjectKey, Defined]] = {}

    def update(self, paths: Iterable[Path]) -> list[FileReport]:
        """Read `paths` again (a missing one was removed) and apply the difference."""
        before = self._desired()
        problems: dict[Path, list[str]] = {}
        for path in sorted(set(paths)):
            if not path.exists():
                self._files.pop(path, None)
                continue
            try:
                objects, skipped = self._read(path)
            except ManifestError as error:
                old = (
                    "its objects stay as they were"
                    if path in self._files
                    else "nothing applied from it"
                )
                problems[path] = [f"{error}; {old}"]
                continue
            self._files[path] = objects
            if skipped:
                problems[path] = skipped
        actions = self._apply(before, self._desired(), problems)
        return [
            FileReport(path, tuple(actions.get(path, ())), tuple(problems.get(path, ())))
            for path in sorted({*actions, *problems})
        ]

    def _read(self, path: Path) -> tuple[dict[ObjectKey, Defined], list[str]]:
        """The objects of one file, and one line per object left out (and why)."""
        objects: dict[ObjectKey, Defined] = {}
        skipped: list[str] = []
        for position, manifest in enumerate(load_file(path)):
            source = f"{path}: document {manifest.document}"
            try:
                (entry,) = plan(self._store.resources, [(source, manifest.object)]).entries
            except SeedError as error:
                skipped.append(f"{error}; skipped")
                continue
            if not entry.name:
                skipped.append(
                    f"{source}: {entry.resource.kind} has generateName but no metadata.name: "
                    "an object of the folder needs a name to be replaced or deleted; skipped"
                )
                continue
            key = ObjectKey(entry.resource, entry.namespace, entry.name)
            objects[key] = Defined(path, position, source, manifest.object)
        return objects, skipped

    def _desired(self) -> dict[ObjectKey, Defined]:
        desired: dict[ObjectKey, Defined] = {}
        for path in sorted(self._files):
            desired.update(self._files[path])
        return desired

    def _apply(
        self,
        before: Mapping[ObjectKey, Defined],
        after: Mapping[ObjectKey, Defined],
        problems: dict[Path, list[str]],
    ) -> dict[Path, list[str]]:
        actions: dict[Path, list[str]] = {}
        # Deletions first: a renamed object gives its host to the new name at once.
        for key in sorted(before.keys() - after.keys(), key=_deletion_order):
            path = before[key].path
            try:
                self._store.delete(key.resource, key.namespace, key.name)
            except NotFound:
                pass
            except ApiError as error:
                problems.setdefault(path, []).append(f"{key.describe()}: {error.message}")
                continue
            actions.setdefault(path, []).append(f"deleted {key.describe()}")
        for key in sorted(after, key=lambda k: _creation_order(k, after[k])):
            defined = after[key]
            previous = before.get(key)
            if previous is not None and previous.obj == defined.obj:
                continue
            existed = self._store.find(key.resource, key.namespace, key.name) is not None
            try:
                seeded = apply(
                    self._store,
                    plan(self._store.resources, [(defined.source, copy.deepcopy(defined.obj))]),
                )
            except SeedError as error:
                problems.setdefault(defined.path, []).append(str(error))
                continue
            done = actions.setdefault(defined.path, [])
            done.extend(f"created Namespace {name} for it" for name in seeded.created_namespaces)
            done.append(f"{'replaced' if existed else 'created'} {key.describe()}")
        return actions


def _creation_order(key: ObjectKey, defined: Defined) -> tuple[bool, Path, int]:
    """Namespaces first, so the objects in them find them; then as the files list them."""
    return (key.resource.kind != "Namespace", defined.path, defined.position)


def _deletion_order(key: ObjectKey) -> tuple[bool, str, str, str]:
    """Namespaces last: deleting one deletes everything in it."""
    return (key.resource.kind == "Namespace", key.resource.kind, key.namespace, key.name)
