"""Test hooks: the request log, fault injection, and the
EndpointSlices a controller-manager would publish for a Service.

These act on the server directly (not over HTTP), so a test can arrange state and
failures without going through authentication or the faults it injects.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "devcluster.nginx-ingress"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (watches are logged when they start)."""

    method: str
    path: str
    query: str
    status: int
    user: str
    verb: str
    duration_seconds: float


class RequestLog:
    """The most recent requests, bounded so a long run does not grow memory."""

    def __init__(self, size: int) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


@dataclass(frozen=True)
class FaultRule:
    """Answer requests whose path matches `path_pattern` (an `fnmatch` glob, where `*`
    also crosses `/`) with `status`, after `latency` seconds; `status=None` only delays.
    `times=None` applies for ever."""

    path_pattern: str
    status: int | None = 429
    retry_after: int | None = None
    times: int | None = None
    latency: float = 0.0
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return fnmatch.fnmatchcase(path, self.path_pattern)


class FaultInjector:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule, counting one use of it."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.times is not None:
                    if rule.times <= 1:
                        del self._rules[index]
                    else:
                        self._rules[index] = replace(rule, times=rule.times - 1)
                return rule
        return None


Ports = int | Sequence[int] | Mapping[str, int]


def endpoint_slice(
    namespace: str,
    service: str,
    addresses: Iterable[str],
    ports: Ports,
    *,
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The EndpointSlice the endpoint-slice controller would write for `service`.

    Every address is one ready endpoint; `ports` is one port, a list of ports, or
    `{name: port}` (names must match the Service's port names for a controller to pair
    them). With the Service object as `owner`, deleting the Service collects the slice.
    """
    address_list = list(addresses)
    families = {ipaddress.ip_address(address).version for address in address_list}
    if len(families) > 1:
        raise ValueError("an EndpointSlice holds one address family; publish IPv4 and IPv6 apart")
    address_type = "IPv6" if families == {6} else "IPv4"
    if isinstance(ports, int):
        port_list: list[dict[str, Any]] = [{"name": "", "port": ports, "protocol": "TCP"}]
    elif isinstance(ports, Mapping):
        port_list = [
            {"name": name, "port": port, "protocol": "TCP"} for name, port in ports.items()
        ]
    else:
        port_list = [{"name": "", "port": port, "protocol": "TCP"} for port in ports]
    metadata: dict[str, Any] = {
        "name": f"{service}-devcluster",
        "namespace": namespace,
        "labels": {SERVICE_NAME_LABEL: service, MANAGED_BY_LABEL: MANAGED_BY},
    }
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": metadata,
        "addressType": address_type,
        "endpoints": [
            {
                "addresses": [address],
                "conditions": {"ready": True, "serving": True, "terminating": False},
            }
            for address in address_list
        ],
        "ports": port_list,
    }
