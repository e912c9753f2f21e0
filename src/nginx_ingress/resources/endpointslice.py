"""EndpointSlice (`discovery.k8s.io/v1`): the addresses behind a Service."""

from __future__ import annotations

import ipaddress
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
_VERSIONS = {"IPv4": 4, "IPv6": 6}


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
        version = _VERSIONS.get(address_type)
        endpoints = []
        for i, raw in enumerate(sequence(obj.get("endpoints"), "endpoints", problems)):
            endpoint = mapping(raw, f"endpoints[{i}]", problems)
            addresses = sequence(endpoint.get("addresses"), "addresses", problems)
            if not addresses or version is None:
                continue
            address = _address(addresses[0], version)
            if address is None:
                continue
            conditions = mapping(endpoint.get("conditions"), "conditions", problems)
            # The API: a nil `ready` (or `serving`) means true; nil `terminating` means false.
            ready = boolean(conditions.get("ready"), "ready", problems)
            serving = boolean(conditions.get("serving"), "serving", problems)
            terminating = boolean(conditions.get("terminating"), "terminating", problems)
            endpoints.append(
                Endpoint(
                    address=str(address),
                    ready=ready is not False,
                    serving=serving is not False if serving is not None else ready is not False,
                    terminating=terminating is True,
                    order=address.packed,
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


def _address(text: object, version: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address when it is one of `version` (FQDN slices and bad values are skipped)."""
    if not isinstance(text, str) or not text.isascii() or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address if address.version == version else None
