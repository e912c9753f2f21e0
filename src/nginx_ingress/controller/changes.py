"""Keys of what changed, collected from every informer's thread for the next sync.

As NIC's task queue carries `{Kind, Key}`, a sync learns not only that something
changed but what: which Ingresses to rebuild, whether the ConfigMap moved. The set
is bounded by the number of objects watched (a key appears once however often it
changes), so a burst of events costs memory proportional to what it touched.
"""

from __future__ import annotations

import threading
from collections import defaultdict


class ChangeSet:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: defaultdict[str, set[str]] = defaultdict(set)
        self._count = 0

    def add(self, kind: str, keys: frozenset[str] | set[str] = frozenset()) -> None:
        """Record that `keys` of `kind` changed (no keys: the kind as a whole did)."""
        with self._lock:
            known = self._keys[kind]
            before = len(known)
            known.update(keys)
            self._count += len(known) - before

    def take(self) -> dict[str, set[str]]:
        """Everything recorded since the last take; kinds present even without keys."""
        with self._lock:
            taken, self._keys, self._count = dict(self._keys), defaultdict(set), 0
            return taken

    def put_back(self, taken: dict[str, set[str]]) -> None:
        """Return what a sync took but could not finish, so the next one sees it again."""
        for kind, keys in taken.items():
            self.add(kind, keys)

    @property
    def depth(self) -> int:
        """Keys waiting (the `workqueue_depth` metric)."""
        with self._lock:
            return self._count
