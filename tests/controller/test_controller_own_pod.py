"""The controller's own Pod, unreadable: `limit-req-scale` counts one replica, the read is
retried with a backoff (not once per sync while endpoints churn), and the count follows as
soon as the Pod can be read, with no other change to wake the controller."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from backends import Backend
from controller_harness import APP, HASH, NS, Harness, app_world, eventually

HOST = "limited.example.com"
MISSING = f"nginx-ingress-{HASH}-gone"


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, Backend]]:
    with app_world(dev_cluster, "web") as (box, started):
        yield dev_cluster, box, started["web"]


def scaled_ingress() -> dict[str, object]:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 80}}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "namespace": APP,
            "name": "limited",
            "annotations": {
                "nginx.org/limit-req-rate": "60r/m",
                "nginx.org/limit-req-scale": "true",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": HOST, "http": {"paths": [path]}}],
        },
    }


def endpoint_reloads(metrics: str) -> float:
    found = re.search(r'nginx_reloads_total\{class="nginx",reason="endpoints"\} (\S+)', metrics)
    return float(found[1]) if found else 0.0


def test_an_unreadable_own_pod_is_read_again_with_a_backoff_not_per_sync(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, backend = world
    cluster.seed([scaled_ingress()])
    controller = box.start(plus=False, pod=MISSING)
    assert eventually(controller.ready, 30)
    rate_file = controller.conf_dir / "conf.d" / f"{APP}-limited.conf"
    assert "rate=1r/s;" in rate_file.read_text()  # one replica counted: the rate as given
    assert eventually(lambda: "counts 1 replica" in controller.output())

    pod_path = f"/api/v1/namespaces/{NS}/pods/{MISSING}"
    cluster.clear_request_log()
    before = endpoint_reloads(controller.metrics())
    for change in range(24):  # endpoint churn: a sync (and a reload) per change
        addresses = ["127.0.0.1", f"127.0.1.{change + 1}"]
        cluster.publish_endpoints(APP, "web", addresses, backend.port)
        time.sleep(0.25)
    assert eventually(lambda: endpoint_reloads(controller.metrics()) - before >= 12)
    reads = [r for r in cluster.request_log if r.method == "GET" and r.path == pod_path]
    # The backoff (0.8 s doubling, with jitter) allows at most 5 reads in those 6 s.
    assert 1 <= len(reads) <= 6, len(reads)

    # The Pod appears (a third ready replica beside the harness's two): the retry reads it.
    pod = cluster.get_object("Pod", NS, f"nginx-ingress-{HASH}-0")
    assert pod is not None
    cluster.seed(
        [
            {
                **pod,
                "metadata": {"name": MISSING, "namespace": NS, "labels": pod["metadata"]["labels"]},
            }
        ]
    )
    assert eventually(lambda: "rate=20r/m;" in rate_file.read_text(), 60)
