"""The debouncer coalesces bursts, yet never delays past its maximum."""

from __future__ import annotations

import threading
import time

import pytest

from nginx_ingress.debounce import Debouncer


def test_a_burst_runs_the_action_once() -> None:
    runs: list[float] = []
    debouncer = Debouncer(lambda: runs.append(time.monotonic()), quiet=0.05, max_delay=1.0)
    try:
        for _ in range(100):
            debouncer.trigger()
        assert debouncer.wait_idle(5)
    finally:
        debouncer.stop()
    assert len(runs) == 1


def test_a_steady_stream_still_runs_by_the_maximum_delay() -> None:
    ran = threading.Event()
    debouncer = Debouncer(ran.set, quiet=0.1, max_delay=0.3)
    start = time.monotonic()
    try:
        while not ran.is_set() and time.monotonic() - start < 3:
            debouncer.trigger()  # never quiet for 0.1 s
            time.sleep(0.01)
    finally:
        debouncer.stop()
    assert ran.is_set()
    assert time.monotonic() - start < 1.5


def test_a_trigger_during_the_action_runs_it_again() -> None:
    entered, release = threading.Event(), threading.Event()
    runs = []

    def action() -> None:
        runs.append(1)
        entered.set()
        release.wait(5)

    debouncer = Debouncer(action, quiet=0.01, max_delay=0.05)
    try:
        debouncer.trigger()
        assert entered.wait(5)
        debouncer.trigger()
        release.set()
        assert debouncer.wait_idle(5)
    finally:
        debouncer.stop()
    assert len(runs) == 2


def test_a_failing_action_does_not_stop_the_debouncer(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def action() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    debouncer = Debouncer(action, quiet=0.01, max_delay=0.05)
    try:
        debouncer.trigger()
        assert debouncer.wait_idle(5)
        debouncer.trigger()
        assert debouncer.wait_idle(5)
    finally:
        debouncer.stop()
    assert len(calls) == 2
    assert "the debounced action failed" in caplog.text


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="quiet"):
        Debouncer(lambda: None, quiet=1.0, max_delay=0.5)
