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
    """A fixed set of objects (manifests, tests), indexed as the informers index them."""

    def __init__(
        self,
        ingresses: Iterable[Ingress] = (),
        services: Iterable[Service] = (),
        slices: Iterable[EndpointSlice] = (),
        secrets: Iterable[Secret] = (),
        classes: Iterable[IngressClass] = (),
    ) -> None:
        self.ingresses = {i.key: i for i in ingresses}
        self.services = {s.key: s for s in services}
        self.slices: defaultdict[str, list[EndpointSlice]] = defaultdict(list)
        for endpoint_slice in slices:
            self.slices[endpoint_slice.service_key].append(endpoint_slice)
        self.secrets = {s.key: s for s in secrets}
        self.classes = {c.name: c for c in classes}

    def ingress(self, key: str) -> Ingress | None:
        return self.ingresses.get(key)

    def ingress_keys(self) -> Iterable[str]:
        return list(self.ingresses)

    def ingresses_using_service(self, service_key: str) -> Iterable[str]:
        return [k for k, i in self.ingresses.items() if service_key in service_keys(i)]

    def ingresses_using_secret(self, secret_key: str) -> Iterable[str]:
        return [k for k, i in self.ingresses.items() if secret_key in secret_keys(i)]

    def service(self, key: str) -> Service | None:
        return self.services.get(key)

    def endpoint_slices(self, service_key: str) -> tuple[EndpointSlice, ...]:
        return tuple(sorted(self.slices.get(service_key, ()), key=lambda s: s.name))

    def secret(self, key: str) -> Secret | None:
        return self.secrets.get(key)

    def ingress_class(self, name: str) -> IngressClass | None:
        return self.classes.get(name)
