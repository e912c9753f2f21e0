"""The controller process against the local API server: NIC's zone-sync scenarios, and ours.

NGINX Plus is not available here, so these run with `-nginx-plus -render-only`: the
controller checks each tree with crossplane (which knows the Plus directives) and
writes it, exactly as it would for a real NGINX Plus, without starting one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from controller_harness import (
    CONFIGMAP,
    HASH,
    NS,
    SERVICE,
    Harness,
    events,
    eventually,
    handled,
    harness,
    seed_cluster,
    set_configmap,
)

NIC_ENABLED = [
    "listen 12345;",
    "listen [::]:12345;",
    "resolver kube-dns.kube-system.svc.cluster.local valid=5s;",
    "zone_sync;",
    "zone_sync_server",
    "svc.cluster.local:12345 resolve;",
]


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[Harness]:
    seed_cluster(dev_cluster)
    with harness(dev_cluster) as created:
        yield created


def service(cluster: DevCluster) -> dict[str, Any] | None:
    return cluster.get_object("Service", NS, SERVICE)


def test_starts_without_zone_sync_then_false(world: Harness) -> None:
    cluster = world.cluster
    version = set_configmap(cluster, {})
    controller = world.start()
    assert eventually(lambda: handled(cluster, version))
    assert "zone_sync" not in controller.main()
    version = set_configmap(cluster, {"zone-sync": "false"})
    assert eventually(lambda: handled(cluster, version))
    assert "zone_sync;" not in controller.main() and "zone_sync_server" not in controller.main()
    assert service(cluster) is None
    assert not events(cluster, "InvalidValue")
    assert controller.ready()


def test_enable_creates_the_service_before_the_block(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {})
    controller = world.start()
    assert eventually(lambda: controller.main() != "")
    set_configmap(cluster, {"zone-sync": "true"})
    service_before_block: list[bool] = []

    def block_written() -> bool:
        if "zone_sync;" in controller.main():
            service_before_block.append(service(cluster) is not None)
            return True
        return False

    assert eventually(block_written, interval=0.001)
    assert service_before_block == [True]
    main = controller.main()
    for line in NIC_ENABLED:
        assert line in main
    assert (
        "zone_sync_server nginx-ingress-headless.nginx-ingress.svc.cluster.local:12345 resolve;"
        in main
    )
    created = cluster.get_object("Service", NS, SERVICE)
    assert created is not None
    spec, metadata = created["spec"], created["metadata"]
    assert spec["clusterIP"] == "None"
    assert spec["selector"] == {
        "app.kubernetes.io/name": "nginx-ingress",
        "app.kubernetes.io/instance": "edge",
    }
    assert "pod-template-hash" not in spec["selector"]
    assert spec["ports"] == [
        {"name": "zone-sync", "port": 12345, "targetPort": 12345, "protocol": "TCP"}
    ]
    assert spec["publishNotReadyAddresses"] is True
    assert metadata["labels"]["app.kubernetes.io/managed-by"] == "nginx-ingress-controller"
    deployment = cluster.get_object("Deployment", NS, "nginx-ingress")
    assert deployment is not None
    assert [(o["kind"], o["uid"]) for o in metadata["ownerReferences"]] == [
        ("Deployment", deployment["metadata"]["uid"])
    ]
    # The sync sets the metric just after it wrote the file the test saw.
    assert eventually(
        lambda: (
            'nginx_ingress_controller_zone_sync_service_ready{class="nginx"} 1.0'
            in controller.metrics()
        )
    )


def test_resolver_valid_and_port_follow_the_configmap(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true", "zone-sync-resolver-valid": "10s"})
    controller = world.start()
    assert eventually(lambda: "valid=10s;" in controller.main())
    assert "resolver kube-dns.kube-system.svc.cluster.local valid=10s;" in controller.main()
    set_configmap(cluster, {"zone-sync": "true", "zone-sync-port": "34100"})
    assert eventually(lambda: "listen 34100;" in controller.main())
    main = controller.main()
    assert "listen [::]:34100;" in main and "svc.cluster.local:34100 resolve;" in main
    assert "12345" not in main
    assert eventually(
        lambda: [p["port"] for p in (service(cluster) or {})["spec"]["ports"]] == [34100]
    )


def test_disable_removes_the_block_before_the_service(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true"})
    controller = world.start()
    assert eventually(lambda: "zone_sync;" in controller.main() and service(cluster) is not None)
    set_configmap(cluster, {"zone-sync": "false"})
    block_when_service_went: list[bool] = []

    def service_gone() -> bool:
        if service(cluster) is None:
            block_when_service_went.append("zone_sync" in controller.main())
            return True
        return False

    assert eventually(service_gone, interval=0.001)
    assert block_when_service_went == [False]
    assert "zone_sync" not in controller.main()


def test_two_controllers_started_together(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true"})
    first = world.start(pod=f"nginx-ingress-{HASH}-0")
    second = world.start(pod=f"nginx-ingress-{HASH}-1")
    assert eventually(lambda: "zone_sync;" in first.main() and "zone_sync;" in second.main())
    assert len(cluster.objects("Service", NS)) == 1
    assert first.alive() and second.alive()


@pytest.mark.parametrize(
    "edit",
    ["delete", {"spec": {"selector": {"app": "hijacked"}}}, {"spec": {"ports": [{"port": 1}]}}],
    ids=["deleted", "selector", "ports"],
)
def test_a_service_changed_by_hand_is_restored(world: Harness, edit: object) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true"})
    controller = world.start()
    assert eventually(lambda: service(cluster) is not None and "zone_sync;" in controller.main())
    original = service(cluster)
    assert original is not None
    if edit == "delete":
        cluster.delete_object("Service", NS, SERVICE)
    else:
        current = service(cluster)
        assert current is not None and isinstance(edit, dict)
        for section, values in edit.items():
            current[section].update(values)
        cluster.seed([current])

    def restored() -> bool:
        now = service(cluster)
        return (
            now is not None
            and now["spec"]["selector"] == original["spec"]["selector"]
            and (now["spec"]["ports"] == original["spec"]["ports"])
        )

    assert eventually(restored)


def test_a_foreign_service_is_left_alone_and_zone_sync_stays_off(world: Harness) -> None:
    cluster = world.cluster
    (foreign,) = cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": SERVICE, "namespace": NS},
                "spec": {"selector": {"app": "billing"}, "ports": [{"port": 5432}]},
            }
        ]
    )
    version = set_configmap(cluster, {"zone-sync": "true"})
    controller = world.start()
    assert eventually(lambda: handled(cluster, version))
    assert eventually(lambda: bool(events(cluster, "ZoneSyncServiceConflict")))
    (conflict,) = events(cluster, "ZoneSyncServiceConflict")
    assert conflict["type"] == "Warning" and conflict["involvedObject"]["name"] == CONFIGMAP
    assert "zone_sync" not in controller.main()
    after = service(cluster)
    assert (
        after is not None
        and after["metadata"]["resourceVersion"] == foreign["metadata"]["resourceVersion"]
    )


def test_hostile_values_are_reported_and_the_rest_applies(world: Harness) -> None:
    from hostile import HOSTILE  # noqa: PLC0415 - the core's corpus

    cluster = world.cluster
    set_configmap(cluster, {})
    controller = world.start()
    assert eventually(lambda: controller.main() != "")
    keys = [
        "zone-sync-port",
        "proxy-connect-timeout",
        "worker-connections",
        "ssl-protocols",
        "set-real-ip-from",
    ]
    for number, (category, value) in enumerate(HOSTILE.items(), start=1):
        data = {
            "zone-sync": "true",
            "proxy-read-timeout": f"{number}s",
            **dict.fromkeys(keys, value),
        }
        version = set_configmap(cluster, data)
        assert eventually(lambda version=version: handled(cluster, version)), category  # type: ignore[misc]
        assert f"proxy_read_timeout {number}s;" in controller.main(), category
        reported = {
            e["message"].split(": ", 2)[1]
            for e in events(cluster, "InvalidValue")
            if e["involvedObject"]["resourceVersion"] == version
        }
        assert reported == set(keys), category
        assert controller.alive()
    assert "zone_sync_server" in controller.main()


def test_a_start_with_zone_sync_on_creates_the_service_first(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true"})
    controller = world.start()
    service_at_first_write: list[bool] = []

    def written() -> bool:
        if controller.main():
            service_at_first_write.append(service(cluster) is not None)
            return True
        return False

    assert eventually(written, interval=0.001)
    assert service_at_first_write == [True]
    assert "zone_sync;" in controller.main()


def test_events_are_not_repeated_by_later_syncs(world: Harness) -> None:
    """A Service repair makes the controller sync again; the ConfigMap did not change, so its
    events are not posted again."""
    cluster = world.cluster
    version = set_configmap(cluster, {"zone-sync": "true", "hsts": "maybe"})
    world.start()
    assert eventually(lambda: handled(cluster, version))
    before = [e["reason"] for e in events(cluster) if e["involvedObject"].get("name") == CONFIGMAP]
    assert sorted(before) == ["InvalidValue", "UpdatedWithError"]
    for _ in range(3):
        cluster.delete_object("Service", NS, SERVICE)
        assert eventually(lambda: service(cluster) is not None)
    after = [e["reason"] for e in events(cluster) if e["involvedObject"].get("name") == CONFIGMAP]
    assert after == before
