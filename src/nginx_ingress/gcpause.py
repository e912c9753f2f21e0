"""Pausing CPython's cyclic garbage collector around big batches of allocations.

Listing a large cluster, or building every Ingress at start-up, allocates millions
of small objects and no reference cycles. The cyclic collector runs every few
hundred allocations meanwhile and scans the young objects each time, and now and
then the whole, growing cache: measured, a third of the time to transform 50,000
objects and a fifth of a 10,000-Ingress build. Reference counting still frees
everything while the collector waits; it runs as usual once the last batch ends.

Several threads may pause at once (every reflector lists on its own thread): the
collector is enabled again only when the last of them is done, and only if it was
enabled before the first.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pauses:
    """How many blocks are paused now, and whether the collector ran before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False


_PAUSES = _Pauses()


@contextlib.contextmanager
def paused(pause: bool = True) -> Iterator[None]:
    """Keep the cyclic collector from running inside the block (when `pause`)."""
    if not pause:
        yield
        return
    state = _PAUSES
    with state.lock:
        if state.count == 0:
            state.was_enabled = gc.isenabled()
            gc.disable()
        state.count += 1
    try:
        yield
    finally:
        with state.lock:
            state.count -= 1
            if state.count == 0 and state.was_enabled:
                gc.enable()


def settle() -> None:
    """After a cache was filled: a last collection, then keep what survived out of every
    later collection's scan (`gc.freeze`; reference counting still frees it)."""
    gc.collect()
    gc.freeze()
