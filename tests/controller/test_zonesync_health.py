"""Zone-sync health against the NGINX Plus API stub (real HTTP over a unix socket) and the
local API server: metrics from every poll, and one event per transition after the grace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nginx_ingress.controller.zonesync_health import DEGRADED, RECOVERED, ZoneSyncHealth
from nginx_ingress.kube.api import KubeApi
from nginx_ingress.kube.events import EventRecorder, ObjectReference
from nginx_ingress.nginx.plusapi import PlusApiClient
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import api_client_for
from nginx_ingress_dev.plusapi_stub import PlusApiStub

from controller_harness import eventually


def status(nodes_online: int) -> dict[str, Any]:
    return {
        "zones": {"default/cafe_sync": {"records_pending": 3, "records_total": 40}},
        "status": {
            "bytes_in": 1,
            "msgs_in": 1,
            "msgs_out": 1,
            "bytes_out": 1,
            "nodes_online": nodes_online,
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[PlusApiStub]:
    with PlusApiStub(unix_socket=str(tmp_path / "api.sock")) as started:
        yield started


def test_degraded_and_recovered_once_each_after_the_grace(
    stub: PlusApiStub, dev_cluster: DevCluster
) -> None:
    (configmap,) = dev_cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cm", "namespace": "default"},
            }
        ]
    )
    api = KubeApi(api_client_for(dev_cluster))
    recorder = EventRecorder(api)
    metrics = Metrics("nginx")
    clock = Clock()
    health = ZoneSyncHealth(
        PlusApiClient(stub.url, unix_socket=stub.unix_socket, timeout=2),
        metrics,
        recorder,
        expected_peers=lambda: 2,
        configmap=lambda: ObjectReference.of(configmap, "v1", "ConfigMap"),
        clock=clock,
    )
    try:
        stub.set_zone_sync(status(2))
        health.poll()
        stub.set_zone_sync(status(1))
        for step in (0, 20, 31, 40):
            clock.now = 1000.0 + step
            health.poll()
        stub.set_zone_sync(status(2))
        clock.now = 1050.0
        health.poll()
        health.poll()
        assert recorder.flush()

        def reasons() -> list[str]:  # the API lists Events by name, not by time
            return sorted(e["reason"] for e in dev_cluster.objects("Event", "default"))

        assert eventually(lambda: reasons() == [DEGRADED, RECOVERED], 60), reasons()
        degraded = next(
            e for e in dev_cluster.objects("Event", "default") if e["reason"] == DEGRADED
        )
        assert degraded["type"] == "Warning" and "1 of 2 peers" in degraded["message"]
        exported = metrics.registry.get_sample_value(
            "nginx_ingress_controller_zone_sync_records_pending",
            {"class": "nginx", "zone": "default/cafe_sync"},
        )
        assert exported == 3
        nodes = metrics.registry.get_sample_value(
            "nginx_ingress_controller_zone_sync_nodes_online", {"class": "nginx"}
        )
        assert nodes == 2
    finally:
        recorder.stop()


def test_an_unreachable_api_or_no_zone_sync_says_nothing(stub: PlusApiStub) -> None:
    events: list[str] = []

    class Recorder:
        def record(self, *args: object, **_: object) -> None:
            events.append(str(args[2]))

    health = ZoneSyncHealth(
        PlusApiClient(stub.url, unix_socket=stub.unix_socket, timeout=1),
        Metrics("nginx"),
        Recorder(),  # type: ignore[arg-type]
        expected_peers=lambda: 3,
        configmap=lambda: None,
        grace=0,
    )
    stub.set_zone_sync(None)  # NGINX without zone_sync: 404
    health.poll()
    stub.refuse_connections()
    health.poll()
    assert events == []
