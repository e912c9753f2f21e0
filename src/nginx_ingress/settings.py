"""Static settings: what flags and the environment say, fixed for the life of the process.

One frozen dataclass, validated when it is built, so an impossible setting (a
Service name Kubernetes would refuse, a path NGINX would misread) stops the
program at start with a clear message instead of surfacing later as a failed
reload. Imports nothing of ours.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

DEFAULT_ZONE_SYNC_SERVICE_NAME = "nginx-ingress-headless"
DEFAULT_NAMESPACE = "nginx-ingress"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"

# RFC 1035 label as Kubernetes checks Service names: lower case, starts with a letter.
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
# RFC 1123 label as Kubernetes checks namespace names (and each label of a domain).
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
DNS1123_SUBDOMAIN = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_URI_PATH = re.compile(r"/[A-Za-z0-9\-._~/]{0,255}", re.ASCII)
# Paths end up as bare NGINX tokens: keep them to characters that need no quoting.
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+@%=,:-]*", re.ASCII)


class SettingsError(ValueError):
    """A flag or environment value the controller cannot run with."""


@dataclass(frozen=True, slots=True)
class Listeners:
    """The ports this controller's NGINX and the controller itself listen on.

    Names and defaults follow NIC's flags (`-default-http-listener-port` …).
    A ConfigMap port (zone sync) must not collide with any enabled one.
    """

    http: int = 80
    https: int = 443
    nginx_status: int = 8080
    nginx_status_enabled: bool = True
    nginx_status_allow_cidrs: tuple[str, ...] = ("127.0.0.1", "::1")
    ready_status: int = 8081
    ready_status_enabled: bool = True
    prometheus_metrics: int = 9113
    prometheus_metrics_enabled: bool = True

    def in_use(self) -> dict[int, str]:
        """Port → human name of the listener, for the enabled listeners only."""
        ports = {self.http: "the HTTP listener", self.https: "the HTTPS listener"}
        if self.nginx_status_enabled:
            ports.setdefault(self.nginx_status, "the NGINX status listener")
        if self.ready_status_enabled:
            ports.setdefault(self.ready_status, "the readiness listener")
        if self.prometheus_metrics_enabled:
            ports.setdefault(self.prometheus_metrics, "the Prometheus metrics listener")
        return ports

    def validate(self) -> None:
        named = {
            "default-http-listener-port": self.http,
            "default-https-listener-port": self.https,
            "nginx-status-port": self.nginx_status,
            "ready-status-port": self.ready_status,
            "prometheus-metrics-listen-port": self.prometheus_metrics,
        }
        for flag, port in named.items():
            if not 1 <= port <= 65535:
                raise SettingsError(f"-{flag}: {port} is not a port number (1 to 65535)")
        for cidr in self.nginx_status_allow_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise SettingsError(
                    f"-nginx-status-allow-cidrs: {cidr!r} is not an IP address or CIDR block"
                ) from None
        if self.http == self.https:
            raise SettingsError(
                "-default-http-listener-port and -default-https-listener-port are both "
                f"{self.http}; they must differ"
            )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything fixed at start-up that shapes the rendered configuration."""

    nginx_plus: bool = False
    disable_ipv6: bool = False
    cluster_domain: str = DEFAULT_CLUSTER_DOMAIN
    zone_sync_service_name: str = DEFAULT_ZONE_SYNC_SERVICE_NAME
    namespace: str = DEFAULT_NAMESPACE
    conf_dir: PurePosixPath = PurePosixPath("/etc/nginx")
    run_dir: PurePosixPath = PurePosixPath("/var/lib/nginx")
    load_modules: tuple[PurePosixPath, ...] = ()
    stream_module: bool = True
    """NGINX has its stream module (built in, or among `load_modules`): without it the
    `stream {}` block is left out and zone sync is refused. Found from `nginx -V` at start-up."""
    listeners: Listeners = field(default_factory=Listeners)
    default_server_tls_secret: tuple[str, str] | None = None
    """`-default-server-tls-secret`: (namespace, name) of the catch-all server's TLS Secret."""
    health_status_uri: str | None = None
    """`-health-status` with `-health-status-uri`: the catch-all server answers 200 there."""
    zone_sync_require_tls: bool = False
    """`-zone-sync-require-tls`: zone sync runs over TLS with peer verification or not at all."""

    def __post_init__(self) -> None:
        check_service_name(self.zone_sync_service_name)
        check_namespace(self.namespace)
        check_cluster_domain(self.cluster_domain)
        for flag, path in (("conf-dir", self.conf_dir), ("run-dir", self.run_dir)):
            check_path(flag, path)
        for module in self.load_modules:
            check_path("load-module", module)
        self.listeners.validate()
        if self.health_status_uri is not None and not _URI_PATH.fullmatch(self.health_status_uri):
            raise SettingsError(
                f"-health-status-uri: {self.health_status_uri!r} must be a path such as "
                "/nginx-health (letters, digits and -._~/)"
            )
        if self.default_server_tls_secret is not None:
            namespace, name = self.default_server_tls_secret
            check_namespace(namespace)
            if len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name):
                raise SettingsError(
                    f"-default-server-tls-secret: {name!r} is not a Secret name "
                    "(NAMESPACE/NAME, lower-case letters, digits, '-' and '.')"
                )

    @property
    def zone_sync_service_fqdn(self) -> str:
        """The DNS name of the headless Service that lists the zone-sync peers."""
        return f"{self.zone_sync_service_name}.{self.namespace}.svc.{self.cluster_domain}"

    @property
    def plus_api_socket(self) -> PurePosixPath:
        """Where NGINX Plus serves its read-write API, for the controller only."""
        return self.run_dir / "nginx-plus-api.sock"

    @property
    def config_version_socket(self) -> PurePosixPath:
        """Where NGINX answers which configuration version its workers run."""
        return self.run_dir / "nginx-config-version.sock"

    @property
    def default_zone_sync_resolver(self) -> str:
        return f"kube-dns.kube-system.svc.{self.cluster_domain}"


def check_service_name(name: str) -> None:
    """Kubernetes refuses Service names that are not DNS-1035 labels of at most 63 characters."""
    if len(name) > 63 or not _DNS1035_LABEL.fullmatch(name):
        raise SettingsError(
            f"-zone-sync-service-name: {name!r} is not a valid Service name: it must be at "
            "most 63 characters of lower-case letters, digits and '-', start with a letter "
            "and end with a letter or digit (a DNS-1035 label)"
        )


def check_namespace(namespace: str) -> None:
    if len(namespace) > 63 or not DNS1123_LABEL.fullmatch(namespace):
        raise SettingsError(
            f"namespace {namespace!r} is not a valid Kubernetes namespace name "
            "(a DNS-1123 label: at most 63 lower-case letters, digits and '-')"
        )


def check_cluster_domain(domain: str) -> None:
    labels = domain.split(".")
    if len(domain) > 253 or not all(DNS1123_LABEL.fullmatch(x) for x in labels):
        raise SettingsError(
            f"-cluster-domain: {domain!r} is not a DNS domain (lower-case labels of "
            "letters, digits and '-', separated by dots)"
        )


def check_path(flag: str, path: PurePosixPath) -> None:
    text = str(path)
    if not path.is_absolute() or not _SAFE_PATH.fullmatch(text) or ".." in path.parts:
        raise SettingsError(
            f"-{flag}: {text!r} must be an absolute path of letters, digits and ._/+@%=,:- "
            "without '..'"
        )
