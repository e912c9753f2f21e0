"""The object store: objects indexed by (resource, namespace), one global
resourceVersion, a bounded change history for watches, finalizers and ownerReference
garbage collection.

One re-entrant lock guards everything here. Every operation holds it only for
dictionary and sorted-list work on already-decoded objects; JSON encoding of
responses and selector matching of watch events happen outside it. Stored objects
are never mutated: a change builds a new dict (from a deep copy) and replaces the old
version, so readers may hand out stored dicts and bytes without copying.

Cost per request does not depend on how many objects are stored: lookups are dict
lookups, and a list page is found with `bisect` in the sorted key list of its
(resource, namespace) index (the continue token carries the last key returned).
"""

from __future__ import annotations

import base64
import bisect
import logging
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from nginx_ingress_dev.devcluster.defaults import ClusterIPAllocator, apply_create_defaults
from nginx_ingress_dev.devcluster.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Expired,
    Invalid,
    NotFound,
)
from nginx_ingress_dev.devcluster.patch import deep_copy
from nginx_ingress_dev.devcluster.resources import DEFAULT_RESOURCES, ResourceTable, ResourceType
from nginx_ingress_dev.devcluster.selectors import EVERYTHING, ObjectFilter
from nginx_ingress_dev.devcluster.watch import (
    ADDED,
    DELETED,
    MODIFIED,
    ChangeEvent,
    StoredObject,
    Watcher,
)

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's: no vowels, no 0/1/3
_SERVER_METADATA = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields")
_NOT_SPEC = frozenset({"apiVersion", "kind", "metadata", "status"})
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ObjectRef:
    resource_key: str
    namespace: str
    name: str


@dataclass(frozen=True)
class ListPage:
    items: list[StoredObject]
    resource_version: int
    continue_token: str | None
    remaining: int | None


@dataclass(frozen=True)
class WatchStart:
    """What a new watch sends before live events: synthetic ADDEDs or replayed history."""

    watcher: Watcher
    initial: list[StoredObject]
    replay: list[ChangeEvent]
    resource_version: int


@dataclass(frozen=True)
class DeleteResult:
    obj: StoredObject
    removed: bool
    """False when finalizers keep the object (it only got a deletionTimestamp)."""


@dataclass
class _Index:
    """The objects of one resource in one namespace (or all of a resource)."""

    objects: dict[str, StoredObject] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def put(self, key: str, stored: StoredObject) -> None:
        if key not in self.objects:
            bisect.insort(self.keys, key)
        self.objects[key] = stored

    def remove(self, key: str) -> None:
        if self.objects.pop(key, None) is not None:
            position = bisect.bisect_left(self.keys, key)
            del self.keys[position]


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in _NOT_SPEC}


def encode_continue(resource_version: int, last_key: str) -> str:
    payload = orjson.dumps({"rv": resource_version, "start": last_key})
    return base64.urlsafe_b64encode(payload).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return int(payload["rv"]), str(payload["start"])
    except (ValueError, KeyError, TypeError) as error:
        raise BadRequest(f"invalid continue token: {error}") from None


class Store:
    """All objects of the development API server, with their change history."""

    def __init__(
        self,
        resources: ResourceTable = DEFAULT_RESOURCES,
        *,
        history_limit: int = 10_000,
        watch_queue_size: int = 1_000,
        namespaces: Iterable[str] = DEFAULT_NAMESPACES,
    ) -> None:
        self.resources = resources
        self._lock = threading.RLock()
        self._resource_version = 0
        self._compacted_version = 0
        self._history: deque[ChangeEvent] = deque()
        self._history_limit = history_limit
        self._watch_queue_size = watch_queue_size
        self._all: dict[str, _Index] = {r.key: _Index() for r in resources.resources}
        self._by_namespace: dict[tuple[str, str], _Index] = {}
        self._refs_by_uid: dict[str, ObjectRef] = {}
        self._dependents: dict[str, set[ObjectRef]] = {}
        self._watchers: dict[str, set[Watcher]] = {r.key: set() for r in resources.resources}
        self._watchers_changed = threading.Condition(self._lock)
        self._allocator = ClusterIPAllocator()
        self._namespace_resource = resources.by_path("", "v1", "namespaces")
        for namespace in namespaces:
            self.create(self._require_namespace_resource(), "", {"metadata": {"name": namespace}})

    # --- reading ---------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._resource_version

    def _require_namespace_resource(self) -> ResourceType:
        if self._namespace_resource is None:
            raise RuntimeError("the resource table has no core/v1 namespaces")
        return self._namespace_resource

    @staticmethod
    def _key(namespace: str, name: str) -> str:
        return f"{namespace}/{name}"

    def _lookup(self, resource: ResourceType, namespace: str, name: str) -> StoredObject | None:
        return self._all[resource.key].objects.get(self._key(namespace, name))

    def get(self, resource: ResourceType, namespace: str, name: str) -> StoredObject:
        with self._lock:
            stored = self._lookup(resource, namespace, name)
        if stored is None:
            raise self._not_found(resource, name)
        return stored

    def find(self, resource: ResourceType, namespace: str, name: str) -> StoredObject | None:
        with self._lock:
            return self._lookup(resource, namespace, name)

    def snapshot(self, resource: ResourceType, namespace: str | None) -> list[StoredObject]:
        with self._lock:
            index = self._index(resource, namespace)
            return [index.objects[key] for key in index.keys]

    def _index(self, resource: ResourceType, namespace: str | None) -> _Index:
        if namespace is None or not resource.namespaced:
            return self._all[resource.key]
        return self._by_namespace.get((resource.key, namespace)) or _Index()

    def list(
        self,
        resource: ResourceType,
        namespace: str | None,
        object_filter: ObjectFilter = EVERYTHING,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        """One page of a list; the work done is proportional to the page (plus skipped
        non-matching objects when a selector is given), never to the whole store."""
        with self._lock:
            list_version = self._resource_version
            start = 0
            index = self._index(resource, namespace)
            if continue_token:
                list_version, last_key = decode_continue(continue_token)
                if list_version < self._compacted_version:
                    raise Expired(
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue parameter."
                    )
                start = bisect.bisect_right(index.keys, last_key)
            keys = index.keys
            items: list[StoredObject] = []
            position = start
            everything = object_filter.selects_everything
            while position < len(keys) and (limit is None or len(items) < limit):
                stored = index.objects[keys[position]]
                if everything or object_filter.matches(stored.obj):
                    items.append(stored)
                position += 1
            more = position < len(keys) and limit is not None
            token = encode_continue(list_version, keys[position - 1]) if more else None
            remaining = len(keys) - position if more and everything else None
        return ListPage(items, list_version, token, remaining)

    # --- writing -----------------------------------------------------------------------

    def _not_found(self, resource: ResourceType, name: str) -> NotFound:
        return NotFound(
            f'{resource.group_resource} "{name}" not found',
            details={"name": name, "group": resource.group, "kind": resource.plural},
        )

    def _conflict(self, resource: ResourceType, name: str, why: str) -> Conflict:
        return Conflict(
            f'Operation cannot be fulfilled on {resource.group_resource} "{name}": {why}',
            details={"name": name, "group": resource.group, "kind": resource.plural},
        )

    def _check_body(self, resource: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest(f"the body of a {resource.kind} must be a JSON object")
        obj: dict[str, Any] = deep_copy(body)
        api_version = obj.setdefault("apiVersion", resource.api_version)
        kind = obj.setdefault("kind", resource.kind)
        if api_version != resource.api_version or kind != resource.kind:
            raise BadRequest(
                f"the object is a {api_version} {kind}, "
                f"expected {resource.api_version} {resource.kind}"
            )
        metadata = obj.get("metadata")
        if metadata is None:
            metadata = obj["metadata"] = {}
        if not isinstance(metadata, dict):
            raise BadRequest("metadata must be an object")
        return obj

    def _settle_namespace(
        self, resource: ResourceType, namespace: str, metadata: dict[str, Any]
    ) -> str:
        if not resource.namespaced:
            metadata.pop("namespace", None)
            return ""
        body_namespace = metadata.get("namespace") or ""
        if not namespace:
            namespace = body_namespace or "default"
        elif body_namespace and body_namespace != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        metadata["namespace"] = namespace
        return namespace

    def create(
        self,
        resource: ResourceType,
        namespace: str,
        body: Any,
        *,
        keep_status: bool = False,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> StoredObject:
        """POST: a new object. `keep_status` is for seeding (the API drops status on create)."""
        obj = self._check_body(resource, body)
        metadata = obj["metadata"]
        with self._lock:
            namespace = self._settle_namespace(resource, namespace, metadata)
            namespaces = self._namespace_resource
            if (
                resource.namespaced
                and namespaces is not None
                and self._lookup(namespaces, "", namespace) is None
            ):
                raise NotFound(
                    f'namespaces "{namespace}" not found',
                    details={"name": namespace, "kind": "namespaces"},
                )
            name = metadata.get("name") or ""
            if not name:
                prefix = metadata.get("generateName") or ""
                if not prefix:
                    raise Invalid(
                        f"{resource.kind}.{resource.group or 'core'} is invalid: metadata.name: "
                        "Required value: name or generateName is required",
                        details={"kind": resource.kind, "causes": [{"field": "metadata.name"}]},
                    )
                name = self._generate_name(resource, namespace, prefix)
                metadata["name"] = name
            self._validate_name(resource, name)
            if self._lookup(resource, namespace, name) is not None:
                raise AlreadyExists(
                    f'{resource.group_resource} "{name}" already exists',
                    details={"name": name, "group": resource.group, "kind": resource.plural},
                )
            for server_field in _SERVER_METADATA:
                metadata.pop(server_field, None)
            metadata.pop("deletionTimestamp", None)
            metadata.pop("deletionGracePeriodSeconds", None)
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = now_rfc3339()
            if resource.has_spec:
                metadata["generation"] = 1
            if resource.has_status and not keep_status:
                obj.pop("status", None)
            apply_create_defaults(resource, obj, self._allocator)
            if field_manager:
                self._record_manager(obj, resource, field_manager, "Update")
            if dry_run:
                metadata["resourceVersion"] = str(self._resource_version)
                return StoredObject.of(obj)
            return self._commit(resource, obj, None)

    def _generate_name(self, resource: ResourceType, namespace: str, prefix: str) -> str:
        for _ in range(16):
            suffix = "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            candidate = f"{prefix}{suffix}"
            if self._lookup(resource, namespace, candidate) is None:
                return candidate
        raise AlreadyExists(f"could not generate a unique name from {prefix!r}")

    @staticmethod
    def _validate_name(resource: ResourceType, name: str) -> None:
        if len(name) > 253 or not _NAME.fullmatch(name):
            raise Invalid(
                f'{resource.kind}.{resource.group or "core"} "{name}" is invalid: metadata.name: '
                f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower '
                "case alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
                details={
                    "name": name,
                    "kind": resource.kind,
                    "causes": [{"field": "metadata.name"}],
                },
            )

    @staticmethod
    def _record_manager(
        obj: dict[str, Any], resource: ResourceType, manager: str, operation: str
    ) -> None:
        """A managedFields entry per (manager, operation); field sets are not tracked."""
        metadata = obj["metadata"]
        entries = [
            entry
            for entry in metadata.get("managedFields") or []
            if not (entry.get("manager") == manager and entry.get("operation") == operation)
        ]
        entries.append(
            {
                "manager": manager,
                "operation": operation,
                "apiVersion": resource.api_version,
                "time": now_rfc3339(),
                "fieldsType": "FieldsV1",
                "fieldsV1": {},
            }
        )
        metadata["managedFields"] = entries

    def update(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> StoredObject:
        """PUT: replace an object; a stale `metadata.resourceVersion` is a 409 Conflict."""
        obj = self._check_body(resource, body)
        metadata = obj["metadata"]
        with self._lock:
            namespace = self._settle_namespace(resource, namespace, metadata)
            if metadata.get("name") not in (None, "", name):
                raise BadRequest(
                    f"the name of the object ({metadata.get('name')}) does not match the name "
                    f"on the URL ({name})"
                )
            metadata["name"] = name
            existing = self._lookup(resource, namespace, name)
            if existing is None:
                raise self._not_found(resource, name)
            return self._update_existing(
                resource,
                existing,
                obj,
                subresource=subresource,
                dry_run=dry_run,
                field_manager=field_manager,
                operation="Update",
            )

    def modify(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        change: Callable[[dict[str, Any] | None], dict[str, Any]],
        *,
        subresource: str | None = None,
        create_missing: bool = False,
        dry_run: bool = False,
        field_manager: str | None = None,
        operation: str = "Update",
    ) -> tuple[StoredObject, bool]:
        """PATCH: `change` computes the new object from a copy of the current one (None if
        absent and `create_missing`), atomically. Returns the result and whether it was
        created."""
        with self._lock:
            existing = self._lookup(resource, namespace, name)
            if existing is None:
                if not create_missing:
                    raise self._not_found(resource, name)
                created = change(None)
                created.setdefault("metadata", {})["name"] = name
                stored = self.create(
                    resource, namespace, created, dry_run=dry_run, field_manager=None
                )
                if field_manager and not dry_run:
                    return self._with_manager(resource, stored, field_manager, operation), True
                return stored, True
            obj = self._check_body(resource, change(deep_copy(existing.obj)))
            metadata = obj["metadata"]
            if metadata.get("name") != name:
                raise BadRequest("a patch cannot change metadata.name")
            if resource.namespaced and metadata.get("namespace") != namespace:
                raise BadRequest("a patch cannot change metadata.namespace")
            return (
                self._update_existing(
                    resource,
                    existing,
                    obj,
                    subresource=subresource,
                    dry_run=dry_run,
                    field_manager=field_manager,
                    operation=operation,
                ),
                False,
            )

    def _with_manager(
        self, resource: ResourceType, stored: StoredObject, manager: str, operation: str
    ) -> StoredObject:
        obj = deep_copy(stored.obj)
        self._record_manager(obj, resource, manager, operation)
        return self._commit(resource, obj, stored)

    def _update_existing(
        self,
        resource: ResourceType,
        existing: StoredObject,
        obj: dict[str, Any],
        *,
        subresource: str | None,
        dry_run: bool,
        field_manager: str | None,
        operation: str,
    ) -> StoredObject:
        name = existing.name
        metadata = obj["metadata"]
        sent_version = metadata.get("resourceVersion")
        if sent_version and str(sent_version) != existing.obj["metadata"]["resourceVersion"]:
            raise self._conflict(
                resource,
                name,
                "the object has been modified; please apply your changes to the latest "
                "version and try again",
            )
        old = existing.obj
        if subresource == "status":
            # API concepts (subresources): a /status write changes only .status.
            new = deep_copy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
        else:
            new = obj
            old_metadata = old["metadata"]
            for kept in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ):
                if kept in old_metadata:
                    metadata[kept] = old_metadata[kept]
                else:
                    metadata.pop(kept, None)
            if resource.has_status:
                # A write to the main resource ignores status.
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            if "deletionTimestamp" in old_metadata:
                added = set(metadata.get("finalizers") or []) - set(
                    old_metadata.get("finalizers") or []
                )
                if added:
                    raise Invalid(
                        f'{resource.kind} "{name}" is invalid: metadata.finalizers: Forbidden: no '
                        "new finalizers can be added if the object is being deleted"
                    )
        new_metadata = new["metadata"]
        new_metadata["resourceVersion"] = old["metadata"]["resourceVersion"]
        new_metadata["managedFields"] = old["metadata"].get("managedFields")
        if new_metadata["managedFields"] is None:
            new_metadata.pop("managedFields")
        if resource.has_spec:
            generation = int(old["metadata"].get("generation", 1))
            if _spec_of(new) != _spec_of(old):
                generation += 1
            new_metadata["generation"] = generation
        if new == old:
            return existing  # API concepts: a no-op update keeps the resourceVersion
        if field_manager:
            self._record_manager(new, resource, field_manager, operation)
        if dry_run:
            return StoredObject.of(new)
        if "deletionTimestamp" in new_metadata and not new_metadata.get("finalizers"):
            committed = self._commit(resource, new, existing)
            return self._remove(resource, committed)
        return self._commit(resource, new, existing)

    def delete(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        *,
        precondition_uid: str | None = None,
        precondition_resource_version: str | None = None,
        orphan: bool = False,
        dry_run: bool = False,
    ) -> DeleteResult:
        """DELETE: remove the object, or only mark it (deletionTimestamp) while it has
        finalizers. Dependents found through ownerReferences are deleted too (or orphaned)."""
        with self._lock:
            existing = self._lookup(resource, namespace, name)
            if existing is None:
                raise self._not_found(resource, name)
            metadata = existing.obj["metadata"]
            if precondition_uid and precondition_uid != metadata["uid"]:
                raise self._conflict(
                    resource,
                    name,
                    f"Precondition failed: UID in precondition: {precondition_uid}, UID in "
                    f"object meta: {metadata['uid']}",
                )
            if (
                precondition_resource_version
                and precondition_resource_version != metadata["resourceVersion"]
            ):
                raise self._conflict(
                    resource,
                    name,
                    "Precondition failed: ResourceVersion in precondition: "
                    f"{precondition_resource_version}, ResourceVersion in object meta: "
                    f"{metadata['resourceVersion']}",
                )
            if dry_run:
                return DeleteResult(existing, not metadata.get("finalizers"))
            if orphan:
                self._orphan_dependents(metadata["uid"])
            if metadata.get("finalizers"):
                if "deletionTimestamp" in metadata:
                    return DeleteResult(existing, removed=False)
                marked = deep_copy(existing.obj)
                marked["metadata"]["deletionTimestamp"] = now_rfc3339()
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                return DeleteResult(self._commit(resource, marked, existing), removed=False)
            return DeleteResult(self._remove(resource, existing), removed=True)

    def _orphan_dependents(self, owner_uid: str) -> None:
        for ref in sorted(self._dependents.get(owner_uid, ()), key=lambda r: (r.namespace, r.name)):
            dependent_resource = self._resource_by_key(ref.resource_key)
            current = self._lookup(dependent_resource, ref.namespace, ref.name)
            if current is None:
                continue
            changed = deep_copy(current.obj)
            changed["metadata"]["ownerReferences"] = [
                owner
                for owner in changed["metadata"].get("ownerReferences") or []
                if owner.get("uid") != owner_uid
            ]
            if not changed["metadata"]["ownerReferences"]:
                del changed["metadata"]["ownerReferences"]
            self._commit(dependent_resource, changed, current)

    def _resource_by_key(self, key: str) -> ResourceType:
        for resource in self.resources.resources:
            if resource.key == key:
                return resource
        raise KeyError(key)

    def _remove(self, resource: ResourceType, existing: StoredObject) -> StoredObject:
        """Remove an object for good, then collect its garbage (namespace contents and
        dependents whose owners are all gone)."""
        final = self._commit(resource, deep_copy(existing.obj), existing, deleting=True)
        pending: deque[str] = deque([final.uid])
        if resource is self._namespace_resource:
            for other in self.resources.resources:
                if other.namespaced:
                    for stored in list(self._index(other, final.name).objects.values()):
                        self._delete_dependent(other, stored)
        while pending:
            owner_uid = pending.popleft()
            for ref in sorted(
                self._dependents.pop(owner_uid, set()), key=lambda r: (r.namespace, r.name)
            ):
                dependent_resource = self._resource_by_key(ref.resource_key)
                current = self._lookup(dependent_resource, ref.namespace, ref.name)
                if current is None:
                    continue
                owners = current.obj["metadata"].get("ownerReferences") or []
                if any(
                    o.get("uid") != owner_uid and o.get("uid") in self._refs_by_uid for o in owners
                ):
                    changed = deep_copy(current.obj)
                    changed["metadata"]["ownerReferences"] = [
                        o for o in owners if o.get("uid") != owner_uid
                    ]
                    self._commit(dependent_resource, changed, current)
                elif self._delete_dependent(dependent_resource, current):
                    pending.append(current.uid)
        return final

    def _delete_dependent(self, resource: ResourceType, current: StoredObject) -> bool:
        """Garbage-collect one object; True if it is gone (False: finalizers hold it)."""
        if current.obj["metadata"].get("finalizers"):
            if "deletionTimestamp" not in current.obj["metadata"]:
                marked = deep_copy(current.obj)
                marked["metadata"]["deletionTimestamp"] = now_rfc3339()
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                self._commit(resource, marked, current)
            return False
        self._remove(resource, current)
        return True

    def _commit(
        self,
        resource: ResourceType,
        obj: dict[str, Any],
        previous: StoredObject | None,
        *,
        deleting: bool = False,
    ) -> StoredObject:
        """Give `obj` the next resourceVersion, index it, record and publish the change."""
        self._resource_version += 1
        version = self._resource_version
        obj["metadata"]["resourceVersion"] = str(version)
        stored = StoredObject.of(obj)
        namespace = stored.namespace
        key = self._key(namespace, stored.name)
        ref = ObjectRef(resource.key, namespace, stored.name)
        if previous is not None:
            self._unindex_owners(previous, ref)
        if deleting:
            self._all[resource.key].remove(key)
            namespace_index = self._by_namespace.get((resource.key, namespace))
            if namespace_index is not None:
                namespace_index.remove(key)
                if not namespace_index.objects:
                    del self._by_namespace[(resource.key, namespace)]
            self._refs_by_uid.pop(stored.uid, None)
            event_type = DELETED
        else:
            self._all[resource.key].put(key, stored)
            if resource.namespaced:
                self._by_namespace.setdefault((resource.key, namespace), _Index()).put(key, stored)
            self._refs_by_uid[stored.uid] = ref
            for owner in obj["metadata"].get("ownerReferences") or []:
                if isinstance(owner, dict) and owner.get("uid"):
                    self._dependents.setdefault(str(owner["uid"]), set()).add(ref)
            event_type = ADDED if previous is None else MODIFIED
        event = ChangeEvent(version, event_type, resource.key, stored, previous)
        self._history.append(event)
        while len(self._history) > self._history_limit:
            self._compacted_version = self._history.popleft().resource_version
        self._publish(event)
        return stored

    def _unindex_owners(self, previous: StoredObject, ref: ObjectRef) -> None:
        for owner in previous.obj["metadata"].get("ownerReferences") or []:
            if isinstance(owner, dict) and owner.get("uid"):
                dependents = self._dependents.get(str(owner["uid"]))
                if dependents is not None:
                    dependents.discard(ref)
                    if not dependents:
                        del self._dependents[str(owner["uid"])]

    # --- watching -----------------------------------------------------------------------

    def _publish(self, event: ChangeEvent) -> None:
        watchers = self._watchers[event.resource_key]
        dropped = [w for w in watchers if w.wants(event) and not w.offer(event)]
        for watcher in dropped:
            watchers.discard(watcher)

    def watch(
        self,
        resource: ResourceType,
        namespace: str | None,
        resource_version: str | None,
        object_filter: ObjectFilter,
        *,
        description: str = "",
    ) -> WatchStart:
        """Register a watcher; with it, what to send first.

        API concepts (resourceVersion semantics for watch): unset or "0" starts with
        synthetic ADDED events for the current state; any other value replays the
        changes after it, or fails with 410 Expired when compaction removed them.
        """
        namespace = namespace if resource.namespaced else None
        with self._lock:
            initial: list[StoredObject] = []
            replay: list[ChangeEvent] = []
            if resource_version in (None, "", "0"):
                index = self._index(resource, namespace)
                initial = [index.objects[key] for key in index.keys]
            else:
                try:
                    since = int(str(resource_version))
                except ValueError:
                    raise BadRequest(f"invalid resourceVersion {resource_version!r}") from None
                if since < self._compacted_version:
                    raise Expired(f"too old resource version: {since} ({self._compacted_version})")
                for event in reversed(self._history):
                    if event.resource_version <= since:
                        break
                    if event.resource_key == resource.key and (
                        namespace is None or event.current.namespace == namespace
                    ):
                        replay.append(event)
                replay.reverse()
            watcher = Watcher(
                resource.key, namespace, object_filter, self._watch_queue_size, description
            )
            self._watchers[resource.key].add(watcher)
            self._watchers_changed.notify_all()
            return WatchStart(watcher, initial, replay, self._resource_version)

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers[watcher.resource_key].discard(watcher)
            self._watchers_changed.notify_all()
        watcher.close("watch ended")

    def wait_for_watchers(self, resource: ResourceType, count: int, timeout: float) -> bool:
        """Wait until `count` watchers of `resource` are registered."""
        with self._watchers_changed:
            return self._watchers_changed.wait_for(
                lambda: len(self._watchers[resource.key]) >= count, timeout
            )

    def bookmark_version(self, watcher: Watcher) -> int | None:
        """The resourceVersion a BOOKMARK may carry: the current one, provided the
        watcher has taken every event pushed to it."""
        with self._lock:
            return self._resource_version if watcher.idle() else None

    def close_watchers(self, reason: str) -> int:
        with self._lock:
            watchers = [w for group in self._watchers.values() for w in group]
            for group in self._watchers.values():
                group.clear()
        for watcher in watchers:
            watcher.close(reason)
        return len(watchers)

    def compact(self) -> int:
        """Forget all history: older resourceVersions get 410; the current one stays
        watchable (otherwise every informer would re-list forever)."""
        with self._lock:
            self._history.clear()
            self._compacted_version = self._resource_version
            return self._compacted_version

    def iter_all(self) -> Iterator[tuple[ResourceType, StoredObject]]:
        with self._lock:
            everything = [
                (r, list(self._all[r.key].objects.values())) for r in self.resources.resources
            ]
        for resource, objects in everything:
            for stored in objects:
                yield resource, stored
