"""The live report: a line per configuration version NGINX serves, with the events the
controller posted, counted from the objects' latest events; the status stand-in."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.localrun.console import Console
from nginx_ingress_dev.localrun.report import LiveReport, file_version


class World:
    def __init__(self, *, render_only: bool = False) -> None:
        self.cluster = DevCluster()
        self.version: int | None = None
        self.out = io.StringIO()
        self.report = LiveReport(
            self.cluster.store,
            Console(self.out, io.StringIO()),
            lambda: self.version,
            render_only=render_only,
            quiet=0.05,
        )

    def ingress(self, name: str) -> dict[str, Any]:
        (stored,) = self.cluster.seed(
            [
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": name, "namespace": "shop"},
                    "spec": {"ingressClassName": "nginx"},
                }
            ]
        )
        return stored

    def event(
        self, about: dict[str, Any], type_: str, reason: str, message: str,
        component: str = "nginx-ingress-controller",
    ) -> None:  # fmt: skip
        metadata = about["metadata"]
        self.cluster.seed(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"generateName": "e.", "namespace": metadata["namespace"]},
                    "involvedObject": {
                        "kind": about.get("kind", "Ingress"),
                        "namespace": metadata["namespace"],
                        "name": metadata["name"],
                        "uid": metadata["uid"],
                    },
                    "type": type_,
                    "reason": reason,
                    "message": message,
                    "source": {"component": component},
                }
            ]
        )

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()

    def wait_for_lines(self, count: int) -> list[str]:
        deadline = time.monotonic() + 10
        while len(self.lines()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # and nothing more comes
        return self.lines()


@pytest.fixture
def world() -> Iterator[World]:
    world = World()
    world.report.start()
    yield world
    world.report.stop()


def _eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_version_and_its_events_are_one_report(world: World) -> None:
    good, bad = world.ingress("good"), world.ingress("bad")
    world.version = 1
    world.event(
        good, "Normal", "AddedOrUpdated", "Configuration for shop/good was added or updated"
    )
    world.event(bad, "Warning", "Rejected", "shop/bad was rejected: spec.rules[0].host: …")
    world.event(good, "Normal", "Something", "from someone else", component="kubectl")
    assert world.wait_for_lines(3) == [
        "applied version 1: 1 Ingress, 1 problem",
        "  Normal AddedOrUpdated Ingress shop/good: Configuration for shop/good was added or "
        "updated",
        "  Warning Rejected Ingress shop/bad: shop/bad was rejected: spec.rules[0].host: …",
    ]
    assert world.report.first_applied.is_set()

    # An Ingress deleted counts no more; events without a new version are shown alone.
    world.cluster.delete_object("Ingress", "shop", "bad")
    world.event(good, "Warning", "AddedOrUpdatedWithError", "with problems: x")
    assert world.wait_for_lines(4)[3:] == [
        "  Warning AddedOrUpdatedWithError Ingress shop/good: with problems: x"
    ]
    world.version = 2
    assert world.wait_for_lines(5)[4:] == ["applied version 2: 1 Ingress, 1 problem"]

    # Rejected now: served no more, and still a problem.
    world.version = 3
    world.event(good, "Warning", "Rejected", "shop/good was rejected: …")
    assert world.wait_for_lines(7)[5:] == [
        "applied version 3: 0 Ingresses, 1 problem",
        "  Warning Rejected Ingress shop/good: shop/good was rejected: …",
    ]


def test_render_only_says_wrote() -> None:
    world = World(render_only=True)
    world.report.start()
    try:
        ingress = world.ingress("web")
        world.version = 1
        world.event(ingress, "Normal", "AddedOrUpdated", "ok")
        assert world.wait_for_lines(2)[0] == "wrote version 1: 1 Ingress, 0 problems"
    finally:
        world.report.stop()


def test_the_version_file_of_render_only_is_read_once_this_run_wrote_it(tmp_path: Any) -> None:
    path = tmp_path / "config-version.conf"
    text = "server {\n    location = /configVersion {\n        return 200 1;\n    }\n}\n"
    path.write_text(text)
    os.utime(path, (time.time() - 60, time.time() - 60))  # left by an earlier run
    read = file_version(path, since=time.time() - 1)
    assert read() is None
    path.write_text(text.replace("200 1;", "200 7;"))
    assert read() == 7
    assert file_version(tmp_path / "missing")() is None
