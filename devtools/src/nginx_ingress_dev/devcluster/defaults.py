"""Defaults the real API server fills in on create, for the fields the controller reads.

Only a handful: a Namespace is `Active`, a Service gets its type, a cluster IP from
10.96.0.0/12 (headless Services keep `None`), and per-port `protocol`/`targetPort`,
a new Pod is `Pending`. Everything else is stored as sent.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
from typing import Any

from nginx_ingress_dev.devcluster.resources import ResourceType

_SERVICE_NETWORK = ipaddress.IPv4Network("10.96.0.0/12")


class ClusterIPAllocator:
    """Hands out Service cluster IPs in order; thread-safe, never reuses one."""

    def __init__(self) -> None:
        self._next = itertools.count(1)
        self._lock = threading.Lock()

    def allocate(self) -> str:
        with self._lock:
            offset = next(self._next)
        return str(_SERVICE_NETWORK[offset % (_SERVICE_NETWORK.num_addresses - 2) + 1])


def apply_create_defaults(
    resource: ResourceType, obj: dict[str, Any], allocator: ClusterIPAllocator
) -> None:
    """Fill in server defaults on an object about to be created (mutates `obj`)."""
    if resource.group != "":
        return
    if resource.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active", **(obj.get("status") or {})}
    elif resource.kind == "Pod":
        obj["status"] = {"phase": "Pending", **(obj.get("status") or {})}
    elif resource.kind == "Service":
        _default_service(obj.setdefault("spec", {}), allocator)


def _default_service(spec: dict[str, Any], allocator: ClusterIPAllocator) -> None:
    service_type = spec.setdefault("type", "ClusterIP")
    if service_type != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocator.allocate()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
