"""Service (`v1`), as routing reads it: its type and ports."""

from __future__ import annotations

from dataclasses import dataclass

from nginx_ingress.resources.fields import Object, integer, mapping, meta, sequence, string


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    port: int | None
    protocol: str


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: str
    """ClusterIP (also when unset), NodePort, LoadBalancer or ExternalName."""
    ports: tuple[ServicePort, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def port(self, number: int | None, name: str) -> ServicePort | None:
        """The port an Ingress backend names, by number or by name."""
        for port in self.ports:
            if (number is not None and port.port == number) or (name and port.name == name):
                return port
        return None

    @classmethod
    def from_object(cls, obj: Object) -> Service:
        problems: list[str] = []
        namespace, name, _uid, _created = meta(obj)
        spec = mapping(obj.get("spec"), "spec", problems)
        ports = []
        for i, raw in enumerate(sequence(spec.get("ports"), "spec.ports", problems)):
            port = mapping(raw, f"spec.ports[{i}]", problems)
            ports.append(
                ServicePort(
                    name=string(port.get("name"), "name", problems),
                    port=integer(port.get("port"), "port", problems),
                    protocol=string(port.get("protocol"), "protocol", problems) or "TCP",
                )
            )
        return cls(
            namespace=namespace,
            name=name,
            type=string(spec.get("type"), "spec.type", problems) or "ClusterIP",
            ports=tuple(ports),
        )
