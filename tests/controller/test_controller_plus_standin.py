"""NGINX Plus mode end to end: `nginx-ingress run -nginx-plus` with the NGINX Plus stand-in as
its `-nginx-binary` (docs/plus-standin.md), against the local API server. The real NGINX
underneath serves the routed Ingresses, the Plus API stub beside it holds the upstreams the
controller sets: endpoint changes through the API without a reload, a reload when the API
fails, zone sync switched on and off under rate-limited and sticky Ingresses, and the
zone-sync health events from what the API says about peers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from nginx_ingress.nginx.plusapi import PlusApiClient
from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.plus_standin import StandinControl, control_socket, state_directory
from nginx_ingress_dev.plusapi_stub import ServerError

from backends import Backend
from controller_harness import (
    APP,
    NS,
    SERVICE,
    Controller,
    Harness,
    app_world,
    events,
    eventually,
    handled,
    set_configmap,
)
from ingress_objects import ingress, path, rule

RELOADS = "nginx_ingress_controller_nginx_reloads_total"
API_UPDATES = "nginx_ingress_controller_upstream_server_updates_total"


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, Backend]]:
    with app_world(dev_cluster, "coffee") as (box, started):
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
    assert eventually(controller.ready, 60), controller.output()[-3000:]
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
    name = upstream_of(StandinControl(control_socket(controller.run_dir)).wait(), backend)
    assert name.startswith(f"{APP}-cafe")
    status_api = PlusApiClient(f"http://127.0.0.1:{controller.ports['status']}/api", timeout=3)
    assert [s.server for s in status_api.upstream_servers(name)] == [backend]
    zone_sync = status_api.zone_sync()
    assert zone_sync is not None and zone_sync.nodes_online == 0
    # An endpoint change goes through the API: no reload.
    cluster.publish_endpoints(APP, "coffee", ["127.0.0.1", "127.0.0.2"], coffee.port)
    assert eventually(lambda: len(status_api.upstream_servers(name)) == 2)
    assert status_api.nginx_info().generation == 1
    assert controller.stop() == 0


def started(box: Harness, *flags: str) -> tuple[Controller, StandinControl]:
    controller = box.start(*flags, standin=True)
    assert eventually(controller.ready, 60), controller.output()[-3000:]
    return controller, StandinControl(control_socket(controller.run_dir)).wait()


def upstream_of(control: StandinControl, backend: str) -> str:
    (name,) = [
        str(upstream)
        for upstream, servers in control.state()["upstreams"].items()
        if backend in {server["server"] for server in servers}
    ]
    return name


def served(control: StandinControl, upstream: str) -> set[str]:
    return {server["server"] for server in control.upstream_servers(upstream)}


def ingress_file(controller: Controller) -> str:
    (found,) = (controller.conf_dir / "conf.d").glob(f"{APP}-cafe*.conf")
    return found.read_text()


def test_endpoint_changes_go_through_the_api_without_a_reload(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    """Ten endpoint changes (scale up, down, a pod replaced, all gone, back): the API holds
    each one's servers, NGINX never reloads, and the file agrees for the next reload."""
    cluster, box, coffee = world
    cluster.seed(
        [ingress("cafe", rule("cafe.example.com", path("/coffee", "coffee")), namespace=APP)]
    )
    controller, control = started(box)
    assert eventually(lambda: answer(controller, "cafe.example.com", "/coffee") == "200 coffee")
    upstream = upstream_of(control, f"127.0.0.1:{coffee.port}")
    reloads, generation = controller.metric(RELOADS), control.state()["generation"]
    steps = [
        ["127.0.0.1", "127.0.0.2"],
        ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
        ["127.0.0.1", "127.0.0.3"],
        ["127.0.0.1", "127.0.0.4"],
        ["127.0.0.4"],
        [],
        ["127.0.0.1"],
        ["127.0.0.1", "127.0.0.5"],
        ["127.0.0.1", "127.0.0.5", "127.0.0.6"],
        ["127.0.0.1"],
    ]
    for addresses in steps:
        cluster.publish_endpoints(APP, "coffee", addresses, coffee.port)
        wanted = {f"{address}:{coffee.port}" for address in addresses} or {"127.0.0.1:8181"}

        def in_the_api(wanted: set[str] = wanted) -> bool:
            return served(control, upstream) == wanted

        def in_the_file(wanted: set[str] = wanted) -> bool:  # written without a reload
            return all(f"server {server}" in ingress_file(controller) for server in wanted)

        assert eventually(in_the_api), (served(control, upstream), wanted)
        assert eventually(in_the_file), ingress_file(controller)
    assert control.state()["generation"] == generation
    assert controller.metric(RELOADS) == reloads
    assert controller.metric(API_UPDATES) >= len(steps)
    assert answer(controller, "cafe.example.com", "/coffee") == "200 coffee"
    assert not events(cluster, "UpdatedWithError")
    assert controller.stop() == 0


def test_a_failing_api_falls_back_to_one_reload(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, coffee = world
    cluster.seed(
        [ingress("cafe", rule("cafe.example.com", path("/coffee", "coffee")), namespace=APP)]
    )
    controller, control = started(box)
    upstream = upstream_of(control, f"127.0.0.1:{coffee.port}")
    reloads = controller.metric(RELOADS, reason="endpoints")
    control.set_fault(ServerError())
    cluster.publish_endpoints(APP, "coffee", ["127.0.0.1", "127.0.0.2"], coffee.port)
    # The reload gives the upstream the servers of the file; the API's faults do not stop it.
    assert eventually(lambda: controller.metric(RELOADS, reason="endpoints") == reloads + 1)
    control.set_fault(None)
    assert served(control, upstream) == {f"127.0.0.1:{coffee.port}", f"127.0.0.2:{coffee.port}"}
    assert "NGINX Plus API" in controller.output()
    # With the API back, the next change goes through it again.
    generation = control.state()["generation"]
    cluster.publish_endpoints(APP, "coffee", ["127.0.0.2"], coffee.port)
    assert eventually(lambda: served(control, upstream) == {f"127.0.0.2:{coffee.port}"})
    assert control.state()["generation"] == generation
    assert controller.metric(RELOADS, reason="endpoints") == reloads + 1
    assert controller.stop() == 0


def test_zone_sync_on_and_off_under_rate_limited_and_sticky_ingresses(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    """The rate-limit and sticky-learn zones take `_sync` and `sync` when zone sync comes, and
    lose them when it goes; NGINX takes each configuration and keeps routing and limiting."""
    cluster, box, _ = world
    annotations = {
        "nginx.org/limit-req-rate": "1r/s",
        "nginx.org/limit-req-reject-code": "503",
        "nginx.com/sticky-learn-services": (
            "serviceName=coffee create=$upstream_cookie_session lookup=$cookie_session"
        ),
    }
    cluster.seed(
        [
            ingress(
                "cafe",
                rule("cafe.example.com", path("/coffee", "coffee")),
                namespace=APP,
                annotations=annotations,
            )
        ]
    )
    controller, _ = started(box)

    def statuses() -> list[int]:
        return [
            got[0] if (got := controller.request("http", "/coffee", host="cafe.example.com")) else 0
            for _ in range(5)
        ]

    def synced(on: bool) -> bool:
        text = ingress_file(controller)
        return (
            ("zone_sync;" in controller.main()) == on
            and (f"zone={APP}/cafe_sync:" in text) == on
            and ("-learn_sync:" in text) == on
            and text.count(" sync") == (2 if on else 0)
        )

    assert eventually(lambda: synced(False)), ingress_file(controller)
    assert 503 in statuses()
    for on in (True, False, True):
        version = set_configmap(cluster, {"zone-sync": str(on).lower()})

        def applied(version: str = version, on: bool = on) -> bool:
            return handled(cluster, version) and synced(on)

        assert eventually(applied, 30), ingress_file(controller)
        assert [
            e["reason"]
            for e in events(cluster)
            if e["involvedObject"].get("resourceVersion") == version
        ] == ["Updated"]
        assert controller.ready()
        time.sleep(1.1)  # a zone NGINX kept across the reload refills at 1r/s
        got = statuses()
        assert 200 in got and 503 in got, got
    assert controller.stop() == 0


def test_zone_sync_health_degraded_then_recovered(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    """Two ready peers in the headless Service and none reached past the grace period: one
    `ZoneSyncDegraded`; every peer reached again: one `ZoneSyncRecovered`; no event per poll."""
    cluster, box, _ = world
    set_configmap(cluster, {"zone-sync": "true"})
    controller, control = started(box, "-zone-sync-degraded-after=1s")
    assert eventually(lambda: cluster.get_object("Service", NS, SERVICE) is not None)
    cluster.publish_endpoints(NS, SERVICE, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], 12345)
    document = control.state()["zone_sync"]
    assert document is not None and document["status"]["nodes_online"] == 0
    assert eventually(lambda: len(events(cluster, "ZoneSyncDegraded")) == 1, 20)
    (degraded,) = events(cluster, "ZoneSyncDegraded")
    assert degraded["type"] == "Warning" and "0 of 2 peers" in degraded["message"]
    assert controller.metric("nginx_ingress_controller_zone_sync_nodes_online") == 0
    control.set_zone_sync({**document, "status": {**document["status"], "nodes_online": 2}})
    assert eventually(lambda: len(events(cluster, "ZoneSyncRecovered")) == 1, 20)
    assert eventually(
        lambda: controller.metric("nginx_ingress_controller_zone_sync_nodes_online") == 2
    )
    time.sleep(1.5)  # several polls: still one event each
    assert len(events(cluster, "ZoneSyncDegraded")) == 1
    assert len(events(cluster, "ZoneSyncRecovered")) == 1
    assert controller.stop() == 0
