"""Ingress status as the status reporter reads and writes it, and the objects its
addresses come from (a LoadBalancer Service, the controller's own pods).

The routing view of an Ingress deliberately drops `status`, so that our own status
writes start no sync. The reporter therefore watches Ingresses through a view of its own,
`IngressStatus`: the addresses they show, and the object as read (without
`managedFields`), which is what a status write sends back: the API server takes
metadata from the body of a `/status` update, so a body without the labels and
annotations would remove them. Kept as JSON bytes, it costs about the object's size.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from nginx_ingress.resources.fields import Object, mapping, meta, sequence, string
from nginx_ingress.resources.ingress import CLASS_ANNOTATION


@dataclass(frozen=True, slots=True, order=True)
class LoadBalancerIngress:
    """One entry of `status.loadBalancer.ingress`: an IP address or a host name."""

    ip: str = ""
    hostname: str = ""
    extra: str = ""
    """Any other field an entry has (`ports`, …), as JSON: the reporter never writes one,
    so an entry with it differs from what it reports and is rewritten."""

    @classmethod
    def of_address(cls, address: str) -> LoadBalancerIngress:
        """An IP address as `ip`, anything else as `hostname` (NIC's rule)."""
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return cls(hostname=address)
        return cls(ip=address)

    def to_object(self) -> dict[str, str]:
        return {"ip": self.ip} if self.ip else {"hostname": self.hostname}

    def __str__(self) -> str:
        return self.ip or self.hostname


def load_balancer_of(status: object) -> tuple[LoadBalancerIngress, ...]:
    """`status.loadBalancer.ingress` of an Ingress or a Service, whatever its shape."""
    ignored: list[str] = []
    balancer = mapping(mapping(status, "status", ignored).get("loadBalancer"), "lb", ignored)
    entries = []
    for raw in sequence(balancer.get("ingress"), "ingress", ignored):
        entry = mapping(raw, "entry", ignored)
        rest = {k: v for k, v in entry.items() if k not in ("ip", "hostname")}
        entries.append(
            LoadBalancerIngress(
                ip=string(entry.get("ip"), "ip", ignored),
                hostname=string(entry.get("hostname"), "hostname", ignored),
                extra=orjson.dumps(rest, option=orjson.OPT_SORT_KEYS).decode() if rest else "",
            )
        )
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class IngressStatus:
    key: str
    resource_version: str
    load_balancer: tuple[LoadBalancerIngress, ...]
    body: bytes
    """The object as read, without `metadata.managedFields` (the API server keeps them
    when a write leaves them out)."""
    class_annotation: str | None = None
    """`kubernetes.io/ingress.class`, and below `spec.ingressClassName`: the reporter
    writes only to a version whose class routing has seen, so an Ingress moved to
    another controller is never given our address before routing lets it go."""
    class_name: str = ""

    @classmethod
    def from_object(cls, obj: Object) -> IngressStatus:
        namespace, name, _uid, _created = meta(obj)
        metadata = obj.get("metadata")
        kept = dict(obj)
        if isinstance(metadata, Mapping) and "managedFields" in metadata:
            kept["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
        ignored: list[str] = []
        version = mapping(metadata, "metadata", ignored).get("resourceVersion")
        annotations = mapping(metadata, "metadata", ignored).get("annotations")
        annotation = mapping(annotations, "annotations", ignored).get(CLASS_ANNOTATION)
        spec = mapping(obj.get("spec"), "spec", ignored)
        return cls(
            key=f"{namespace}/{name}",
            resource_version=version if isinstance(version, str) else "",
            load_balancer=load_balancer_of(obj.get("status")),
            body=orjson.dumps(kept),
            class_annotation=annotation if isinstance(annotation, str) else None,
            class_name=string(spec.get("ingressClassName"), "class", ignored),
        )

    def with_load_balancer(self, entries: Iterable[LoadBalancerIngress]) -> dict[str, Any]:
        """The object to PUT to `/status`: as read (its resourceVersion makes the write
        fail with a Conflict if it changed since), with these addresses (none: cleared)."""
        obj: dict[str, Any] = orjson.loads(self.body)
        status = obj.get("status")
        status = dict(status) if isinstance(status, dict) else {}
        listed = [entry.to_object() for entry in entries]
        status["loadBalancer"] = {"ingress": listed} if listed else {}
        obj["status"] = status
        return obj


def service_addresses(obj: Object) -> tuple[LoadBalancerIngress, ...]:
    """What a Service says its external addresses are, as NIC reads them: an ExternalName
    Service's name; else each `status.loadBalancer.ingress` IP (its host name when it has
    no IP), then `spec.externalIPs`. Duplicates are dropped, order kept."""
    ignored: list[str] = []
    spec = mapping(obj.get("spec"), "spec", ignored)
    if string(spec.get("type"), "type", ignored) == "ExternalName":
        name = string(spec.get("externalName"), "externalName", ignored)
        return (LoadBalancerIngress(hostname=name),) if name else ()
    found = [
        LoadBalancerIngress.of_address(entry.ip or entry.hostname)
        for entry in load_balancer_of(obj.get("status"))
        if entry.ip or entry.hostname
    ]
    found += [
        LoadBalancerIngress.of_address(ip)
        for ip in sequence(spec.get("externalIPs"), "externalIPs", ignored)
        if isinstance(ip, str) and ip
    ]
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class PodAddress:
    """A pod of the controller's namespace, as the node-address fallback reads it."""

    name: str
    labels: tuple[tuple[str, str], ...]
    host_ip: str
    running: bool
    """Scheduled, not finished and not being deleted: its node still serves traffic."""

    @classmethod
    def from_object(cls, obj: Object) -> PodAddress:
        ignored: list[str] = []
        _namespace, name, _uid, _created = meta(obj)
        metadata = mapping(obj.get("metadata"), "metadata", ignored)
        labels = mapping(metadata.get("labels"), "labels", ignored)
        status = mapping(obj.get("status"), "status", ignored)
        phase = string(status.get("phase"), "phase", ignored)
        return cls(
            name=name,
            labels=tuple(
                sorted(
                    (k, v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)
                )
            ),
            host_ip=string(status.get("hostIP"), "hostIP", ignored),
            running=phase not in ("Succeeded", "Failed") and not metadata.get("deletionTimestamp"),
        )


def pod_addresses(
    pods: Iterable[PodAddress], selector: Mapping[str, str]
) -> tuple[LoadBalancerIngress, ...]:
    """The node addresses of the running pods `selector` matches, sorted, each once."""
    wanted = set(selector.items())
    hosts = {
        pod.host_ip for pod in pods if pod.running and pod.host_ip and wanted <= set(pod.labels)
    }
    return tuple(LoadBalancerIngress.of_address(host) for host in sorted(hosts))
