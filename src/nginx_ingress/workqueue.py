"""A queue of keys for a pool of workers, with client-go's workqueue semantics.

- A key is queued at most once however often it is added, so memory is bounded by the
  number of distinct keys (Ingresses), not by the number of changes.
- A key is handed to one worker at a time: added again while a worker has it, it is
  queued once more when that worker calls `done`, so the latest state is always looked
  at and two workers never write the same object at once.
- `add_after` retries a key later (after a failure, with the caller's backoff);
  `clear` forgets everything waiting (leadership lost); `shut_down` wakes every worker
  with None.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable


class WorkQueue:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._condition = threading.Condition()
        self._ready: deque[str] = deque()
        self._queued: set[str] = set()
        self._processing: set[str] = set()
        self._again: set[str] = set()
        self._delayed: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        """Key → when its delayed add is due; heap entries that disagree are stale."""
        self._shut_down = False

    def __len__(self) -> int:
        """Keys waiting, now or later."""
        with self._condition:
            return len(self._queued | self._due.keys() | self._again)

    def add(self, key: str) -> None:
        self.add_all((key,))

    def add_all(self, keys: Iterable[str]) -> None:
        with self._condition:
            added = False
            for key in keys:
                added |= self._add(key)
            if added:
                self._condition.notify_all()

    def _add(self, key: str) -> bool:
        if self._shut_down:
            return False
        if key in self._processing:
            self._again.add(key)
            return False
        if key in self._queued:
            return False
        self._queued.add(key)
        self._ready.append(key)
        return True

    def add_after(self, key: str, delay: float) -> None:
        """Queue `key` in `delay` seconds (an earlier pending delay wins)."""
        if delay <= 0:
            self.add(key)
            return
        with self._condition:
            if self._shut_down:
                return
            when = self._clock() + delay
            if key in self._due and self._due[key] <= when:
                return
            self._due[key] = when
            heapq.heappush(self._delayed, (when, key))
            self._condition.notify_all()

    def get(self) -> str | None:
        """The next key (the caller must call `done` with it); None once shut down."""
        with self._condition:
            while True:
                if self._shut_down:
                    return None
                wait = self._promote()
                if self._ready:
                    key = self._ready.popleft()
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                self._condition.wait(wait)

    def _promote(self) -> float | None:
        """Move due delayed keys to the ready queue; seconds until the next is due."""
        now = self._clock()
        while self._delayed:
            when, key = self._delayed[0]
            if self._due.get(key) != when:
                heapq.heappop(self._delayed)  # stale: re-added earlier, or cleared
                continue
            if when > now:
                return when - now
            heapq.heappop(self._delayed)
            del self._due[key]
            self._add(key)
        return None

    def done(self, key: str) -> None:
        with self._condition:
            self._processing.discard(key)
            if key in self._again:
                self._again.discard(key)
                if self._add(key):
                    self._condition.notify_all()

    def clear(self) -> None:
        """Forget every waiting key (those being processed finish, and are not re-added)."""
        with self._condition:
            self._ready.clear()
            self._queued.clear()
            self._again.clear()
            self._delayed.clear()
            self._due.clear()

    def shut_down(self) -> None:
        with self._condition:
            self._shut_down = True
            self._condition.notify_all()
