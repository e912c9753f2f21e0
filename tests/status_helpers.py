"""Ingresses, Lease and status readings for the leader-election and Ingress-status tests
that run `nginx-ingress run` processes against the local API server."""

from __future__ import annotations

import re
from typing import Any

from nginx_ingress_dev.devcluster import DevCluster

from controller_harness import NS, Controller

APP = "apps"
LOCK = "nginx-ingress-leader-election"
FAST_ELECTION = (
    "-leader-election-lease-duration=3s",
    "-leader-election-renew-deadline=2s",
    "-leader-election-retry-period=500ms",
)
"""A 3 s lease for the tests that wait for one to expire (NIC's is 30 s)."""
FAST_LEASE_SECONDS = 3.0


def ingress(name: str, *, class_name: str = "nginx", path: str = "/") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"namespace": APP, "name": name, "labels": {"team": "cafe"}},
        "spec": {
            "ingressClassName": class_name,
            "rules": [
                {
                    "host": f"{name}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def seed_ingresses(cluster: DevCluster, names: list[str]) -> None:
    cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}}])
    cluster.seed([ingress(name) for name in names])


def shown(cluster: DevCluster, name: str, namespace: str = APP) -> list[dict[str, Any]] | None:
    """`status.loadBalancer.ingress` of an Ingress; None if it does not exist."""
    found = cluster.get_object("Ingress", namespace, name)
    if found is None:
        return None
    return list(((found.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def all_show(cluster: DevCluster, names: list[str], expected: list[dict[str, str]]) -> bool:
    return all(shown(cluster, name) == expected for name in names)


def status_writes(cluster: DevCluster) -> dict[str, int]:
    """Successful writes of Ingress status, by Ingress name, from the request log."""
    counts: dict[str, int] = {}
    for record in cluster.request_log:
        match = re.fullmatch(
            r"/apis/networking\.k8s\.io/v1/namespaces/[^/]+/ingresses/([^/]+)/status", record.path
        )
        if match and record.method == "PUT" and record.status < 300:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def metric(controller: Controller, name: str, **labels: str) -> float | None:
    """One sample of the controller's /metrics; None if absent or unreadable."""
    try:
        text = controller.metrics()
    except OSError:
        return None
    for line in text.splitlines():
        if not line.startswith(f"nginx_ingress_controller_{name}{{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def leaders(controllers: list[Controller]) -> list[Controller]:
    return [c for c in controllers if c.alive() and metric(c, "leader") == 1.0]


def lease_holder(cluster: DevCluster) -> str | None:
    lease = cluster.get_object("Lease", NS, LOCK)
    return None if lease is None else (lease.get("spec") or {}).get("holderIdentity")
