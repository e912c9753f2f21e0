"""The collector pause: nested and concurrent blocks, and the collector's state kept."""

from __future__ import annotations

import gc
import threading

from nginx_ingress import gcpause


def test_the_collector_waits_inside_and_runs_again_after_the_last_block() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    leave = threading.Event()

    def other_thread() -> None:
        with gcpause.paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other_thread)
    with gcpause.paused():
        assert not gc.isenabled()
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's block is still open
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_no_pause_when_not_asked() -> None:
    with gcpause.paused(False):
        assert gc.isenabled()
