"""The headless Service that lists the zone-sync peers (spec `zone-sync.md` section 3).

`converge` makes the cluster match what zone sync needs and says how it went:
- enabled: create the Service, or repair it when someone edited or deleted it;
- disabled: delete it, but only if it is ours;
- a Service of that name without our `managed-by` label is never touched: pointing
  `zone_sync_server` at pods we do not own would push synced state (rate limits,
  sessions, tokens) to them, so zone sync stays off and a Warning says why;
- several replicas converge the same Service: AlreadyExists on create and NotFound on
  delete are success, a Conflict on update means read again and retry;
- an API error leaves everything as it is and is reported; the caller retries with
  backoff and keeps zone sync off until the Service is confirmed.
"""

from __future__ import annotations

import copy
import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nginx_ingress.kube.api import (
    SERVICES,
    AlreadyExists,
    Conflict,
    KubeApi,
    KubeError,
    NotFound,
    Object,
)
from nginx_ingress.kube.workload import Workload

log = logging.getLogger("nginx_ingress.kube.headless")

MANAGED_BY = ("app.kubernetes.io/managed-by", "nginx-ingress-controller")
COMPONENT = ("app.kubernetes.io/component", "zone-sync")
PORT_NAME = "zone-sync"


class ServiceState(enum.Enum):
    READY = "ready"
    ABSENT = "absent"
    CONFLICT = "conflict"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ServiceOutcome:
    state: ServiceState
    message: str = ""


@dataclass(frozen=True, slots=True)
class DesiredService:
    name: str
    namespace: str
    port: int
    selector: Mapping[str, str]
    owner: Workload | None

    def manifest(self) -> Object:
        metadata: Object = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict((MANAGED_BY, COMPONENT)),
        }
        if self.owner is not None:
            metadata["ownerReferences"] = [self.owner.owner_reference()]
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata,
            "spec": {
                "clusterIP": "None",
                "selector": dict(self.selector),
                "ports": [_port(self.port)],
                # A starting replica joins the sync and pulls state before it takes traffic.
                "publishNotReadyAddresses": True,
            },
        }


def _port(port: int) -> Object:
    return {"name": PORT_NAME, "port": port, "targetPort": port, "protocol": "TCP"}


def is_ours(service: Object) -> bool:
    labels = service.get("metadata", {}).get("labels") or {}
    return bool(labels.get(MANAGED_BY[0]) == MANAGED_BY[1])


def drift(existing: Object, desired: DesiredService) -> list[str]:
    """What differs from the desired Service, in words (empty when nothing does)."""
    spec, metadata = existing.get("spec", {}), existing.get("metadata", {})
    differences = []
    if spec.get("clusterIP") != "None":
        differences.append(f"clusterIP is {spec.get('clusterIP')!r}, not None")
    if (spec.get("selector") or {}) != dict(desired.selector):
        differences.append(f"selector is {spec.get('selector')}, not {dict(desired.selector)}")
    ports = [
        {k: p.get(k) for k in ("name", "port", "targetPort", "protocol")}
        for p in spec.get("ports") or []
    ]
    if ports != [_port(desired.port)]:
        differences.append(f"ports are {ports}")
    if spec.get("publishNotReadyAddresses") is not True:
        differences.append("publishNotReadyAddresses is not true")
    labels = metadata.get("labels") or {}
    if any(labels.get(k) != v for k, v in (MANAGED_BY, COMPONENT)):
        differences.append("labels changed")
    if desired.owner is not None:
        uids = [ref.get("uid") for ref in metadata.get("ownerReferences") or []]
        if desired.owner.uid not in uids:
            differences.append("the owner reference to the workload is missing")
    return differences


class HeadlessService:
    """Converges the one Service; reads come from the watch cache (`cached`), not the API."""

    def __init__(self, api: KubeApi, cached: Callable[[], Object | None]) -> None:
        self._api = api
        self._cached = cached

    def converge(self, desired: DesiredService, *, enabled: bool) -> ServiceOutcome:
        try:
            if enabled:
                return self._ensure(desired)
            return self._remove(desired)
        except KubeError as error:
            return ServiceOutcome(ServiceState.FAILED, str(error))

    def _ensure(self, desired: DesiredService) -> ServiceOutcome:
        current = self._cached()
        for _attempt in range(4):
            if current is None:
                try:
                    self._api.create(SERVICES, desired.manifest(), desired.namespace)
                    log.info(
                        "created the zone-sync headless Service %s/%s",
                        desired.namespace,
                        desired.name,
                    )
                    return ServiceOutcome(ServiceState.READY)
                except AlreadyExists:  # another replica was faster, or our cache is behind
                    current = self._read(desired)
                    continue
            if not is_ours(current):
                return ServiceOutcome(
                    ServiceState.CONFLICT,
                    f"Service {desired.namespace}/{desired.name} exists and is not managed by "
                    "this controller (no app.kubernetes.io/managed-by=nginx-ingress-controller "
                    "label); it is left untouched and zone sync stays off. Remove it, or set "
                    "-zone-sync-service-name to another name",
                )
            differences = drift(current, desired)
            if not differences:
                return ServiceOutcome(ServiceState.READY)
            try:
                self._repair(current, desired, differences)
                return ServiceOutcome(ServiceState.READY)
            except Conflict:  # changed since we read it: read again
                current = self._read(desired)
            except NotFound:
                current = None
        return ServiceOutcome(ServiceState.FAILED, "the Service kept changing while being repaired")

    def _repair(self, current: Object, desired: DesiredService, differences: list[str]) -> None:
        where = f"{desired.namespace}/{desired.name}"
        if current.get("spec", {}).get("clusterIP") != "None":
            # clusterIP cannot change in place: delete this very object, create anew.
            log.info("recreating the zone-sync Service %s: %s", where, "; ".join(differences))
            self._api.delete(
                SERVICES, desired.name, desired.namespace, uid=current["metadata"]["uid"]
            )
            try:
                self._api.create(SERVICES, desired.manifest(), desired.namespace)
            except AlreadyExists:
                raise Conflict(409, "Conflict", "recreated meanwhile") from None
            return
        updated = copy.deepcopy(current)
        manifest = desired.manifest()
        metadata = updated.setdefault("metadata", {})
        metadata.setdefault("labels", {}).update(manifest["metadata"]["labels"])
        if desired.owner is not None:
            others = [
                ref
                for ref in metadata.get("ownerReferences") or []
                if ref.get("kind") != desired.owner.kind or ref.get("name") != desired.owner.name
            ]
            metadata["ownerReferences"] = [*others, desired.owner.owner_reference()]
        updated.setdefault("spec", {}).update(manifest["spec"])
        self._api.replace(SERVICES, updated)
        log.info("repaired the zone-sync Service %s: %s", where, "; ".join(differences))

    def _remove(self, desired: DesiredService) -> ServiceOutcome:
        current = self._cached()
        if current is None or not is_ours(current):
            return ServiceOutcome(ServiceState.ABSENT)
        try:
            self._api.delete(
                SERVICES, desired.name, desired.namespace, uid=current["metadata"]["uid"]
            )
            log.info(
                "deleted the zone-sync Service %s/%s: zone sync is off",
                desired.namespace,
                desired.name,
            )
        except NotFound:
            pass  # another replica deleted it first
        except Conflict:
            pass  # the uid precondition failed: it is another object now, seen at the next event
        return ServiceOutcome(ServiceState.ABSENT)

    def _read(self, desired: DesiredService) -> Object | None:
        try:
            return self._api.get(SERVICES, desired.name, desired.namespace)
        except NotFound:
            return None
