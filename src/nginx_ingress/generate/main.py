"""GlobalConfig + Settings → the model of `nginx.conf` and the default server.

Pure. Here the controller's decisions live, not in templates: when the
zone-sync server is rendered, which paths derive from which setting, what the
built-in log format is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from nginx_ingress.configmap import GlobalConfig
from nginx_ingress.layout import CATCH_ALL_DIR
from nginx_ingress.model import (
    Configuration,
    ConfigVersion,
    DefaultServer,
    HttpContext,
    MainConfig,
    Resolver,
    StatusServer,
    StreamContext,
    TempPaths,
    ZoneSyncServer,
    ZoneSyncTls,
)
from nginx_ingress.settings import Settings
from nginx_ingress.values import HostKind, HostPort, Network, NginxString

# The classic NGINX "main" format; NIC ships the same fields under the same name.
DEFAULT_LOG_FORMAT = (
    NginxString('$remote_addr - $remote_user [$time_local] "$request" '),
    NginxString('$status $body_bytes_sent "$http_referer" '),
    NginxString('"$http_user_agent" "$http_x_forwarded_for"'),
)


@dataclass(frozen=True, slots=True)
class RoutingSummary:
    """What the main configuration needs to know of the Ingresses it includes."""

    default_certificate: PurePosixPath | None = None
    """The file of `-default-server-tls-secret` when that Secret is usable."""
    catch_all_root: bool = False
    longest_host: int = 0


def server_names_bucket_size(configured: int, longest_host: int) -> int:
    """The hash bucket size NGINX needs for the longest server name, never less than the
    ConfigMap's value.

    NGINX stores a name in `align8(length + 2 + pointer)` bytes and needs one more
    pointer per bucket; with a bucket too small it refuses the whole configuration
    without naming a file (measured with nginx 1.22: 256 holds names up to 238
    characters). Growing the bucket here means a long host cannot take every other
    Ingress down with it.
    """
    needed = ((longest_host + 2 + 8 + 7) // 8) * 8 + 8
    needed = ((needed + 63) // 64) * 64  # NGINX rounds up to its cache line
    return max(configured, needed)


def build_configuration(
    config: GlobalConfig,
    settings: Settings,
    *,
    zone_sync_service_ready: bool,
    routing: RoutingSummary = RoutingSummary(),
    zone_sync_tls: ZoneSyncTls | None = None,
) -> Configuration:
    """The main configuration.

    `zone_sync_service_ready` is true once the headless Service is in place: the
    zone-sync server is rendered only then (spec section 3, "enable: create or
    repair the Service first, then reload"), so NGINX never runs a minute of
    "could not be resolved" as NIC's does. The offline `render` passes true.

    `zone_sync_tls` is the TLS of the zone-sync server, from checked Secrets
    (`generate.zonesync_tls`). When the ConfigMap asks for TLS and there is none, the
    zone-sync server is left out: zone sync never falls back to clear text.
    """
    return Configuration(
        main=build_main(
            config,
            settings,
            zone_sync_service_ready=zone_sync_service_ready,
            longest_host=routing.longest_host,
            zone_sync_tls=zone_sync_tls,
        ),
        default_server=build_default_server(config, settings, routing),
        config_version=ConfigVersion(0, settings.config_version_socket),
    )


def build_main(
    config: GlobalConfig,
    settings: Settings,
    *,
    zone_sync_service_ready: bool,
    longest_host: int = 0,
    zone_sync_tls: ZoneSyncTls | None = None,
) -> MainConfig:
    return MainConfig(
        load_modules=settings.load_modules,
        pid=settings.run_dir / "nginx.pid",
        worker_processes=config.worker_processes,
        worker_connections=config.worker_connections,
        worker_shutdown_timeout=config.worker_shutdown_timeout,
        error_log_level=config.error_log_level,
        http=_http(config, settings, longest_host),
        stream=(
            StreamContext(
                zone_sync=(
                    _zone_sync(config, settings, zone_sync_tls) if zone_sync_service_ready else None
                ),
            )
            if settings.stream_module
            else None
        ),
    )


def _http(config: GlobalConfig, settings: Settings, longest_host: int) -> HttpContext:
    resolver = None
    if config.resolver_addresses:
        resolver = Resolver(
            config.resolver_addresses,
            config.resolver_valid,
            # NIC renders only `ipv6=off`; `on` is NGINX's default and adds nothing.
            None if config.resolver_ipv6 else False,
        )
    return HttpContext(
        log_format=config.log_format or DEFAULT_LOG_FORMAT,
        log_format_escaping=config.log_format_escaping,
        access_log_off=config.access_log_off,
        temp_paths=TempPaths.under(settings.run_dir),
        keepalive_timeout=config.keepalive_timeout,
        keepalive_requests=config.keepalive_requests,
        server_names_hash_bucket_size=server_names_bucket_size(
            config.server_names_hash_bucket_size, longest_host
        ),
        server_names_hash_max_size=config.server_names_hash_max_size,
        client_max_body_size=config.client_max_body_size,
        proxy_connect_timeout=config.proxy_connect_timeout,
        proxy_read_timeout=config.proxy_read_timeout,
        proxy_send_timeout=config.proxy_send_timeout,
        proxy_buffering=config.proxy_buffering,
        proxy_buffers=config.proxy_buffers,
        proxy_buffer_size=config.proxy_buffer_size,
        proxy_max_temp_file_size=config.proxy_max_temp_file_size,
        ssl_protocols=config.ssl_protocols,
        ssl_ciphers=config.ssl_ciphers,
        ssl_prefer_server_ciphers=config.ssl_prefer_server_ciphers,
        real_ip_header=config.real_ip_header,
        set_real_ip_from=config.set_real_ip_from,
        real_ip_recursive=config.real_ip_recursive,
        server_tokens=config.server_tokens,
        resolver=resolver,
        resolver_timeout=config.resolver_timeout if resolver else None,
        status_server=_status_server(settings),
        api_socket=settings.plus_api_socket if settings.nginx_plus else None,
    )


def _status_server(settings: Settings) -> StatusServer | None:
    listeners = settings.listeners
    if not listeners.nginx_status_enabled:
        return None
    return StatusServer(
        port=listeners.nginx_status,
        listen_ipv6=not settings.disable_ipv6,
        allow=tuple(Network(cidr) for cidr in listeners.nginx_status_allow_cidrs),
        plus_api=settings.nginx_plus,
    )


def _zone_sync(
    config: GlobalConfig, settings: Settings, tls: ZoneSyncTls | None
) -> ZoneSyncServer | None:
    zone_sync = config.zone_sync
    if not zone_sync.enabled:
        return None
    tls_asked = zone_sync.tls is not None or settings.zone_sync_require_tls
    if tls_asked and (tls is None or (settings.zone_sync_require_tls and tls.trusted is None)):
        return None  # TLS or nothing
    return ZoneSyncServer(
        port=zone_sync.port,
        listen_ipv6=not settings.disable_ipv6,
        resolver=Resolver(
            zone_sync.resolver_addresses, zone_sync.resolver_valid, zone_sync.resolver_ipv6
        ),
        peers=HostPort(settings.zone_sync_service_fqdn, HostKind.DNS, zone_sync.port),
        interval=zone_sync.interval,
        timeout=zone_sync.timeout,
        connect_timeout=zone_sync.connect_timeout,
        connect_retry_interval=zone_sync.connect_retry_interval,
        buffers=zone_sync.buffers,
        recv_buffer_size=zone_sync.recv_buffer_size,
        tls=tls if tls_asked else None,
    )


def build_default_server(
    config: GlobalConfig, settings: Settings, routing: RoutingSummary = RoutingSummary()
) -> DefaultServer:
    code, target = config.default_server_return
    return DefaultServer(
        http_port=settings.listeners.http,
        https_port=settings.listeners.https,
        listen_ipv6=not settings.disable_ipv6,
        proxy_protocol=config.proxy_protocol,
        http2=config.http2,
        return_code=code,
        return_target=target,
        certificate=routing.default_certificate,
        health_status_uri=settings.health_status_uri,
        catch_all_dir=CATCH_ALL_DIR,
        catch_all_root=routing.catch_all_root,
    )
