"""The informers routing reads: one per kind, each over the watched namespaces.

Every kind is cached as its typed view (`nginx_ingress.resources`) and indexed for
the joins routing makes: Ingresses by the Services and Secrets they name,
EndpointSlices by their Service. A change reaches the controller as
`(kind, keys)`, so a sync knows what moved and the routing table rebuilds only
the Ingresses it touches. Implements `generate.source.ClusterSource`.

Secrets are listed with the field selector `type=kubernetes.io/tls`: no other
Secret of the cluster is ever read, cached or held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from nginx_ingress.generate.source import secret_keys, service_keys
from nginx_ingress.kube.api import (
    ENDPOINTSLICES,
    INGRESSCLASSES,
    INGRESSES,
    SECRETS,
    SERVICES,
    KubeApi,
    Object,
    Resource,
)
from nginx_ingress.kube.reflector import Indexer, Reflector, WatchTiming
from nginx_ingress.resources import EndpointSlice, Ingress, IngressClass, Secret, Service

T = TypeVar("T")

INGRESS, INGRESS_CLASS, SERVICE, SECRET = ("Ingress", "IngressClass", "Service", "Secret")
BY_SERVICE, BY_SECRET = "service", "secret"
OnChange = Callable[[str, frozenset[str]], None]
"""(kind, keys that changed)."""


class Informer(Generic[T]):
    """One kind over the watched namespaces (all of them: one reflector; a list: one each)."""

    def __init__(self, reflectors: Sequence[Reflector[T]], namespaced: bool) -> None:
        self._reflectors = list(reflectors)
        self._by_namespace = (
            {r.namespace: r for r in reflectors if r.namespace is not None} if namespaced else {}
        )

    @property
    def reflectors(self) -> list[Reflector[T]]:
        return self._reflectors

    @property
    def synced(self) -> bool:
        return all(r.synced.is_set() for r in self._reflectors)

    def _for(self, key: str) -> Reflector[T] | None:
        if not self._by_namespace:
            return self._reflectors[0]
        return self._by_namespace.get(key.partition("/")[0])

    def get(self, key: str) -> T | None:
        reflector = self._for(key)
        return reflector.get(key) if reflector is not None else None

    def keys(self) -> list[str]:
        return [key for r in self._reflectors for key in r.cached_keys()]

    def values(self) -> list[T]:
        """Every cached item (an O(N) scan: for start-up questions only)."""
        return [item for r in self._reflectors for item in r.snapshot().values()]

    def keys_by_index(self, index: str, value: str) -> set[str]:
        reflector = self._for(value)
        return reflector.keys_by_index(index, value) if reflector is not None else set()

    def by_index(self, index: str, value: str) -> list[T]:
        reflector = self._for(value)
        return reflector.by_index(index, value) if reflector is not None else []


class ClusterInformers:
    """Ingresses, IngressClasses, Services, EndpointSlices and TLS Secrets."""

    def __init__(
        self,
        api: KubeApi,
        *,
        namespaces: Sequence[str] = (),
        secret_namespaces: Sequence[str] | None = None,
        on_change: OnChange,
        timing: WatchTiming = WatchTiming(),
    ) -> None:
        self._api, self._timing, self._on_change = api, timing, on_change
        self._namespaces = tuple(namespaces)
        secrets_in = self._namespaces if secret_namespaces is None else tuple(secret_namespaces)
        self.ingresses: Informer[Ingress] = self._informer(
            INGRESSES,
            INGRESS,
            Ingress.from_object,
            self._namespaces,
            indexers={BY_SERVICE: service_keys, BY_SECRET: secret_keys},
        )
        self.classes: Informer[IngressClass] = self._informer(
            INGRESSCLASSES, INGRESS_CLASS, IngressClass.from_object, ()
        )
        self.services: Informer[Service] = self._informer(
            SERVICES, SERVICE, Service.from_object, self._namespaces
        )
        # A slice's change is reported as its Service's: what routing looks up.
        self.slices: Informer[EndpointSlice] = self._informer(
            ENDPOINTSLICES,
            SERVICE,
            EndpointSlice.from_object,
            self._namespaces,
            indexers={BY_SERVICE: _slice_service},
            signal=_slice_service,
        )
        self.secrets: Informer[Secret] = self._informer(
            SECRETS,
            SECRET,
            Secret.from_object,
            secrets_in,
            field_selector="type=kubernetes.io/tls",
        )

    def _informer(
        self,
        resource: Resource,
        kind: str,
        transform: Callable[[Object], T],
        namespaces: Sequence[str],
        *,
        indexers: Mapping[str, Indexer] | None = None,
        field_selector: str | None = None,
        signal: Indexer | None = None,
    ) -> Informer[T]:
        def changed(keys: frozenset[str]) -> None:
            self._on_change(kind, keys)

        scopes: Sequence[str | None] = namespaces if resource.namespaced and namespaces else [None]
        reflectors = [
            Reflector(
                self._api,
                resource,
                namespace=namespace,
                field_selector=field_selector,
                on_change=changed,
                timing=self._timing,
                transform=transform,
                indexers=indexers,
                signal=signal,
            )
            for namespace in scopes
        ]
        return Informer(reflectors, resource.namespaced and bool(namespaces))

    @property
    def all(self) -> list[Informer[object]]:
        return [
            self.ingresses,  # type: ignore[list-item]
            self.classes,  # type: ignore[list-item]
            self.services,  # type: ignore[list-item]
            self.slices,  # type: ignore[list-item]
            self.secrets,  # type: ignore[list-item]
        ]

    @property
    def reflectors(self) -> list[Reflector[object]]:
        return [r for informer in self.all for r in informer.reflectors]

    @property
    def synced(self) -> bool:
        return all(informer.synced for informer in self.all)

    def start(self) -> None:
        for reflector in self.reflectors:
            reflector.start()

    def stop(self) -> None:
        for reflector in self.reflectors:
            reflector.stop()

    # --- generate.source.ClusterSource ---------------------------------------------------

    def ingress(self, key: str) -> Ingress | None:
        return self.ingresses.get(key)

    def ingress_keys(self) -> Iterable[str]:
        return self.ingresses.keys()

    def ingresses_using_service(self, service_key: str) -> Iterable[str]:
        return self.ingresses.keys_by_index(BY_SERVICE, service_key)

    def ingresses_using_secret(self, secret_key: str) -> Iterable[str]:
        return self.ingresses.keys_by_index(BY_SECRET, secret_key)

    def service(self, key: str) -> Service | None:
        return self.services.get(key)

    def endpoint_slices(self, service_key: str) -> tuple[EndpointSlice, ...]:
        return tuple(self.slices.by_index(BY_SERVICE, service_key))

    def secret(self, key: str) -> Secret | None:
        return self.secrets.get(key)

    def ingress_class(self, name: str) -> IngressClass | None:
        return self.classes.get(name)


def _slice_service(endpoint_slice: EndpointSlice) -> tuple[str, ...]:
    return (endpoint_slice.service_key,) if endpoint_slice.service else ()
