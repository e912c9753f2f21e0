"""The `chart_world` fixture: a local API server with the chart's kinds and live RBAC, Helm,
and the controller run as the installed chart's pods, with the chart's ServiceAccount token.

Scenarios under the chart's RBAC use it: the zone-sync lifecycle today
(tests/deploy/test_chart_rbac.py), the routing scenarios when routing lands: install, seed an
Ingress, its Service and EndpointSlice (`cluster.publish_endpoints`), `start`, then assert on
the controllers' files and on `forbidden()` and `unused_grants()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from chart_cluster import (
    ADMIN_TOKEN,
    chart_cluster,
    service_account_user,
    start_pods,
)
from chart_controller import PodRun, service_account_kubeconfig
from chart_render import NAMESPACE, RELEASE, documents, one, workload
from controller_harness import Controller
from helm_client import Helm
from rbac_usage import Grant, grants, unused, uses

SERVICE_ACCOUNT = RELEASE  # the chart's <fullname> for release nginx-ingress
USER = service_account_user(NAMESPACE, SERVICE_ACCOUNT)


@dataclass
class ChartWorld:
    cluster: DevCluster
    helm: Helm
    pods: PodRun
    controllers: list[Controller]

    def install(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        return documents(self.helm.install(RELEASE, NAMESPACE, values)["manifest"])

    def upgrade(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        return documents(self.helm.upgrade(RELEASE, NAMESPACE, values)["manifest"])

    def start(self, rendered: list[dict[str, Any]], replicas: int) -> list[Controller]:
        """Pods of the stored workload, as its controller would create them, each running
        `nginx-ingress run` with the container's arguments."""
        shown = workload(rendered)
        stored = self.cluster.get_object(shown["kind"], NAMESPACE, shown["metadata"]["name"])
        assert stored is not None
        assert stored["spec"]["template"]["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
        started = [
            self.pods.start(stored, name) for name in start_pods(self.cluster, stored, replicas)
        ]
        self.controllers += started
        return started

    def forbidden(self) -> list[str]:
        return [
            f"{u.verb} {u.resource} {u.namespace}/{u.name}"
            for u, status in uses(self.cluster.request_log, USER)
            if status == 403
        ]

    def unused_grants(
        self, rendered: list[dict[str, Any]], pending: Callable[[Grant], bool]
    ) -> tuple[set[Grant], set[Grant]]:
        """Granted, never used, and not pending; pending, yet used."""
        role = self.cluster.get_object("Role", NAMESPACE, one(rendered, "Role")["metadata"]["name"])
        cluster_role = self.cluster.get_object(
            "ClusterRole", "", one(rendered, "ClusterRole")["metadata"]["name"]
        )
        granted = grants(role, cluster_role)
        used = [u for u, status in uses(self.cluster.request_log, USER) if status < 400]
        never = unused(granted, used)
        return {g for g in never if not pending(g)}, {g for g in granted - never if pending(g)}


@pytest.fixture
def chart_world(tmp_path: Path) -> Iterator[ChartWorld]:
    with chart_cluster(NAMESPACE, SERVICE_ACCOUNT, tmp_path) as cluster:
        admin = cluster.write_kubeconfig(tmp_path / "kubeconfig", token=ADMIN_TOKEN)
        pods = PodRun(cluster, service_account_kubeconfig(cluster, tmp_path), tmp_path)
        with Helm(admin) as helm:
            world = ChartWorld(cluster, helm, pods, [])
            try:
                yield world
            except BaseException:
                for controller in world.controllers:
                    print(f"--- controller log {controller.log} ---\n{controller.output()[-6000:]}")
                raise
            finally:
                for controller in world.controllers:
                    if controller.alive():
                        controller.stop()
