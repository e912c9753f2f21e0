"""`-default-server-tls-secret`: a missing Secret is warned about once, not at every sync;
the Secret created is served; deleted, it is warned about once again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nginx_ingress.layout import DEFAULT_SECRET_FILE
from nginx_ingress_dev.devcluster import DevCluster

from backends import Backend
from certificates import make_certificate
from controller_harness import APP, NS, Controller, Harness, app_world, eventually
from ingress_objects import tls_secret

WARNING = f"-default-server-tls-secret {NS}/default-cert does not exist"


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, Backend]]:
    with app_world(dev_cluster, "web") as (box, started):
        yield dev_cluster, box, started["web"]


def churn(cluster: DevCluster, controller: Controller, backend: Backend, tag: int) -> None:
    """Five endpoint changes, each a sync, every one applied."""

    def reloads() -> float:
        return controller.metric("nginx_ingress_controller_nginx_reloads_total", reason="endpoints")

    before = reloads()
    for change in range(1, 6):
        addresses = ["127.0.0.1", f"127.0.{tag}.{change}"]
        cluster.publish_endpoints(APP, "web", addresses, backend.port)
        assert eventually(lambda: reloads() >= before + change)  # noqa: B023 - waited for here


def test_a_missing_default_secret_is_warned_about_once_per_change(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, backend = world
    cluster.seed(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"namespace": APP, "name": "web"},
                "spec": {
                    "ingressClassName": "nginx",
                    "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                },
            }
        ]
    )
    controller = box.start(f"-default-server-tls-secret={NS}/default-cert", plus=False)
    assert eventually(controller.ready, 30)
    churn(cluster, controller, backend, 1)
    assert controller.output().count(WARNING) == 1

    secret = tls_secret("default-cert", make_certificate("default.example"), namespace=NS)
    cluster.seed([{"apiVersion": "v1", "kind": "Secret", **secret}])
    default_file = controller.conf_dir / DEFAULT_SECRET_FILE
    assert eventually(default_file.exists)
    cluster.delete_object("Secret", NS, "default-cert")
    assert eventually(lambda: not default_file.exists())
    churn(cluster, controller, backend, 2)
    assert controller.output().count(WARNING) == 2  # once more, after it was served
