"""The validated global configuration: what the controller's ConfigMap means.

Field defaults are NIC's (`NewDefaultConfigParams`), so a user's existing
ConfigMap keeps its meaning. `None` means "not set: render nothing, NGINX's own
default holds".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nginx_ingress.values import Buffers, HostPort, Network, NginxString, ProxyHeader, Size, Time

ZONE_SYNC_DEFAULT_PORT = 12345


def seconds(n: int) -> Time:
    return Time(f"{n}s", n * 1000)


DEFAULT_RESOLVER_VALID = seconds(5)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A Secret named by a ConfigMap key: `namespace/name`."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


DEFAULT_ZONE_SYNC_TLS_PROTOCOLS = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True, slots=True)
class ZoneSyncTlsConfig:
    """The `zone-sync-tls-*` keys: what they ask for, before any Secret is read.

    Present as soon as one `zone-sync-tls-*` key is set (or `-zone-sync-require-tls`
    is given): from then on zone sync runs over TLS or not at all. `unusable` says why
    the keys alone already rule TLS out (a Secret name that is not one, say); zone sync
    then stays off rather than fall back to clear text.
    """

    secret: SecretRef | None = None
    ca_secret: SecretRef | None = None
    """None: the `ca.crt` of `secret`, when it has one (cert-manager writes it)."""
    verify: bool | None = None
    """None: on when a CA is known."""
    server_name: HostPort | None = None
    """The name checked in a peer's certificate; None: the headless Service's FQDN."""
    protocols: tuple[str, ...] = DEFAULT_ZONE_SYNC_TLS_PROTOCOLS
    ciphers: str | None = None
    unusable: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneSyncConfig:
    """The zone-sync keys of `spec/zone-sync.md` section 1, after its rules applied.

    `enabled` is already false on NGINX OSS. `resolver_addresses` is never empty
    while enabled: its default is the cluster's DNS Service.
    """

    enabled: bool = False
    port: int = ZONE_SYNC_DEFAULT_PORT
    resolver_addresses: tuple[HostPort, ...] = ()
    resolver_valid: Time = DEFAULT_RESOLVER_VALID
    resolver_ipv6: bool | None = None
    interval: Time | None = None
    timeout: Time | None = None
    connect_timeout: Time | None = None
    connect_retry_interval: Time | None = None
    buffers: Buffers | None = None
    recv_buffer_size: Size | None = None
    tls: ZoneSyncTlsConfig | None = None
    """None: no `zone-sync-tls-*` key is set, zone sync is clear text."""


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    """Every core ConfigMap key of `spec/scope.md`, parsed, plus the zone-sync keys."""

    # proxying
    proxy_connect_timeout: Time = seconds(60)
    proxy_read_timeout: Time = seconds(60)
    proxy_send_timeout: Time = seconds(60)
    client_max_body_size: Size = Size("1m", 1024**2)
    proxy_buffering: bool = True
    proxy_buffers: Buffers | None = None
    proxy_buffer_size: Size | None = None
    proxy_max_temp_file_size: Size | None = None
    proxy_hide_headers: tuple[str, ...] = ()
    proxy_pass_headers: tuple[str, ...] = ()
    proxy_set_headers: tuple[ProxyHeader, ...] = ()
    # workers and connections
    worker_processes: int | None = None  # None: `auto`
    worker_connections: int = 1024
    worker_shutdown_timeout: Time | None = None
    keepalive_timeout: tuple[Time, ...] = (seconds(75),)
    keepalive_requests: int = 1000
    server_names_hash_bucket_size: int = 256
    server_names_hash_max_size: int = 1024
    # logging
    error_log_level: str = "notice"
    access_log_off: bool = False
    log_format: tuple[NginxString, ...] | None = None  # None: the built-in `main` format
    log_format_escaping: str | None = None  # None: NGINX's `default` escaping
    # TLS and redirects
    ssl_protocols: tuple[str, ...] | None = None
    ssl_ciphers: str | None = None
    ssl_prefer_server_ciphers: bool = False
    http2: bool = False
    hsts: bool = False
    hsts_max_age: int = 2592000
    hsts_include_subdomains: bool = False
    hsts_behind_proxy: bool = False
    ssl_redirect: bool = True
    redirect_to_https: bool = False
    # client address
    real_ip_header: str | None = None
    set_real_ip_from: tuple[Network, ...] = ()
    real_ip_recursive: bool = False
    proxy_protocol: bool = False
    # upstreams
    lb_method: tuple[str | NginxString, ...] = ("random", "two", "least_conn")
    max_fails: int = 1
    max_conns: int = 0
    fail_timeout: Time = seconds(10)
    keepalive: int = 0
    upstream_zone_size: Size = Size("256k", 256 * 1024)
    # default server and identity
    default_server_return: tuple[int, NginxString | None] = (404, None)
    server_tokens: str | NginxString = "on"
    external_status_address: tuple[HostPort, ...] = ()
    # DNS resolver for NGINX itself (NGINX Plus)
    resolver_addresses: tuple[HostPort, ...] = ()
    resolver_valid: Time | None = None
    resolver_ipv6: bool = True
    resolver_timeout: Time | None = None
    # state sharing
    zone_sync: ZoneSyncConfig = field(default_factory=ZoneSyncConfig)
