"""What routing reads from the cluster, behind one small interface.

The controller implements it over its informers (`controller.informers`), the
offline `render` and the tests over plain dicts (`StaticSource`), so both run the
same routing code. Keys are `namespace/name`; `service` keys name the Service an
EndpointSlice belongs to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from nginx_ingress.resources import EndpointSlice, Ingress, IngressClass, Secret, Service


class ClusterSource(Protocol):
    def ingress(self, key: str) -> Ingress | None: ...

    def ingress_keys(self) -> Iterable[str]: ...

    def ingresses_using_service(self, service_key: str) -> Iterable[str]: ...

    def ingresses_using_secret(self, secret_key: str) -> Iterable[str]: ...

    def service(self, key: str) -> Service | None: ...

    def endpoint_slices(self, service_key: str) -> tuple[EndpointSlice, ...]: ...

    def secret(self, key: str) -> Secret | None: ...

    def ingress_class(self, name: str) -> IngressClass | None: ...


def service_keys(ingress: Ingress) -> set[str]:
    return {f"{ingress.namespace}/{name}" for name in ingress.services}


def secret_keys(ingress: Ingress) -> set[str]:
    return {f"{ingress.namespace}/{name}" for name in ingress.secrets}


class StaticSource:
    """A set of objects held in memory (manifests, tests, benchmarks), indexed as the
    informers index them; `put_*` replace one object and keep the indexes right."""

    def __init__(
        self,
        ingresses: Iterable[Ingress] = (),
        services: Iterable[Service] = (),
        slices: Iterable[EndpointSlice] = (),
        secrets: Iterable[Secret] = (),
        classes: Iterable[IngressClass] = (),
    ) -> None:
        self.ingresses: dict[str, Ingress] = {}
        self._by_service: defaultdict[str, set[str]] = defaultdict(set)
        self._by_secret: defaultdict[str, set[str]] = defaultdict(set)
        for ingress in ingresses:
            self.put_ingress(ingress)
        self.services = {s.key: s for s in services}
        self.slices: defaultdict[str, dict[str, EndpointSlice]] = defaultdict(dict)
        for endpoint_slice in slices:
            self.put_slice(endpoint_slice)
        self.secrets = {s.key: s for s in secrets}
        self.classes = {c.name: c for c in classes}

    def put_ingress(self, ingress: Ingress) -> None:
        previous = self.ingresses.get(ingress.key)
        if previous is not None:
            for key in service_keys(previous):
                self._by_service[key].discard(previous.key)
            for key in secret_keys(previous):
                self._by_secret[key].discard(previous.key)
        self.ingresses[ingress.key] = ingress
        for key in service_keys(ingress):
            self._by_service[key].add(ingress.key)
        for key in secret_keys(ingress):
            self._by_secret[key].add(ingress.key)

    def put_slice(self, endpoint_slice: EndpointSlice) -> None:
        self.slices[endpoint_slice.service_key][endpoint_slice.name] = endpoint_slice

    def ingress(self, key: str) -> Ingress | None:
        return self.ingresses.get(key)

    def ingress_keys(self) -> Iterable[str]:
        return list(self.ingresses)

    def ingresses_using_service(self, service_key: str) -> Iterable[str]:
        return set(self._by_service.get(service_key, ()))

    def ingresses_using_secret(self, secret_key: str) -> Iterable[str]:
        return set(self._by_secret.get(secret_key, ()))

    def service(self, key: str) -> Service | None:
        return self.services.get(key)

    def endpoint_slices(self, service_key: str) -> tuple[EndpointSlice, ...]:
        found = self.slices.get(service_key)
        return tuple(found[name] for name in sorted(found)) if found else ()

    def secret(self, key: str) -> Secret | None:
        return self.secrets.get(key)

    def ingress_class(self, name: str) -> IngressClass | None:
        return self.classes.get(name)
