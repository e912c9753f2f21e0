"""What the controller tells the user: the summary event never contradicts the warnings before it,
a retry says why, and an apply says which version and which files.

The controller runs as a real process against the local API server (`-nginx-plus
-render-only`, as in the zone-sync tests).
"""

from __future__ import annotations

import re
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
    harness,
    seed_cluster,
    set_configmap,
)

SERVICES_PATH = f"/api/v1/namespaces/{NS}/services"


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[Harness]:
    seed_cluster(dev_cluster)
    with harness(dev_cluster) as created:
        yield created


def summaries(cluster: DevCluster, version: str) -> list[dict[str, Any]]:
    """The Updated and UpdatedWithError events of one version of the ConfigMap, oldest first."""
    return [
        e
        for e in events(cluster)
        if e["involvedObject"].get("name") == CONFIGMAP
        and e["involvedObject"].get("resourceVersion") == version
        and e["reason"] in ("Updated", "UpdatedWithError")
    ]


def reasons(cluster: DevCluster, version: str) -> list[str]:
    """The summary reasons of one version, sorted: events' names do not keep their order."""
    return sorted(e["reason"] for e in summaries(cluster, version))


def logged_in_order(output: str, *fragments: str) -> bool:
    """Each fragment appears in the log, after the one before it."""
    position = 0
    for fragment in fragments:
        position = output.find(fragment, position)
        if position < 0:
            return False
    return True


def test_a_refused_service_gives_updated_with_error_then_updated_once_it_exists(
    world: Harness,
) -> None:
    """A 403 on the Service: zone sync is off, so the summary is UpdatedWithError with the
    reason, and the retry's log line says why. Once the API allows it, the same version of the
    ConfigMap gets its Updated."""
    cluster = world.cluster
    cluster.inject(SERVICES_PATH, 403, method="POST")
    version = set_configmap(cluster, {"zone-sync": "true"})
    controller = world.start()
    assert eventually(lambda: bool(summaries(cluster, version)))
    assert eventually(lambda: bool(events(cluster, "ZoneSyncServiceFailed")))
    (summary,) = summaries(cluster, version)
    assert summary["reason"] == "UpdatedWithError" and summary["type"] == "Warning"
    assert "Zone sync is off until its headless Service is in place" in summary["message"]
    assert "403" in summary["message"]
    assert "zone_sync" not in controller.main()
    retry = re.compile(r"retrying the sync in [0-9.]+s: the zone-sync headless Service: .*403")
    assert eventually(lambda: retry.search(controller.output()) is not None)

    cluster.clear_faults()
    assert eventually(lambda: "zone_sync;" in controller.main(), 40)
    assert eventually(lambda: reasons(cluster, version) == ["Updated", "UpdatedWithError"])
    assert logged_in_order(controller.output(), "UpdatedWithError:", "Updated: ")


def test_a_foreign_service_gives_updated_with_error_until_it_is_gone(world: Harness) -> None:
    cluster = world.cluster
    cluster.seed(
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
    assert eventually(lambda: bool(summaries(cluster, version)))
    assert eventually(lambda: bool(events(cluster, "ZoneSyncServiceConflict")))
    (summary,) = summaries(cluster, version)
    assert summary["reason"] == "UpdatedWithError"
    assert (
        f"Zone sync is off: Service {NS}/{SERVICE} exists and is not managed by this controller"
        in summary["message"]
    )
    # A conflict is not retried on a timer: the Service's watch brings the change.
    assert "retrying the sync" not in controller.output()

    cluster.delete_object("Service", NS, SERVICE)
    assert eventually(lambda: "zone_sync;" in controller.main())
    assert eventually(lambda: reasons(cluster, version) == ["Updated", "UpdatedWithError"])
    assert logged_in_order(controller.output(), "UpdatedWithError:", "Updated: ")


def test_a_missing_pod_gives_updated_with_error(world: Harness) -> None:
    """Without its own Pod the controller cannot find the Service's selector."""
    cluster = world.cluster
    version = set_configmap(cluster, {"zone-sync": "true"})
    controller = world.start(pod=f"nginx-ingress-{HASH}-gone")
    assert eventually(lambda: bool(summaries(cluster, version)))
    (summary,) = summaries(cluster, version)
    assert summary["reason"] == "UpdatedWithError"
    assert "cannot read the controller's own Pod" in summary["message"]
    (failed,) = events(cluster, "ZoneSyncServiceFailed")
    assert "cannot read the controller's own Pod" in failed["message"]
    assert eventually(lambda: "retrying the sync in" in controller.output())
    assert "zone_sync" not in controller.main()


def test_invalid_values_and_zone_sync_off_are_both_named(world: Harness) -> None:
    cluster = world.cluster
    cluster.inject(SERVICES_PATH, 403, method="POST")
    version = set_configmap(cluster, {"zone-sync": "true", "hsts": "maybe"})
    world.start()
    assert eventually(lambda: bool(summaries(cluster, version)))
    (summary,) = summaries(cluster, version)
    assert summary["message"].startswith(
        f"ConfigMap {NS}/{CONFIGMAP} updated with errors. Ignoring invalid values; "
        "zone sync is off until"
    )


def test_a_clean_configmap_is_updated_without_error(world: Harness) -> None:
    cluster = world.cluster
    version = set_configmap(cluster, {"zone-sync": "true"})
    world.start()
    assert eventually(lambda: bool(summaries(cluster, version)))
    (summary,) = summaries(cluster, version)
    assert summary["reason"] == "Updated" and summary["type"] == "Normal"
    assert summary["message"] == f"ConfigMap {NS}/{CONFIGMAP} updated without error"


def test_render_only_logs_each_version_and_the_files_it_wrote(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {})
    controller = world.start()
    first = (
        f"configuration version 1 written to {controller.conf_dir} (-render-only, NGINX is not "
        "run): wrote conf.d/_default-server.conf, nginx.conf, config-version.conf\n"
    )
    assert eventually(lambda: first in controller.output())
    set_configmap(cluster, {"proxy-read-timeout": "42s"})
    second = "configuration version 2 written to "
    assert eventually(lambda: second in controller.output())
    (line,) = [line for line in controller.output().splitlines() if second in line]
    assert line.endswith("wrote nginx.conf, config-version.conf")


def test_real_nginx_logs_start_and_reload_with_what_changed(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {})
    controller = world.start(plus=False)
    started = (
        "configuration version 1 applied, NGINX started: changed conf.d/_default-server.conf, "
        "nginx.conf\n"
    )
    assert eventually(lambda: started in controller.output())
    set_configmap(cluster, {"default-server-return": "444"})
    reloaded = (
        "configuration version 2 applied, NGINX reloaded: changed conf.d/_default-server.conf\n"
    )
    assert eventually(lambda: reloaded in controller.output())
