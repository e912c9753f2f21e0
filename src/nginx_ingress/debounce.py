"""Coalesce bursts of changes into one action: a quiet window bounded by a maximum delay.

`trigger()` may be called from any thread, any number of times; the action runs
on the debouncer's own thread once no trigger came for `quiet` seconds, or once
`max_delay` seconds passed since the first pending trigger, whichever is sooner.
A trigger during the action schedules one more run after it. Pending state is one
flag, so memory is bounded however fast triggers come.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("nginx_ingress.debounce")


class Debouncer:
    def __init__(
        self,
        action: Callable[[], None],
        *,
        quiet: float = 0.1,
        max_delay: float = 1.0,
        name: str = "debouncer",
    ) -> None:
        if quiet <= 0 or max_delay < quiet:
            raise ValueError("need 0 < quiet <= max_delay")
        self._action = action
        self._quiet = quiet
        self._max_delay = max_delay
        self._condition = threading.Condition()
        self._first: float | None = None
        self._last = 0.0
        self._stopped = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def pending(self) -> bool:
        with self._condition:
            return self._first is not None

    def trigger(self) -> None:
        with self._condition:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._idle.clear()
            self._condition.notify()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending and no action runs (for tests and shutdown)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking triggers; a running action finishes, a pending one is dropped."""
        with self._condition:
            self._stopped = True
            self._condition.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped:
                    if self._first is None:
                        self._idle.set()
                        self._condition.wait()
                        continue
                    now = time.monotonic()
                    due = min(self._last + self._quiet, self._first + self._max_delay)
                    if now >= due:
                        break
                    self._condition.wait(due - now)
                if self._stopped:
                    self._idle.set()
                    return
                self._first = None
            try:
                self._action()
            except Exception:
                log.exception("the debounced action failed")
