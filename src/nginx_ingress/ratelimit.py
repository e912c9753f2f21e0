"""A limit on how often something may happen: at most `rate` times per second, evenly spaced.

The Ingress status writer uses it so that a new leader, or a new address for 10,000
Ingresses, becomes a steady stream of writes the API server can absorb rather than a
storm (client-go's controllers use a token bucket for the same reason). Each caller
reserves the next free slot, as golang.org/x/time/rate's `Reserve` does, so several
threads sharing one limiter still add up to `rate`; there is no burst: the writes/s
observed over any window stay at or below the rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"a rate must be a positive number of events per second, not {rate}")
        self._interval = 1.0 / rate
        self._clock = clock
        self._lock = threading.Lock()
        self._next = -math.inf

    @property
    def rate(self) -> float:
        return 1.0 / self._interval

    def reserve(self) -> float:
        """Take the next free slot; returns how many seconds to wait for it (0: now)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
            return slot - now

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a slot; False if `stop` was set first (the slot is then wasted, which
        only ever slows later callers down)."""
        delay = self.reserve()
        if delay > 0:
            return not stop.wait(delay)
        return not stop.is_set()
