"""Rate limits through a real NGINX (OSS): requests over the limit get its reject code, and
`limit-req-scale` divides the rate by the controller replicas that are ready, following
them as pods come and go."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from backends import Backend
from controller_harness import APP, HASH, NS, Controller, Harness, app_world, eventually

HOST = "limited.example.com"


def limited(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"namespace": APP, "name": "limited", "annotations": annotations},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": HOST,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, Backend]]:
    with app_world(dev_cluster, "web") as (box, started):
        yield dev_cluster, box, started["web"]


def serving(
    world: tuple[DevCluster, Harness, Backend], annotations: dict[str, str]
) -> tuple[DevCluster, Controller]:
    """The `limited` Ingress with `annotations`, and an NGINX OSS controller ready to serve it."""
    cluster, box, _ = world
    cluster.seed([limited(annotations)])
    controller = box.start(plus=False)
    assert eventually(controller.ready, 30)
    return cluster, controller


def statuses(controller: Controller, count: int) -> list[int]:
    found = []
    for _ in range(count):
        answer = controller.request("http", "/", host=HOST)
        found.append(answer[0] if answer else 0)
    return found


def test_requests_over_the_limit_get_the_reject_code(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, controller = serving(
        world, {"nginx.org/limit-req-rate": "1r/s", "nginx.org/limit-req-reject-code": "503"}
    )
    found = statuses(controller, 5)
    assert found[0] == 200 and found.count(503) >= 3, found
    # Without a reject code, NGINX answers 429 (NIC's default), after a pause: a new rate.
    cluster.seed([limited({"nginx.org/limit-req-rate": "2r/s"})])
    assert eventually(lambda: "rate=2r/s" in (rate_file(controller) or ""), 30)
    assert eventually(lambda: 429 in statuses(controller, 4), 30)  # once NGINX reloaded
    time.sleep(1.1)
    found = statuses(controller, 6)
    assert found[0] == 200 and found.count(429) >= 3, found


def rate_file(controller: Controller) -> str | None:
    try:
        return (controller.conf_dir / "conf.d" / f"{APP}-limited.conf").read_text()
    except FileNotFoundError:
        return None


def rate_in(controller: Controller) -> str | None:
    text = rate_file(controller)
    if text is None:
        return None
    match = re.search(r"limit_req_zone \S+ zone=apps/limited:10m rate=(\S+);", text)
    return match.group(1) if match else None


def test_scale_follows_the_ready_controller_replicas(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, controller = serving(
        world, {"nginx.org/limit-req-rate": "60r/m", "nginx.org/limit-req-scale": "true"}
    )
    assert rate_in(controller) == "30r/m"  # the harness runs two ready replicas
    pod = cluster.get_object("Pod", NS, f"nginx-ingress-{HASH}-1")
    assert pod is not None
    third = {
        **pod,
        "metadata": {
            "name": f"nginx-ingress-{HASH}-2",
            "namespace": NS,
            "labels": pod["metadata"]["labels"],
        },
    }
    cluster.seed([third])
    assert eventually(lambda: rate_in(controller) == "20r/m")
    not_ready = {**third, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    cluster.seed([not_ready])
    assert eventually(lambda: rate_in(controller) == "30r/m")
    cluster.delete_object("Pod", NS, f"nginx-ingress-{HASH}-1")
    assert eventually(lambda: rate_in(controller) == "1r/s")
