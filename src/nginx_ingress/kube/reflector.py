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
`on_change` is called (from that thread) after every change, and once after the
first list so that start-up can wait for every reflector to be synced.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

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


class Reflector:
    def __init__(
        self,
        api: KubeApi,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        on_change: Callable[[], None] = lambda: None,
        timing: WatchTiming = WatchTiming(),
    ) -> None:
        self._api = api
        self.resource = resource
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._on_change = on_change
        self._timing = timing
        self._items: dict[str, Object] = {}
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

    def snapshot(self) -> Mapping[str, Object]:
        """The cache as of now: an immutable mapping, `namespace/name` → object."""
        with self._lock:
            return MappingProxyType(dict(self._items))

    def get(self, key: str) -> Object | None:
        with self._lock:
            return self._items.get(key)

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
        """List everything (in pages) and make the cache exactly that; report if anything moved."""
        items: dict[str, Object] = {}
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
            for obj in page.get("items") or ():
                items[key_of(obj)] = obj
            metadata = page.get("metadata") or {}
            continue_token = metadata.get("continue")
            if not continue_token:
                break
        with self._lock:
            changed = items != self._items
            self._items = items
            self._resource_version = str(metadata.get("resourceVersion", ""))
        if changed or not self._synced.is_set():
            self._synced.set()
            self._on_change()

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
        with self._lock:
            if kind == "DELETED":
                changed = self._items.pop(key, None) is not None
            elif kind in ("ADDED", "MODIFIED"):
                changed = self._items.get(key) != obj
                self._items[key] = obj
            else:
                log.warning("%s: ignoring a watch event of type %r", self.resource.plural, kind)
                return
        if changed:
            self._on_change()
