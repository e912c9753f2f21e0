"""Raw Kubernetes objects for the routing tests, and a routing tree rendered from them.

The builders return plain dicts, the shape the API server sends, so every test goes
through the same `from_object` transforms the informers run. `Cluster` holds such
objects, runs the routing table over them and renders the whole NGINX tree (main
files, Ingress files, catch-all locations, TLS Secrets).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nginx_ingress.configmap import GlobalConfig, parse_configmap
from nginx_ingress.generate import RoutingSummary, build_configuration
from nginx_ingress.generate.source import StaticSource
from nginx_ingress.generate.table import Changes, RoutingTable, Update
from nginx_ingress.layout import secret_file, secret_reference
from nginx_ingress.render import render_configuration
from nginx_ingress.resources import EndpointSlice, Ingress, IngressClass, Secret, Service
from nginx_ingress.settings import Settings

from certificates import Pem, b64, certificate

Raw = dict[str, Any]

NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC).timestamp()
"""The clock of every routing test: certificates are dated around it."""
CLASS = "nginx"
NAMESPACE = "default"


# --- Ingresses ------------------------------------------------------------------------------


def backend(service: str = "coffee", port: int | str = 80) -> Raw:
    key = "number" if isinstance(port, int) else "name"
    return {"service": {"name": service, "port": {key: port}}}


def path(
    path: str | None = "/", service: str = "coffee", port: int | str = 80, kind: str = "Prefix"
) -> Raw:
    entry: Raw = {"pathType": kind, "backend": backend(service, port)}
    if path is not None:
        entry["path"] = path
    return entry


def rule(host: str | None, *paths: Raw) -> Raw:
    entry: Raw = {"http": {"paths": list(paths or (path(),))}}
    if host is not None:
        entry["host"] = host
    return entry


def ingress(
    name: str = "cafe",
    *rules: Raw,
    namespace: str = NAMESPACE,
    annotations: Mapping[str, str] | None = None,
    tls: Iterable[Raw] = (),
    default_backend: Raw | None = None,
    created: str = "2024-01-01T00:00:00Z",
    class_name: str | None = CLASS,
) -> Raw:
    spec: Raw = {}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    if rules:
        spec["rules"] = list(rules)
    tls = list(tls)
    if tls:
        spec["tls"] = tls
    if default_backend is not None:
        spec["defaultBackend"] = default_backend
    metadata: Raw = {
        "namespace": namespace,
        "name": name,
        "uid": f"uid-{namespace}-{name}",
        "creationTimestamp": created,
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def tls_entry(secret: str | None, *hosts: str) -> Raw:
    entry: Raw = {"hosts": list(hosts)}
    if secret is not None:
        entry["secretName"] = secret
    return entry


def ingress_class(name: str = CLASS, *, default: bool = False, controller: str = "") -> Raw:
    metadata: Raw = {"name": name}
    if default:
        metadata["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {
        "metadata": metadata,
        "spec": {"controller": controller or "nginx.org/ingress-controller"},
    }


# --- Services and EndpointSlices ------------------------------------------------------------


def service(
    name: str = "coffee",
    *ports: Raw,
    namespace: str = NAMESPACE,
    kind: str | None = None,
) -> Raw:
    spec: Raw = {"ports": list(ports or ({"port": 80, "targetPort": 8080},))}
    if kind is not None:
        spec["type"] = kind
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def endpoint(
    address: str, *, ready: bool | None = True, serving: bool | None = None, terminating: Any = None
) -> Raw:
    conditions: Raw = {}
    for key, value in (("ready", ready), ("serving", serving), ("terminating", terminating)):
        if value is not None:
            conditions[key] = value
    return {"addresses": [address], "conditions": conditions}


def endpoint_slice(
    name: str,
    service_name: str = "coffee",
    *endpoints: Raw,
    namespace: str = NAMESPACE,
    ports: Iterable[Raw] = ({"name": "", "port": 8080, "protocol": "TCP"},),
    address_type: str = "IPv4",
) -> Raw:
    return {
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": address_type,
        "ports": list(ports),
        "endpoints": list(endpoints),
    }


# --- TLS Secrets ----------------------------------------------------------------------------


def tls_secret(
    name: str = "cafe-tls",
    pem: Pem | None = None,
    *,
    namespace: str = NAMESPACE,
    kind: str = "kubernetes.io/tls",
    data: Raw | None = None,
) -> Raw:
    pem = pem or certificate()
    if data is None:
        data = {"tls.crt": b64(pem.certificate), "tls.key": b64(pem.key)}
    return {"metadata": {"namespace": namespace, "name": name}, "type": kind, "data": data}


# --- the routing table over such objects ----------------------------------------------------


@dataclass
class Cluster:
    """Raw objects by kind; `source()` gives the views the routing table reads."""

    ingresses: list[Raw] = field(default_factory=list)
    services: list[Raw] = field(default_factory=list)
    slices: list[Raw] = field(default_factory=list)
    secrets: list[Raw] = field(default_factory=list)
    classes: list[Raw] = field(default_factory=lambda: [ingress_class()])

    def source(self) -> StaticSource:
        return StaticSource(
            [Ingress.from_object(o) for o in self.ingresses],
            [Service.from_object(o) for o in self.services],
            [EndpointSlice.from_object(o) for o in self.slices],
            [Secret.from_object(o) for o in self.secrets],
            [IngressClass.from_object(o) for o in self.classes],
        )


def cafe() -> Cluster:
    """One Ingress, one Service with one ready endpoint: the baseline of many tests."""
    return Cluster(
        ingresses=[ingress("cafe", rule("cafe.example.com", path("/coffee")))],
        services=[service("coffee")],
        slices=[endpoint_slice("coffee-1", "coffee", endpoint("10.0.0.1"))],
    )


def config_for(settings: Settings, data: Mapping[str, str] | None = None) -> GlobalConfig:
    result = parse_configmap(dict(data or {}), settings)
    assert not result.problems, [p.line for p in result.problems]
    return result.config


@dataclass
class Routed:
    table: RoutingTable
    update: Update
    files: dict[str, str]
    """The whole tree: main files, Ingress files, catch-all locations and Secrets."""

    def reports(self) -> dict[str, Any]:
        return {r.key: r for r in self.update.reports}


def route(
    cluster: Cluster,
    settings: Settings,
    configmap: Mapping[str, str] | None = None,
    *,
    default_secret: tuple[str, str] | None = None,
    replicas: int = 1,
) -> Routed:
    """Run a fresh routing table over `cluster` and render the full tree; zone sync is in
    place whenever the ConfigMap switches it on (its Service is taken to exist)."""
    config = config_for(settings, configmap)
    table = RoutingTable(settings, CLASS)
    changes = Changes(everything=True, zone_sync=config.zone_sync.enabled, replicas=replicas)
    update = table.update(changes, cluster.source(), config, NOW)
    return Routed(table, update, tree(table, config, settings, default_secret=default_secret))


def tree(
    table: RoutingTable,
    config: GlobalConfig,
    settings: Settings,
    *,
    default_secret: tuple[str, str] | None = None,
) -> dict[str, str]:
    """The main files for what `table` serves, and the table's own files.

    `default_secret` (namespace, name) stands for `-default-server-tls-secret`: the
    controller writes that Secret's file itself, so it is written here too.
    """
    files: dict[str, str] = {}
    default_certificate = None
    if default_secret is not None:
        pem = certificate("default.example.com")
        files[secret_file(*default_secret)] = (pem.certificate + pem.key).decode()
        default_certificate = secret_reference(*default_secret)
    summary = RoutingSummary(default_certificate, table.catch_all_root, table.longest_host)
    configuration = build_configuration(
        config, settings, zone_sync_service_ready=True, routing=summary
    )
    files.update(render_configuration(configuration))
    files.update(table.files)
    return files


# --- one Ingress with everything it refers to, for the hostile and property tests ------------


@dataclass(frozen=True)
class IngressSpec:
    """One Ingress and the objects it refers to, all named after its fields."""

    namespace: str = "default"
    name: str = "cafe"
    host: str = "cafe.example.com"
    path: str = "/coffee"
    path_type: str = "Prefix"
    service: str = "coffee"
    port: str = "http"
    secret: str = "cafe-tls"
    class_name: str = "nginx"
    annotations: tuple[tuple[str, str], ...] = ()
    with_secret: bool = True

    def cluster(self) -> Cluster:
        ns = self.namespace
        return Cluster(
            ingresses=[
                ingress(
                    self.name,
                    rule(self.host, path(self.path, self.service, self.port, self.path_type)),
                    rule("tea.example.com", path("/", "tea", 80)),
                    namespace=ns,
                    annotations=dict(self.annotations),
                    tls=[tls_entry(self.secret, self.host)],
                    class_name=self.class_name,
                )
            ],
            services=[
                service(self.service, {"name": self.port, "port": 80}, namespace=ns),
                service("tea", namespace=ns),
            ],
            slices=[
                endpoint_slice(
                    "s-1",
                    self.service,
                    endpoint("10.0.0.1"),
                    namespace=ns,
                    ports=({"name": self.port, "port": 8080, "protocol": "TCP"},),
                ),
                endpoint_slice("tea-1", "tea", endpoint("10.0.1.1"), namespace=ns),
            ],
            secrets=[tls_secret(self.secret, namespace=ns)] if self.with_secret else [],
            classes=[ingress_class()],
        )


def with_field(field: str, value: str) -> IngressSpec:
    """The baseline `IngressSpec` with one string field set to `value`."""
    fields: dict[str, str] = {field: value}
    return replace(IngressSpec(), **fields)  # type: ignore[arg-type]
