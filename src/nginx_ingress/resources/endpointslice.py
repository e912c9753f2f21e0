"""EndpointSlice (`discovery.k8s.io/v1`): the addresses behind a Service."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from nginx_ingress.resources.fields import (
    Object,
    boolean,
    integer,
    mapping,
    meta,
    sequence,
    string,
    string_map,
)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_FAMILIES = {"IPv4": socket.AF_INET, "IPv6": socket.AF_INET6}


@dataclass(frozen=True, slots=True)
class SlicePort:
    name: str
    """The Service port's name ("" for a Service's single unnamed port)."""
    port: int | None
    """The target port on the endpoints, already resolved for named target ports."""
    protocol: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    """The first address (kube-proxy uses only that one too), in its canonical spelling."""
    ready: bool
    serving: bool
    terminating: bool
    order: bytes = b""
    """The packed address, for sorting (parsed once, here, not once per Ingress)."""


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    namespace: str
    name: str
    service: str
    """The owning Service's name, from the `kubernetes.io/service-name` label."""
    address_type: str
    ports: tuple[SlicePort, ...]
    endpoints: tuple[Endpoint, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.service}"

    @classmethod
    def from_object(cls, obj: Object) -> EndpointSlice:
        problems: list[str] = []
        namespace, name, _uid, _created = meta(obj)
        metadata = mapping(obj.get("metadata"), "metadata", problems)
        labels = string_map(metadata.get("labels"), "metadata.labels", problems)
        ports = []
        for i, raw in enumerate(sequence(obj.get("ports"), "ports", problems)):
            port = mapping(raw, f"ports[{i}]", problems)
            ports.append(
                SlicePort(
                    name=string(port.get("name"), "name", problems),
                    port=integer(port.get("port"), "port", problems),
                    protocol=string(port.get("protocol"), "protocol", problems) or "TCP",
                )
            )
        address_type = string(obj.get("addressType"), "addressType", problems)
        family = _FAMILIES.get(address_type)
        endpoints = []
        for i, raw in enumerate(sequence(obj.get("endpoints"), "endpoints", problems)):
            endpoint = mapping(raw, f"endpoints[{i}]", problems)
            addresses = sequence(endpoint.get("addresses"), "addresses", problems)
            if not addresses or family is None:
                continue
            address = _address(addresses[0], family)
            if address is None:
                continue
            conditions = mapping(endpoint.get("conditions"), "conditions", problems)
            # The API: a nil `ready` (or `serving`) means true; nil `terminating` means false.
            ready = boolean(conditions.get("ready"), "ready", problems)
            serving = boolean(conditions.get("serving"), "serving", problems)
            terminating = boolean(conditions.get("terminating"), "terminating", problems)
            endpoints.append(
                Endpoint(
                    address=address[0],
                    ready=ready is not False,
                    serving=serving is not False if serving is not None else ready is not False,
                    terminating=terminating is True,
                    order=address[1],
                )
            )
        return cls(
            namespace=namespace,
            name=name,
            service=labels.get(SERVICE_NAME_LABEL, ""),
            address_type=address_type,
            ports=tuple(ports),
            endpoints=tuple(endpoints),
        )


def _address(text: object, family: int) -> tuple[str, bytes] | None:
    """(canonical spelling, packed bytes) of an address of `family`, or None (FQDN slices,
    bad values). `inet_pton` refuses leading zeros, scope IDs and spaces, as it should, at a
    tenth of `ipaddress`'s cost: slices are most of what a big cluster lists."""
    if not isinstance(text, str):
        return None
    try:
        packed = socket.inet_pton(family, text)
    except (OSError, ValueError):
        return None
    return socket.inet_ntop(family, packed), packed
