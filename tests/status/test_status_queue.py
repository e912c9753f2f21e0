"""The work queue and the rate limiter the status writer runs on, with a clock the test
moves (no sleeping, no timing assertions)."""

from __future__ import annotations

import threading

import pytest

from nginx_ingress.ratelimit import RateLimiter
from nginx_ingress.workqueue import WorkQueue


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_queued_once_however_often_it_is_added() -> None:
    queue = WorkQueue()
    queue.add_all(["a/x", "a/y", "a/x", "a/x"])
    assert len(queue) == 2
    assert [queue.get(), queue.get()] == ["a/x", "a/y"]


def test_a_key_added_while_processed_comes_back_once_after_done() -> None:
    queue = WorkQueue()
    queue.add("a/x")
    key = queue.get()
    queue.add("a/x")
    queue.add("a/x")
    assert len(queue) == 1
    queue.add("a/y")
    assert queue.get() == "a/y"  # a/x waits for its worker
    queue.done("a/y")
    queue.done(key or "")
    assert queue.get() == "a/x"


def test_delayed_keys_come_when_due_and_the_earliest_delay_wins() -> None:
    clock = Clock()
    queue = WorkQueue(clock=clock)
    queue.add_after("a/x", 5)
    queue.add_after("a/x", 2)
    queue.add_after("a/y", 10)
    queue.add_after("a/x", 8)  # later than the pending one: ignored
    assert len(queue) == 2
    clock.now += 2
    assert queue.get() == "a/x"
    queue.done("a/x")
    clock.now += 8
    assert queue.get() == "a/y"


def test_a_waiting_worker_wakes_for_a_delayed_key() -> None:
    queue = WorkQueue()
    got: list[str | None] = []
    worker = threading.Thread(target=lambda: got.append(queue.get()))
    worker.start()
    queue.add_after("a/x", 0.05)
    worker.join(5)
    assert got == ["a/x"]


def test_clear_forgets_waiting_keys_and_shut_down_releases_workers() -> None:
    queue = WorkQueue()
    queue.add_all(["a/x", "a/y"])
    queue.add_after("a/z", 60)
    taken = queue.get()
    queue.add(taken or "")
    queue.clear()
    queue.done(taken or "")
    assert len(queue) == 0
    got: list[str | None] = []
    worker = threading.Thread(target=lambda: got.append(queue.get()))
    worker.start()
    queue.shut_down()
    worker.join(5)
    assert got == [None]
    queue.add("a/x")  # after shut-down: ignored
    assert len(queue) == 0


def test_the_limiter_spaces_reservations_at_the_rate_without_a_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(50, clock=clock)
    delays = [limiter.reserve() for _ in range(100)]
    assert delays[0] == 0
    assert delays == pytest.approx([n / 50 for n in range(100)])
    clock.now += 10  # idle: the next one goes at once, and no credit was saved up
    assert limiter.reserve() == 0
    assert limiter.reserve() == pytest.approx(1 / 50)


def test_the_limiter_gives_up_when_stopped() -> None:
    limiter = RateLimiter(0.001)
    stop = threading.Event()
    assert limiter.acquire(stop)
    stop.set()
    assert not limiter.acquire(stop)  # would wait 1000 s: returns at once


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan")])
def test_a_rate_that_is_not_a_positive_number_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate)
