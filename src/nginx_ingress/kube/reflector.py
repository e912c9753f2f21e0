"""List, then watch, one kind of object, and keep it in a local cache.

The behaviour follows client-go's reflector, which years of clusters have tested:
- list (in pages), remember the list's resourceVersion, watch from it;
- track the resourceVersion of every event and every BOOKMARK ourselves (the
  official client's `Watch` stops tracking when it does not decode objects);
- end each watch after a random 5–10 minutes so that many controllers do not
  reconnect together, and treat a watch silent for longer than the bookmark
  interval as dead;
- on an error or a 429, wait with capped exponential backoff and jitter (0.8 s
  doubling to 30 s), or as long as Retry-After asks;
- on 410 Gone, list again and diff against the cache, so objects deleted during the
  gap are removed rather than kept forever.

One thread per reflector owns the cache's writes; readers take a snapshot.
`on_change` is called (from that thread) with the keys that changed, after every
change, and once after the first list (with every key) so that start-up can wait
for every reflector to be synced.

As client-go's informers, a reflector may transform each object before caching it
(a typed view that keeps only what the controller reads: smaller, and a change to
a field nobody reads compares equal and signals nothing) and keep indexes over
the cached items (EndpointSlices by Service, Ingresses by the Services they name)
so that one change finds what it touches without a scan.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from nginx_ingress import gcpause
from nginx_ingress.kube.api import (
    ApiStatusError,
    Gone,
    KubeApi,
    KubeError,
    Object,
    Resource,
    TooManyRequests,
)

log = logging.getLogger("nginx_ingress.kube")

T = TypeVar("T")
Indexer = Callable[[Any], Iterable[str]]
"""An item → the index values it is found under."""
OnChange = Callable[[frozenset[str]], None]


def key_of(obj: Object) -> str:
    metadata = obj.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))


@dataclass
class Backoff:
    """Capped exponential backoff with jitter: 0.8 s, 1.6 s, … up to 30 s."""

    initial: float = 0.8
    cap: float = 30.0
    failures: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        base = min(self.cap, self.initial * 2.0**self.failures)
        self.failures += 1
        delay = base / 2 + random.uniform(0, base / 2)
        return max(delay, retry_after or 0.0)

    def reset(self) -> None:
        self.failures = 0


@dataclass(frozen=True, slots=True)
class WatchTiming:
    """How long a watch may last and stay silent, and how to back off after failures."""

    min_watch: int = 300
    max_watch: int = 600
    silence: float = 90.0
    page_size: int = 500
    backoff_initial: float = 0.8
    backoff_cap: float = 30.0


def _ignore(_keys: frozenset[str]) -> None:
    return None


class Reflector(Generic[T]):
    """One kind of object (optionally one namespace, one selector), listed and watched.

    Without a `transform` the cache holds the raw objects (`Reflector[Object]`).
    """

    def __init__(
        self,
        api: KubeApi,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        on_change: OnChange = _ignore,
        timing: WatchTiming = WatchTiming(),
        transform: Callable[[Object], T] | None = None,
        indexers: Mapping[str, Indexer] | None = None,
        signal: Indexer | None = None,
    ) -> None:
        """`signal` maps an item to the keys `on_change` reports for it (by default the
        item's own key): an EndpointSlice signals its Service, which is what routing
        looks up, and a deleted slice still says whose it was."""
        self._api = api
        self.resource = resource
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._on_change = on_change
        self._timing = timing
        self._transform: Callable[[Object], T] = transform or cast(Callable[[Object], T], _raw)
        self._indexers = dict(indexers or {})
        self._signal = signal
        self._indexes: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()
        self._resource_version = ""
        self._stopped = threading.Event()
        self._synced = threading.Event()
        self._watch: object = None
        self._thread = threading.Thread(
            target=self._run, name=f"reflector-{resource.plural}", daemon=True
        )
        self.backoff = Backoff(timing.backoff_initial, timing.backoff_cap)
        self.last_error: KubeError | None = None

    @property
    def namespace(self) -> str | None:
        return self._namespace

    @property
    def synced(self) -> threading.Event:
        return self._synced

    @property
    def resource_version(self) -> str:
        return self._resource_version

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        watch = self._watch
        if watch is not None:
            watch.close()  # type: ignore[attr-defined]
        self._thread.join(timeout)

    def snapshot(self) -> Mapping[str, T]:
        """The cache as of now: an immutable mapping, `namespace/name` → object."""
        with self._lock:
            return MappingProxyType(dict(self._items))

    def get(self, key: str) -> T | None:
        with self._lock:
            return self._items.get(key)

    def cached_keys(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def keys_by_index(self, index: str, value: str) -> set[str]:
        """Keys of the items an indexer put under `value`."""
        with self._lock:
            return set(self._indexes[index].get(value, ()))

    def by_index(self, index: str, value: str) -> list[T]:
        """The items an indexer put under `value`, in key order."""
        with self._lock:
            keys = sorted(self._indexes[index].get(value, ()))
            return [self._items[key] for key in keys]

    # --- the loop, on the reflector's thread ----------------------------------------------

    def _run(self) -> None:
        need_list = True
        while not self._stopped.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                self._watch_once()
                self.backoff.reset()
                self.last_error = None
            except Gone:
                # List again, after a short jittered pause so that a server that keeps
                # compacting cannot drive a tight list loop.
                self._stopped.wait(self.backoff.next_delay())
                log.info(
                    "%s: resourceVersion %s expired; listing again",
                    self.resource.plural,
                    self._resource_version,
                )
                need_list = True
            except KubeError as error:
                self.last_error = error
                retry_after = error.retry_after if isinstance(error, ApiStatusError) else None
                delay = self.backoff.next_delay(retry_after)
                level = logging.INFO if isinstance(error, TooManyRequests) else logging.WARNING
                log.log(level, "%s: %s; retrying in %.1fs", self.resource.plural, error, delay)
                self._stopped.wait(delay)
            except Exception:  # a bug must not silently stop the cache from updating
                log.exception("%s: unexpected error in the reflector", self.resource.plural)
                self._stopped.wait(self.backoff.next_delay())
                need_list = True

    def _list(self) -> None:
        """List everything (in pages) and make the cache exactly that; report what moved."""
        items: dict[str, T] = {}
        continue_token: str | None = None
        while True:
            page = self._api.list(
                self.resource,
                namespace=self._namespace,
                label_selector=self._label_selector,
                field_selector=self._field_selector,
                limit=self._timing.page_size,
                continue_token=continue_token,
                timeout=max(self._api.timeout, 60.0),
            )
            with gcpause.paused():
                for obj in page.get("items") or ():
                    items[key_of(obj)] = self._transform(obj)
            metadata = page.get("metadata") or {}
            continue_token = metadata.get("continue")
            if not continue_token:
                break
        with self._lock:
            previous = self._items
            changed = frozenset(
                key for key in previous.keys() | items.keys() if previous.get(key) != items.get(key)
            )
            self._items = items
            self._resource_version = str(metadata.get("resourceVersion", ""))
            if self._indexers:
                self._indexes = {name: {} for name in self._indexers}
                for key, item in items.items():
                    self._index(key, item)
        if changed or not self._synced.is_set():
            self._synced.set()
            self._on_change(changed)

    def _watch_once(self) -> None:
        timing = self._timing
        timeout_seconds = random.randint(timing.min_watch, timing.max_watch)
        stream = self._api.watch(
            self.resource,
            resource_version=self._resource_version,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            timeout_seconds=timeout_seconds,
            silence=timing.silence,
        )
        self._watch = stream
        try:
            if self._stopped.is_set():
                return
            for kind, obj in stream:
                version = str(obj.get("metadata", {}).get("resourceVersion", ""))
                if kind == "BOOKMARK":
                    self._resource_version = version or self._resource_version
                    continue
                self._apply_event(kind, obj)
                self._resource_version = version or self._resource_version
                self.backoff.reset()
        finally:
            self._watch = None
            stream.close()

    def _apply_event(self, kind: str, obj: Object) -> None:
        key = key_of(obj)
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            log.warning("%s: ignoring a watch event of type %r", self.resource.plural, kind)
            return
        item = None if kind == "DELETED" else self._transform(obj)
        with self._lock:
            previous = self._items.get(key)
            if previous == item:
                return
            if previous is not None:
                self._unindex(key, previous)
            if item is None:
                del self._items[key]
            else:
                self._items[key] = item
                self._index(key, item)
        self._on_change(self._signalled({key: (previous, item)}))

    def _signalled(self, changed: Mapping[str, tuple[T | None, T | None]]) -> frozenset[str]:
        if self._signal is None:
            return frozenset(changed)
        keys: set[str] = set()
        for before, after in changed.values():
            for item in (before, after):
                if item is not None:
                    keys.update(self._signal(item))
        return frozenset(keys)

    def _index(self, key: str, item: T) -> None:
        for name, indexer in self._indexers.items():
            index = self._indexes[name]
            for value in indexer(item):
                index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, item: T) -> None:
        for name, indexer in self._indexers.items():
            index = self._indexes[name]
            for value in indexer(item):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]


def _raw(obj: Object) -> Object:
    return obj
