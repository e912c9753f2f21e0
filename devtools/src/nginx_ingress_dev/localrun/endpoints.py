"""EndpointSlices for Services whose selector matches no pod, from an annotation.

In a cluster the EndpointSlice controller lists a Service's ready pods; on a
workstation nothing runs as a pod, so a Service says where its backends listen:

    metadata:
      annotations:
        nginx-ingress.dev/endpoints: "127.0.0.1:9081, 127.0.0.1:9082"

Each address is `IP:PORT` (`[IPv6]:PORT`); the port is where the program listens,
for every port of the Service (the slice names them as the Service does, which is
how the controller pairs them). The slices are owned by their Service, so they go
with it, and labelled as managed here, so a slice written by anyone else is never
touched. A Service whose selector matches a pod gets nothing from the annotation:
there the pods would be the endpoints.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nginx_ingress_dev.devcluster.errors import ApiError, NotFound
from nginx_ingress_dev.devcluster.seeding import SeedError, seed_objects
from nginx_ingress_dev.devcluster.store import Store

ENDPOINTS_ANNOTATION = "nginx-ingress.dev/endpoints"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "nginx-ingress-dev"
_ADDRESS = re.compile(r"(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:\[\]]+)):(?P<port>\d{1,5})")


@dataclass(frozen=True, order=True)
class LocalAddress:
    ip: str
    port: int

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.ip).version

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.ip).is_loopback

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if self.version == 6 else f"{self.ip}:{self.port}"


def parse_addresses(text: str) -> tuple[LocalAddress, ...]:
    """The addresses of the annotation, sorted and without duplicates; `ValueError` with a
    message naming the first entry that is not `IP:PORT`."""
    found: set[LocalAddress] = set()
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        match = _ADDRESS.fullmatch(entry)
        ip = match and (match["v6"] or match["v4"])
        try:
            parsed = ipaddress.ip_address(ip or "")
        except ValueError:
            parsed = None
        if match is None or parsed is None or (match["v6"] is None) != (parsed.version == 4):
            raise ValueError(f"{entry!r} is not IP:PORT (an address such as 127.0.0.1:9081)")
        port = int(match["port"])
        if not 1 <= port <= 65535:
            raise ValueError(f"{entry!r}: the port must be from 1 to 65535")
        found.add(LocalAddress(str(parsed), port))
    if not found:
        raise ValueError("no address (IP:PORT, separated by commas)")
    return tuple(sorted(found))


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """A Service selector (equality only) against a pod's labels; no selector selects none."""
    return bool(selector) and all(labels.get(k) == v for k, v in (selector or {}).items())


def desired_slices(
    service: Mapping[str, Any], addresses: Sequence[LocalAddress]
) -> dict[str, dict[str, Any]]:
    """name → EndpointSlice: one slice per address family and port (a slice has one of each)."""
    metadata = service["metadata"]
    name, namespace = metadata["name"], metadata["namespace"]
    service_ports = [
        p for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p, dict)
    ]
    groups: dict[tuple[int, int], list[LocalAddress]] = {}
    for address in addresses:
        groups.setdefault((address.version, address.port), []).append(address)
    slices: dict[str, dict[str, Any]] = {}
    for (version, port), members in sorted(groups.items()):
        slice_name = f"{name}-local{'' if version == 4 else '6'}-{port}"
        slices[slice_name] = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": slice_name,
                "namespace": namespace,
                "labels": {SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY},
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": name,
                        "uid": metadata["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "addressType": f"IPv{version}",
            "endpoints": [
                {
                    "addresses": [member.ip],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                }
                for member in members
            ],
            "ports": [
                {"name": p.get("name") or "", "port": port, "protocol": p.get("protocol") or "TCP"}
                for p in service_ports
            ],
        }
    return slices


def _same(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    fields = ("addressType", "endpoints", "ports")
    return all(stored.get(f) == wanted.get(f) for f in fields) and (
        stored["metadata"].get("labels") == wanted["metadata"]["labels"]
        and stored["metadata"].get("ownerReferences") == wanted["metadata"]["ownerReferences"]
    )


class EndpointStandIn:
    """Keeps the managed slices equal to the annotations; says what it changed, and each
    problem once (not at every pass)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._services = store.resources.find("services")
        self._pods = store.resources.find("pods")
        self._slices = store.resources.find("endpointslices")
        self._said: dict[str, str] = {}
        self.addresses: dict[str, tuple[LocalAddress, ...]] = {}
        """`namespace/name` of each Service with endpoints from its annotation → them."""

    def reconcile(self) -> list[str]:
        lines: list[str] = []
        wanted: dict[tuple[str, str], dict[str, Any]] = {}
        addresses: dict[str, tuple[LocalAddress, ...]] = {}
        said: dict[str, str] = {}
        pods = [stored.obj for stored in self._store.snapshot(self._pods, None)]
        for stored in self._store.snapshot(self._services, None):
            service = stored.obj
            text = (service["metadata"].get("annotations") or {}).get(ENDPOINTS_ANNOTATION)
            if not isinstance(text, str):
                continue
            key = f"{stored.namespace}/{stored.name}"
            note = self._blocked(service, pods)
            if note is None:
                try:
                    found = parse_addresses(text)
                except ValueError as error:
                    note = f"{ENDPOINTS_ANNOTATION}: {error}; no endpoints published"
                else:
                    addresses[key] = found
                    for name, slice_object in desired_slices(service, found).items():
                        wanted[(stored.namespace, name)] = slice_object
            if note is not None:
                said[key] = note
                if self._said.get(key) != note:
                    lines.append(f"warning: Service {key}: {note}")
        self._said, self.addresses = said, addresses
        for stored in self._store.snapshot(self._slices, None):
            labels = stored.obj["metadata"].get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
                continue
            wanted_slice = wanted.get((stored.namespace, stored.name))
            if wanted_slice is None:
                lines.extend(self._delete(stored.namespace, stored.name))
            elif _same(stored.obj, wanted_slice):
                del wanted[(stored.namespace, stored.name)]
        for (namespace, name), slice_object in sorted(wanted.items()):
            lines.extend(self._write(namespace, name, slice_object))
        return lines

    def _blocked(self, service: Mapping[str, Any], pods: list[dict[str, Any]]) -> str | None:
        """Why the annotation does not apply to this Service, or None."""
        selector = (service.get("spec") or {}).get("selector")
        namespace = service["metadata"]["namespace"]
        for pod in pods:
            metadata = pod["metadata"]
            if metadata.get("namespace") == namespace and selector_matches(
                selector, metadata.get("labels") or {}
            ):
                return (
                    f"its selector matches pod {metadata['name']}, so {ENDPOINTS_ANNOTATION} "
                    "is not used (in a cluster the pods are the endpoints)"
                )
        return None

    def _write(self, namespace: str, name: str, slice_object: dict[str, Any]) -> list[str]:
        try:
            seed_objects(self._store, [slice_object])
        except SeedError as error:
            return [f"warning: EndpointSlice {namespace}/{name}: {error}"]
        listed = ", ".join(
            str(LocalAddress(e["addresses"][0], slice_object["ports"][0]["port"]))
            if slice_object["ports"]
            else e["addresses"][0]
            for e in slice_object["endpoints"]
        )
        service = slice_object["metadata"]["labels"][SERVICE_NAME_LABEL]
        return [f"EndpointSlice {namespace}/{name}: {listed} (Service {namespace}/{service})"]

    def _delete(self, namespace: str, name: str) -> list[str]:
        try:
            self._store.delete(self._slices, namespace, name)
        except NotFound:
            return []
        except ApiError as error:
            return [f"warning: EndpointSlice {namespace}/{name}: {error.message}"]
        return [f"EndpointSlice {namespace}/{name} deleted: no Service lists it any more"]
