"""Ingress and IngressClass (`networking.k8s.io/v1`), as routing reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nginx_ingress.resources.fields import (
    Object,
    integer,
    mapping,
    meta,
    sequence,
    string,
    string_map,
)

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
# Annotations routing reads; everything else (last-applied, tools' own) is dropped.
READ_ANNOTATIONS = ("nginx.org/", "nginx.com/", "ingress.kubernetes.io/", CLASS_ANNOTATION)


@dataclass(frozen=True, slots=True)
class BackendRef:
    """`service.name` with `service.port.number` or `.name`; or a `resource` backend."""

    service: str = ""
    port_number: int | None = None
    port_name: str = ""
    resource: bool = False

    @property
    def port(self) -> str:
        """The port as the user wrote it, for messages and names."""
        return str(self.port_number) if self.port_number is not None else self.port_name


@dataclass(frozen=True, slots=True)
class IngressPath:
    path: str
    """"" when absent (allowed for ImplementationSpecific, meaning `/`)."""
    path_type: str
    backend: BackendRef


@dataclass(frozen=True, slots=True)
class IngressRule:
    host: str
    """"" for a rule that matches every host."""
    paths: tuple[IngressPath, ...]


@dataclass(frozen=True, slots=True)
class IngressTLS:
    hosts: tuple[str, ...]
    secret_name: str


@dataclass(frozen=True, slots=True)
class Ingress:
    namespace: str
    name: str
    uid: str
    created: str
    """`metadata.creationTimestamp` (RFC 3339, so it sorts as text)."""
    annotations: Mapping[str, str]
    class_name: str
    """`spec.ingressClassName`, "" when unset."""
    rules: tuple[IngressRule, ...]
    tls: tuple[IngressTLS, ...]
    default_backend: BackendRef | None
    problems: tuple[str, ...] = ()
    """Fields of the wrong shape, each `field: message`; the Ingress is rejected for them."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def class_annotation(self) -> str | None:
        return self.annotations.get(CLASS_ANNOTATION)

    @property
    def services(self) -> frozenset[str]:
        """Names of the Services this Ingress routes to."""
        backends = [p.backend for rule in self.rules for p in rule.paths]
        if self.default_backend is not None:
            backends.append(self.default_backend)
        return frozenset(b.service for b in backends if b.service)

    @property
    def secrets(self) -> frozenset[str]:
        """Names of the TLS Secrets this Ingress refers to."""
        return frozenset(tls.secret_name for tls in self.tls if tls.secret_name)

    @classmethod
    def from_object(cls, obj: Object) -> Ingress:
        problems: list[str] = []
        namespace, name, uid, created = meta(obj)
        metadata = mapping(obj.get("metadata"), "metadata", problems)
        annotations = string_map(
            metadata.get("annotations"), "metadata.annotations", problems, READ_ANNOTATIONS
        )
        spec = mapping(obj.get("spec"), "spec", problems)
        rules = tuple(
            _rule(raw, f"spec.rules[{i}]", problems)
            for i, raw in enumerate(sequence(spec.get("rules"), "spec.rules", problems))
        )
        tls = tuple(
            _tls(raw, f"spec.tls[{i}]", problems)
            for i, raw in enumerate(sequence(spec.get("tls"), "spec.tls", problems))
        )
        default = spec.get("defaultBackend")
        return cls(
            namespace=namespace,
            name=name,
            uid=uid,
            created=created,
            annotations=annotations,
            class_name=string(spec.get("ingressClassName"), "spec.ingressClassName", problems),
            rules=rules,
            tls=tls,
            default_backend=(
                None if default is None else _backend(default, "spec.defaultBackend", problems)
            ),
            problems=tuple(problems),
        )


def _rule(raw: Any, field: str, problems: list[str]) -> IngressRule:
    rule = mapping(raw, field, problems)
    http = mapping(rule.get("http"), f"{field}.http", problems)
    paths = []
    for i, raw_path in enumerate(sequence(http.get("paths"), f"{field}.http.paths", problems)):
        where = f"{field}.http.paths[{i}]"
        path = mapping(raw_path, where, problems)
        paths.append(
            IngressPath(
                path=string(path.get("path"), f"{where}.path", problems),
                path_type=string(path.get("pathType"), f"{where}.pathType", problems),
                backend=_backend(path.get("backend"), f"{where}.backend", problems),
            )
        )
    return IngressRule(string(rule.get("host"), f"{field}.host", problems), tuple(paths))


def _tls(raw: Any, field: str, problems: list[str]) -> IngressTLS:
    tls = mapping(raw, field, problems)
    hosts = tuple(
        string(host, f"{field}.hosts[{i}]", problems)
        for i, host in enumerate(sequence(tls.get("hosts"), f"{field}.hosts", problems))
    )
    return IngressTLS(hosts, string(tls.get("secretName"), f"{field}.secretName", problems))


def _backend(raw: Any, field: str, problems: list[str]) -> BackendRef:
    backend = mapping(raw, field, problems)
    if backend.get("resource") is not None:
        return BackendRef(resource=True)
    service = mapping(backend.get("service"), f"{field}.service", problems)
    port = mapping(service.get("port"), f"{field}.service.port", problems)
    return BackendRef(
        service=string(service.get("name"), f"{field}.service.name", problems),
        port_number=integer(port.get("number"), f"{field}.service.port.number", problems),
        port_name=string(port.get("name"), f"{field}.service.port.name", problems),
    )


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    is_default: bool
    """Marked with `ingressclass.kubernetes.io/is-default-class: "true"`."""

    @classmethod
    def from_object(cls, obj: Object) -> IngressClass:
        problems: list[str] = []
        _namespace, name, _uid, _created = meta(obj)
        metadata = mapping(obj.get("metadata"), "metadata", problems)
        annotations = string_map(metadata.get("annotations"), "metadata.annotations", problems)
        spec = mapping(obj.get("spec"), "spec", problems)
        return cls(
            name=name,
            controller=string(spec.get("controller"), "spec.controller", problems),
            is_default=annotations.get(DEFAULT_CLASS_ANNOTATION) == "true",
        )
