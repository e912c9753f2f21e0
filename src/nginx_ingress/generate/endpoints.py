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

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from nginx_ingress.resources import BackendRef, EndpointSlice, Service
from nginx_ingress.values import HostKind, HostPort

_ADDRESS_KINDS = {"IPv4": (4, HostKind.IPV4), "IPv6": (6, HostKind.IPV6)}


@dataclass(frozen=True, slots=True)
class Resolved:
    servers: tuple[HostPort, ...]
    problem: str | None = None
    """Why the backend has no servers when that is not simply "no ready endpoint"."""


def resolve(
    backend: BackendRef, service: Service | None, slices: Iterable[EndpointSlice]
) -> Resolved:
    """The upstream servers of `backend`; an empty tuple means 502 for its locations."""
    name = f"{service.namespace}/{service.name}" if service else backend.service
    if service is None:
        return Resolved((), f"Service {backend.service} not found")
    if service.type == "ExternalName":
        return Resolved((), f"Service {name} is an ExternalName Service, which is not supported")
    port = service.port(backend.port_number, backend.port_name)
    if port is None:
        return Resolved((), f"Service {name} has no port {backend.port}")
    ready: set[HostPort] = set()
    terminating: set[HostPort] = set()
    for endpoint_slice in slices:
        kind = _ADDRESS_KINDS.get(endpoint_slice.address_type)
        target = next((p for p in endpoint_slice.ports if p.name == port.name), None)
        if kind is None or target is None or target.port is None:
            continue
        if target.protocol != port.protocol or not 1 <= target.port <= 65535:
            continue
        version, host_kind = kind
        for endpoint in endpoint_slice.endpoints:
            address = _address(endpoint.address, version)
            if address is None:
                continue
            server = HostPort(address, host_kind, target.port)
            if endpoint.ready:
                ready.add(server)
            elif endpoint.serving and endpoint.terminating:
                terminating.add(server)
    chosen = ready or terminating
    return Resolved(tuple(sorted(chosen, key=_order)))


def _address(text: str, version: int) -> str | None:
    """The address in its canonical spelling, or None when it is not of `version`."""
    if not text.isascii() or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(address) if address.version == version else None


def _order(server: HostPort) -> tuple[int, bytes, int]:
    address = ipaddress.ip_address(server.host)
    return (address.version, address.packed, server.port or 0)
