"""NGINX Plus mode end to end: `nginx-ingress run -nginx-plus` with the NGINX Plus stand-in as
its `-nginx-binary` (docs/plus-standin.md), zone sync on, against the local API server; the
real NGINX underneath serves a routed Ingress, the Plus API stub beside it lists its upstream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nginx_ingress.nginx.plusapi import PlusApiClient
from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.plus_standin import StandinControl, control_socket, state_directory

from backends import Backend, backends
from controller_harness import (
    NS,
    SERVICE,
    Controller,
    Harness,
    eventually,
    harness,
    seed_cluster,
    set_configmap,
)
from ingress_objects import ingress, path, rule

APP = "apps"


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": APP, "name": name},
        "spec": {"ports": [{"name": "", "port": 80, "protocol": "TCP"}]},
    }


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, Backend]]:
    seed_cluster(dev_cluster)
    dev_cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}}])
    with backends("coffee") as started, harness(dev_cluster) as box:
        dev_cluster.seed([service("coffee")])
        dev_cluster.publish_endpoints(APP, "coffee", ["127.0.0.1"], started["coffee"].port)
        yield dev_cluster, box, started["coffee"]


def answer(controller: Controller, host: str, target: str) -> str | None:
    """ "<status> <backend name>" of a request through NGINX; None when refused."""
    got = controller.request("http", target, host=host)
    return None if got is None else f"{got[0]} {got[1].split()[0] if got[0] == 200 else ''}"


def test_the_controller_runs_nginx_plus_with_zone_sync_through_the_standin(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, coffee = world
    set_configmap(cluster, {"zone-sync": "true"})
    cluster.seed(
        [ingress("cafe", rule("cafe.example.com", path("/coffee", "coffee")), namespace=APP)]
    )
    controller = box.start(standin=True)
    assert eventually(lambda: controller.http_status("ready", "/nginx-ready") == 200, 60), (
        controller.output()[-3000:]
    )
    # The real NGINX, underneath the stand-in, routes the Ingress.
    assert eventually(lambda: answer(controller, "cafe.example.com", "/coffee") == "200 coffee")
    assert answer(controller, "unknown.example.com", "/") == "404 "  # the catch-all server
    # Zone sync is on: its Service exists, its server is in the controller's configuration
    # and not in the shadow the real NGINX runs.
    assert eventually(lambda: "zone_sync;" in controller.main())
    assert cluster.get_object("Service", NS, SERVICE) is not None
    shadow = (state_directory(controller.run_dir) / "shadow" / "nginx.conf").read_text()
    assert "zone_sync" not in shadow and "api write" not in shadow
    assert "nginx_ingress_controller_zone_sync_enabled" in controller.metrics()
    # The Plus API stub lists the Ingress's upstream with the backend's address: through the
    # control socket, and through the status port's read-only API (the real NGINX proxies).
    backend = f"127.0.0.1:{coffee.port}"
    control = StandinControl(control_socket(controller.run_dir)).wait()
    upstreams = control.state()["upstreams"]
    (name,) = [u for u, servers in upstreams.items() if backend in {s["server"] for s in servers}]
    assert name.startswith(f"{APP}-cafe")
    status_api = PlusApiClient(f"http://127.0.0.1:{controller.ports['status']}/api", timeout=3)
    assert [s.server for s in status_api.upstream_servers(name)] == [backend]
    zone_sync = status_api.zone_sync()
    assert zone_sync is not None and zone_sync.nodes_online == 0
    # An endpoint change reloads: the API is re-read from the new configuration.
    cluster.publish_endpoints(APP, "coffee", ["127.0.0.1", "127.0.0.2"], coffee.port)
    assert eventually(lambda: len(status_api.upstream_servers(name)) == 2)
    assert status_api.nginx_info().generation >= 2
    assert controller.stop() == 0
