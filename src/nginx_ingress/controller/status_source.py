"""Where the address written into Ingress status comes from.

In order, as NIC reads them: the ConfigMap's `external-status-address` (the loop hands
it over after each sync); else the `-external-service` (its load balancer's addresses,
or its external IPs); else, with neither, the node addresses (`status.hostIP`) of the
controller's own pods, the way a NodePort or host-network installation is reached.
The Service or the pods are watched, so a new load-balancer IP or a pod on another
node reaches every Ingress without a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nginx_ingress.kube.api import PODS, SERVICES, KubeApi
from nginx_ingress.kube.reflector import Reflector, WatchTiming
from nginx_ingress.kube.workload import VOLATILE_LABELS
from nginx_ingress.resources.status import (
    LoadBalancerIngress,
    PodAddress,
    pod_addresses,
    service_addresses,
)

Addresses = tuple[LoadBalancerIngress, ...]


class StatusSource:
    def __init__(
        self,
        api: KubeApi,
        *,
        namespace: str,
        pod_name: str,
        external_service: tuple[str, str] | None,
        on_change: Callable[[], None],
        timing: WatchTiming = WatchTiming(),
    ) -> None:
        self._namespace, self._pod_name = namespace, pod_name
        self._service = external_service
        self._service_reflector: Reflector[Addresses] | None = None
        self._pod_reflector: Reflector[PodAddress] | None = None
        if external_service is not None:
            service_namespace, name = external_service
            self._service_reflector = Reflector(
                api,
                SERVICES,
                namespace=service_namespace,
                field_selector=f"metadata.name={name}",
                on_change=lambda _keys: on_change(),
                timing=timing,
                transform=service_addresses,
            )
        else:
            self._pod_reflector = Reflector(
                api,
                PODS,
                namespace=namespace,
                on_change=lambda _keys: on_change(),
                timing=timing,
                transform=PodAddress.from_object,
            )

    @property
    def reflectors(self) -> list[Reflector[object]]:
        found = [self._service_reflector, self._pod_reflector]
        return [r for r in found if r is not None]  # type: ignore[misc]

    def start(self) -> None:
        for reflector in self.reflectors:
            reflector.start()

    def stop(self) -> None:
        for reflector in self.reflectors:
            reflector.stop()

    def describe(self, configured: Sequence[LoadBalancerIngress]) -> str:
        if configured:
            return "the ConfigMap's external-status-address"
        if self._service is not None:
            return "Service {}/{}".format(*self._service)
        return "the nodes of the controller's pods"

    def addresses(self, configured: Addresses) -> Addresses | None:
        """What to report; None while the Service or the pods are not listed yet."""
        if configured:
            return configured
        if self._service_reflector is not None and self._service is not None:
            if not self._service_reflector.synced.is_set():
                return None
            return self._service_reflector.get("{}/{}".format(*self._service)) or ()
        reflector = self._pod_reflector
        if reflector is None or not reflector.synced.is_set():
            return None
        pods = reflector.snapshot()
        own = pods.get(f"{self._namespace}/{self._pod_name}")
        if own is None:
            return ()
        selector = {k: v for k, v in own.labels if k not in VOLATILE_LABELS}
        # Pods with the same stable labels are this controller's replicas; a pod without
        # any reports only its own node.
        return pod_addresses(pods.values() if selector else (own,), selector)
