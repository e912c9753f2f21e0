"""Watchers: a bounded queue per open watch, and the rules that turn store changes
into the events one watcher sees.

The store pushes every change of a resource to that resource's watchers while it
holds its lock, so a watcher never misses or reorders an event; pushing never
blocks. A watcher whose queue is full (its client reads too slowly) is closed and
logged rather than allowed to grow memory: its client reconnects from the last
resourceVersion it saw, as clients of a real API server do after a dropped watch.
Selector matching runs on the watcher's own thread, outside the store lock.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Final

import orjson

from nginx_ingress_dev.devcluster.selectors import ObjectFilter

log = logging.getLogger(__name__)

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"
BOOKMARK: Final = "BOOKMARK"
ERROR: Final = "ERROR"


@dataclass(frozen=True)
class StoredObject:
    """One version of an object: the decoded dict (never mutated) and its JSON bytes."""

    obj: dict[str, Any]
    raw: bytes

    @staticmethod
    def of(obj: dict[str, Any]) -> StoredObject:
        return StoredObject(obj, orjson.dumps(obj))

    @property
    def resource_version(self) -> int:
        return int(self.obj["metadata"]["resourceVersion"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.obj["metadata"]["uid"])


@dataclass(frozen=True)
class ChangeEvent:
    """A committed change, as kept in the history and pushed to watchers."""

    resource_version: int
    type: str
    resource_key: str
    current: StoredObject
    previous: StoredObject | None = None
    """The object before a MODIFIED change, so selector transitions can be computed."""


@dataclass(frozen=True)
class WatchEvent:
    """One line of a watch stream."""

    type: str
    raw_object: bytes

    def line(self) -> bytes:
        return b'{"type":"' + self.type.encode() + b'","object":' + self.raw_object + b"}\n"


_CLOSED: Final = object()


class Watcher:
    """The server side of one open watch."""

    def __init__(
        self,
        resource_key: str,
        namespace: str | None,
        object_filter: ObjectFilter,
        queue_size: int,
        description: str,
    ) -> None:
        self.resource_key = resource_key
        self.namespace = namespace
        self.filter = object_filter
        self.description = description
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._closed = threading.Event()
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wants(self, event: ChangeEvent) -> bool:
        return self.namespace is None or self.namespace == event.current.namespace

    def offer(self, event: ChangeEvent) -> bool:
        """Queue `event` without blocking; False (and closed) if the queue is full."""
        if self._closed.is_set():
            return False
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            log.warning(
                "devcluster: dropping watch %s: %d events queued and not read",
                self.description,
                self._queue.maxsize,
            )
            self.close("the client did not read its watch events fast enough")
            return False
        return True

    def close(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.close_reason = reason
        self._closed.set()
        # If the queue is full the reader is not blocked: it sees the flag after its next item.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_CLOSED)

    def idle(self) -> bool:
        """True when every pushed event has been taken by the reader."""
        return self._queue.empty()

    def next(self, timeout: float) -> ChangeEvent | None:
        """The next change, or None on timeout or once closed (check `closed`)."""
        if self._closed.is_set():
            return None
        try:
            item = self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if item is _CLOSED or self._closed.is_set():
            return None
        assert isinstance(item, ChangeEvent)
        return item


def _with_resource_version(stored: StoredObject, resource_version: int) -> bytes:
    obj = dict(stored.obj)
    obj["metadata"] = {**stored.obj["metadata"], "resourceVersion": str(resource_version)}
    return orjson.dumps(obj)


def translate(event: ChangeEvent, object_filter: ObjectFilter) -> WatchEvent | None:
    """What a watcher with `object_filter` sees of `event`, if anything.

    API concepts (watch with selectors): an object that starts matching is ADDED, one
    that stops matching is DELETED (carrying its previous content at the new
    resourceVersion, as the API server's watch cache sends it).
    """
    if object_filter.selects_everything:
        return WatchEvent(event.type, event.current.raw)
    now_matches = object_filter.matches(event.current.obj)
    if event.type != MODIFIED or event.previous is None:
        return WatchEvent(event.type, event.current.raw) if now_matches else None
    matched_before = object_filter.matches(event.previous.obj)
    if matched_before and now_matches:
        return WatchEvent(MODIFIED, event.current.raw)
    if now_matches:
        return WatchEvent(ADDED, event.current.raw)
    if matched_before:
        return WatchEvent(DELETED, _with_resource_version(event.previous, event.resource_version))
    return None


def bookmark(
    resource_version: int, api_version: str, kind: str, *, initial_end: bool = False
) -> WatchEvent:
    """A BOOKMARK event: only `metadata.resourceVersion` is meaningful."""
    metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if initial_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    body = {"kind": kind, "apiVersion": api_version, "metadata": metadata}
    return WatchEvent(BOOKMARK, orjson.dumps(body))


def error_event(status: dict[str, Any]) -> WatchEvent:
    return WatchEvent(ERROR, orjson.dumps(status))
