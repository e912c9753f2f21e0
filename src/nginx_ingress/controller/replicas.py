"""How many controller replicas are ready: for `limit-req-scale` without zone sync.

Each replica keeps its own rate-limit counters when zone sync is off, so an Ingress
that asks for `limit-req-scale` gets its rate divided by the number of ready replicas.
They are counted from the pods the headless Service's selector matches (the
controller workload's), watched in the controller's namespace; a pod counts when its
`Ready` condition is true and it is not being deleted. NIC counts the endpoints of
its own Service instead, which exists only with `-external-service`.

The watch starts only once an Ingress asks for scaling, so a controller without one
never lists pods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nginx_ingress.kube.api import PODS, KubeApi, Object
from nginx_ingress.kube.reflector import Reflector, WatchTiming


@dataclass(frozen=True, slots=True)
class PodReadiness:
    name: str
    ready: bool

    @classmethod
    def from_object(cls, obj: Object) -> PodReadiness:
        metadata = obj.get("metadata") or {}
        conditions = (obj.get("status") or {}).get("conditions") or []
        ready = any(
            isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
            for c in conditions
        )
        return cls(str(metadata.get("name", "")), ready and not metadata.get("deletionTimestamp"))


class ReplicaCount:
    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        *,
        on_change: Callable[[], None],
        timing: WatchTiming,
    ) -> None:
        self._api, self._namespace, self._timing = api, namespace, timing
        self._on_change = on_change
        self._lock = threading.Lock()
        self._reflector: Reflector[PodReadiness] | None = None
        self._stopped = False

    @property
    def reflector(self) -> Reflector[PodReadiness] | None:
        return self._reflector

    def start(self, selector: Mapping[str, str]) -> None:
        """Watch the pods `selector` matches (once; a later call does nothing)."""
        with self._lock:
            if self._reflector is not None or self._stopped:
                return
            self._reflector = Reflector(
                self._api,
                PODS,
                namespace=self._namespace,
                label_selector=",".join(f"{k}={v}" for k, v in sorted(selector.items())),
                on_change=lambda _keys: self._on_change(),
                timing=self._timing,
                transform=PodReadiness.from_object,
            )
            self._reflector.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            reflector = self._reflector
        if reflector is not None:
            reflector.stop()

    def count(self) -> int:
        """Ready replicas, at least 1 (this one serves, whatever the API says)."""
        reflector = self._reflector
        if reflector is None:
            return 1
        return max(1, sum(1 for pod in reflector.snapshot().values() if pod.ready))
