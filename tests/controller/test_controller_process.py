"""The controller process: real NGINX, signals, exit codes, listeners, API failures and outages."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from nginx_ingress.nginx.confirm import config_version
from nginx_ingress_dev.devcluster import DevCluster, RequestRecord

from controller_harness import (
    COMMAND,
    NS,
    SA_TOKEN,
    SERVICE,
    Harness,
    events,
    eventually,
    handled,
    harness,
    rbac_cluster,
    seed_cluster,
    set_configmap,
)
from nginx_sandbox import free_port


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[Harness]:
    seed_cluster(dev_cluster)
    with harness(dev_cluster) as created:
        yield created


def process_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of every process."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            yield int(entry), fields


def nginx_pids(controller_pid: int) -> list[int]:
    """NGINX masters whose parent is the controller process."""
    return [pid for pid, fields in process_stats() if fields[1] == str(controller_pid)]


def test_oss_serves_with_real_nginx_and_stops_cleanly_on_sigterm(world: Harness) -> None:
    cluster = world.cluster
    version = set_configmap(cluster, {"proxy-read-timeout": "42s"})
    controller = world.start(plus=False)
    assert controller.http_status("ready", "/nginx-ready") in (None, 503)
    assert eventually(controller.ready)
    assert eventually(lambda: handled(cluster, version))
    assert "proxy_read_timeout 42s;" in controller.main()
    assert controller.http_status("http", "/anything") == 404  # NGINX's catch-all server answers
    assert config_version(controller.root / "run" / "nginx-config-version.sock") == 1
    metrics = controller.metrics()
    assert (
        'nginx_ingress_controller_nginx_reloads_total{class="nginx",reason="other"} 1.0' in metrics
    )
    assert 'nginx_ingress_controller_nginx_last_reload_status{class="nginx"} 1.0' in metrics
    (master,) = nginx_pids(controller.process.pid)

    version = set_configmap(cluster, {"proxy-read-timeout": "43s"})
    assert eventually(lambda: "proxy_read_timeout 43s;" in controller.main())
    assert eventually(
        lambda: config_version(controller.root / "run" / "nginx-config-version.sock") == 2
    )

    assert controller.stop(signal.SIGTERM) == 0
    assert eventually(lambda: not os.path.exists(f"/proc/{master}"), 10)
    assert controller.http_status("http", "/") is None
    # Every watch's connection went back to the pool at once: it holds them all.
    assert "Connection pool is full" not in controller.output()


def session_members(session: int) -> list[int]:
    """Live processes of a session (NGINX's master and workers share the master's)."""
    return [
        pid for pid, fields in process_stats() if fields[0] != "Z" and int(fields[3]) == session
    ]


def test_nginx_killed_from_outside_makes_the_controller_exit_non_zero(world: Harness) -> None:
    """Its workers go too: left running, they held the ports and the config-version socket,
    and the next start failed with "Address already in use"."""
    set_configmap(world.cluster, {})
    controller = world.start(plus=False)
    assert eventually(controller.ready)
    (master,) = nginx_pids(controller.process.pid)
    assert len(session_members(master)) > 1  # the master and its workers
    os.kill(master, signal.SIGKILL)
    assert controller.process.wait(30) == 1
    assert "NGINX exited" in controller.output()
    assert session_members(master) == []
    assert controller.http_status("http", "/") is None
    again = world.start(plus=False, root=controller.root)
    assert eventually(again.ready)


def test_the_controller_killed_takes_nginx_with_it(world: Harness) -> None:
    """SIGKILL (or the OOM killer) gives the controller no chance to stop NGINX: the kernel
    sends the master SIGTERM (PR_SET_PDEATHSIG), and the master ends its workers."""
    set_configmap(world.cluster, {})
    controller = world.start(plus=False)
    assert eventually(controller.ready)
    (master,) = nginx_pids(controller.process.pid)
    controller.process.kill()
    assert controller.process.wait(10) == -signal.SIGKILL
    assert eventually(lambda: session_members(master) == [], 10)
    assert not (controller.root / "run" / "nginx-config-version.sock").exists()
    assert controller.http_status("http", "/") is None


def test_oss_deletes_a_service_left_by_a_plus_run(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true"})
    plus = world.start()
    assert eventually(lambda: cluster.get_object("Service", NS, SERVICE) is not None)
    assert plus.stop() == 0
    version = set_configmap(cluster, {"zone-sync": "true", "proxy-read-timeout": "9s"})
    world.start(plus=False)
    assert eventually(lambda: cluster.get_object("Service", NS, SERVICE) is None)
    assert eventually(lambda: handled(cluster, version))
    (refused,) = [
        e
        for e in events(cluster, "InvalidValue")
        if e["involvedObject"]["resourceVersion"] == version
    ]
    assert 'zone-sync: invalid value "true": requires NGINX Plus' in refused["message"]


def test_a_forbidden_service_create_is_reported_retried_and_serving_goes_on(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """The controller's Role lacks `create` on Services: a Warning, backoff retries, and
    NGINX keeps its configuration without the zone-sync server."""
    read = ["get", "list", "watch"]
    rules = [
        {"apiGroups": [""], "resources": ["configmaps", "pods", "services"], "verbs": read},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": read},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    cluster = rbac_cluster(dev_cluster_factory, rules)
    seed_cluster(cluster)
    set_configmap(cluster, {"zone-sync": "true"})
    with harness(cluster) as world:
        world.kubeconfig = cluster.write_kubeconfig(world.root / "kubeconfig-sa", token=SA_TOKEN)
        controller = world.start()
        assert eventually(lambda: bool(events(cluster, "ZoneSyncServiceFailed")))
        (failed,) = events(cluster, "ZoneSyncServiceFailed")
        assert "403" in failed["message"] and failed["type"] == "Warning"

        def creates() -> list[RequestRecord]:
            return [
                r
                for r in cluster.request_log
                if r.method == "POST" and r.path.endswith("/services")
            ]

        assert eventually(lambda: len(creates()) >= 3, 20)
        assert all(r.status == 403 for r in creates())
        assert controller.main() != "" and "zone_sync" not in controller.main()
        assert controller.alive() and controller.ready()
        assert len(events(cluster, "ZoneSyncServiceFailed")) == 1  # once per distinct error


def test_the_api_server_gone_for_30_seconds_and_back(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    port = free_port()
    cluster = dev_cluster_factory(port=port)
    seed_cluster(cluster)
    set_configmap(cluster, {"zone-sync": "true"})
    with harness(cluster) as world:
        controller = world.start()
        assert eventually(lambda: "zone_sync;" in controller.main())
        cluster.stop()
        # While it is gone, zone sync is switched off and an unrelated key changes.
        version = set_configmap(cluster, {"zone-sync": "false", "proxy-send-timeout": "31s"})
        time.sleep(30)
        assert controller.alive() and "zone_sync;" in controller.main()
        cluster.start()
        assert eventually(lambda: handled(cluster, version), 60)
        assert "zone_sync" not in controller.main()
        assert "proxy_send_timeout 31s;" in controller.main()
        assert eventually(lambda: cluster.get_object("Service", NS, SERVICE) is None, 30)


def test_a_configmap_deleted_during_a_compacted_gap_is_seen(world: Harness) -> None:
    cluster = world.cluster
    set_configmap(cluster, {"zone-sync": "true", "proxy-read-timeout": "77s"})
    controller = world.start()
    assert eventually(lambda: "proxy_read_timeout 77s;" in controller.main())
    assert cluster.wait_for_watchers("configmaps")
    cluster.inject(f"/api/v1/namespaces/{NS}/configmaps", 500, method="GET")
    cluster.drop_watches()
    cluster.delete_object("ConfigMap", NS, "nginx-config")
    cluster.compact()
    cluster.clear_faults()
    assert eventually(lambda: "proxy_read_timeout 60s;" in controller.main())  # defaults again
    assert "zone_sync" not in controller.main()
    assert eventually(lambda: cluster.get_object("Service", NS, SERVICE) is None)


def test_listeners_can_be_switched_off(world: Harness) -> None:
    set_configmap(world.cluster, {})
    controller = world.start("-ready-status=false", "-enable-prometheus-metrics=false")
    assert eventually(lambda: controller.main() != "")
    assert controller.http_status("ready", "/nginx-ready") is None
    assert controller.http_status("metrics", "/metrics") is None


@pytest.mark.parametrize(
    ("environ", "flags", "message"),
    [
        ({"POD_NAMESPACE": "nginx-ingress"}, [], "POD_NAMESPACE and POD_NAME must be set"),
        ({"POD_NAME": "x"}, [], "POD_NAMESPACE and POD_NAME must be set"),
        (
            {"POD_NAMESPACE": "nginx-ingress", "POD_NAME": "x"},
            ["-zone-sync-service-name=Not_A_Name"],
            "-zone-sync-service-name: 'Not_A_Name' is not a valid Service name",
        ),
        (
            {"POD_NAMESPACE": "nginx-ingress", "POD_NAME": "x"},
            ["-zone-sync-service-name=" + "a" * 64],
            "at most 63 characters",
        ),
        (
            {"POD_NAMESPACE": "nginx-ingress", "POD_NAME": "x"},
            ["-nginx-configmaps=noslash"],
            "NAMESPACE/NAME",
        ),
        (
            {"POD_NAMESPACE": "nginx-ingress", "POD_NAME": "x"},
            ["-zone-sync-service-selector=a"],
            "label pair",
        ),
        (
            {"POD_NAMESPACE": "nginx-ingress", "POD_NAME": "x"},
            ["--kubeconfig=/nonexistent"],
            "cannot load",
        ),
        (
            {"POD_NAMESPACE": "nginx-ingress", "POD_NAME": "x"},
            ["-nginx-binary=/nonexistent/nginx"],
            "is not an executable NGINX",
        ),
    ],
)
def test_start_up_refuses_bad_settings_clearly(
    environ: dict[str, str], flags: list[str], message: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("POD_NAMESPACE", "POD_NAME")}
    completed = subprocess.run(
        [str(COMMAND), "run", "--kubeconfig=/dev/null", *flags],
        env={**clean, **environ},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2
    assert message in completed.stderr and "Traceback" not in completed.stderr
