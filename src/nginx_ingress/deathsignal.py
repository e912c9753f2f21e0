"""A child process that ends with the thread that started it (Linux's `PR_SET_PDEATHSIG`).

NGINX started by the controller, the real master the NGINX Plus stand-in runs, the
controller the local run starts and the controllers the tests start: each must end when
whatever started it is killed, or it keeps ports and files for ever. The kernel delivers
the signal when the *thread* that forked the child ends, so start children from a thread
that lives as long as they should.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def death_signal_setter(
    death_signal: signal.Signals = signal.SIGTERM,
) -> Callable[[], None] | None:
    """A `preexec_fn` that asks the kernel to send `death_signal` to the child when the
    thread that started it ends. Linux only; elsewhere None.

    A `preexec_fn` runs in the child between fork and exec, where a lock held by another
    thread of the parent at the fork would never be released. This one takes none: libc
    and `prctl` are resolved here, in the parent, so the child makes one foreign call (no
    allocation in C) and two system calls.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), death_signal)

    return set_death_signal
