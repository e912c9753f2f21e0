"""A Service port's upstream servers, from the Service's EndpointSlices.

- The backend names the Service port by number or by name; each slice then says
  which target port its endpoints listen on for that Service port (its `ports`
  entry of the same name), so named and numeric target ports both resolve per
  slice, as kube-proxy does.
- Ready endpoints only. When none is ready, serving endpoints that are already
  terminating are used instead (kube-proxy's fallback, so a rolling update of a
  one-pod Service does not fail requests while the old pod drains).
- A nil `ready`/`serving` condition counts as true, as the API defines it (NIC
  counts a nil `ready` as false).
- IPv4 and IPv6 slices both count; FQDN slices are skipped. Servers are
  de-duplicated and sorted, so an unchanged set renders the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nginx_ingress.resources import BackendRef, EndpointSlice, Service
from nginx_ingress.values import HostKind, HostPort

_KINDS = {"IPv4": HostKind.IPV4, "IPv6": HostKind.IPV6}


@dataclass(frozen=True, slots=True)
class Resolved:
    servers: tuple[HostPort, ...]
    problem: str | None = None
    """Why the backend has no servers when that is not simply "no ready endpoint"."""
    missing: bool = False
    """The problem is that the Service does not exist (a state of the cluster)."""


def resolve(
    backend: BackendRef, namespace: str, service: Service | None, slices: Iterable[EndpointSlice]
) -> Resolved:
    """The upstream servers of `backend` (of an Ingress in `namespace`); an empty tuple
    means 502 for its locations."""
    name = f"{namespace}/{backend.service}"
    if service is None:
        return Resolved((), f"Service {name} not found", missing=True)
    if service.type == "ExternalName":
        return Resolved((), f"Service {name} is an ExternalName Service, which is not supported")
    port = service.port(backend.port_number, backend.port_name)
    if port is None:
        return Resolved((), f"Service {name} has no port {backend.port}")
    ready: dict[tuple[int, bytes, int], HostPort] = {}
    terminating: dict[tuple[int, bytes, int], HostPort] = {}
    for endpoint_slice in slices:
        kind = _KINDS.get(endpoint_slice.address_type)
        target = next((p for p in endpoint_slice.ports if p.name == port.name), None)
        if kind is None or target is None or target.port is None:
            continue
        if target.protocol != port.protocol or not 1 <= target.port <= 65535:
            continue
        family = 4 if kind is HostKind.IPV4 else 6
        for endpoint in endpoint_slice.endpoints:
            key = (family, endpoint.order or endpoint.address.encode(), target.port)
            if endpoint.ready:
                ready[key] = HostPort(endpoint.address, kind, target.port)
            elif endpoint.serving and endpoint.terminating:
                terminating[key] = HostPort(endpoint.address, kind, target.port)
    chosen = ready or terminating
    return Resolved(tuple(chosen[key] for key in sorted(chosen)))
