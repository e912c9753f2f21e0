"""The internal NGINX model: what the rendered files will say, in typed form.

`generate` fills it from Kubernetes state and the global configuration; `render`
turns it into text. Every field holds either a literal chosen by our code or a
typed value from `nginx_ingress.values`, never raw user text. Imports nothing of
ours but the value types.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from nginx_ingress.values import (
    Buffers,
    HostPort,
    Network,
    NginxString,
    ProxyHeader,
    Rate,
    Size,
    Time,
)


@dataclass(frozen=True, slots=True)
class Resolver:
    addresses: tuple[HostPort, ...]
    valid: Time | None = None
    ipv6: bool | None = None


@dataclass(frozen=True, slots=True)
class ZoneSyncTls:
    """TLS on the zone-sync server: the listener's and the peer connections' alike."""

    certificate: PurePosixPath
    """This replica's certificate chain and key (one file): server and client certificate."""
    trusted: PurePosixPath | None
    """The CA a peer's certificate must chain to; None: peers are not verified."""
    verify_depth: int
    """Certificates above a peer's own up to the CA, which NGINX must be allowed to check."""
    server_name: HostPort
    """The name checked in a peer's certificate (and sent as SNI)."""
    protocols: tuple[str, ...]
    ciphers: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneSyncServer:
    """The `stream` server that runs zone sync with the peers behind the headless Service."""

    port: int
    listen_ipv6: bool
    resolver: Resolver
    peers: HostPort
    interval: Time | None = None
    timeout: Time | None = None
    connect_timeout: Time | None = None
    connect_retry_interval: Time | None = None
    buffers: Buffers | None = None
    recv_buffer_size: Size | None = None
    tls: ZoneSyncTls | None = None


@dataclass(frozen=True, slots=True)
class TempPaths:
    client_body: PurePosixPath
    proxy: PurePosixPath
    fastcgi: PurePosixPath
    uwsgi: PurePosixPath
    scgi: PurePosixPath

    @classmethod
    def under(cls, directory: PurePosixPath) -> TempPaths:
        return cls(
            client_body=directory / "client_body_temp",
            proxy=directory / "proxy_temp",
            fastcgi=directory / "fastcgi_temp",
            uwsgi=directory / "uwsgi_temp",
            scgi=directory / "scgi_temp",
        )


@dataclass(frozen=True, slots=True)
class StatusServer:
    """NGINX's own status: `stub_status` on OSS, the read-only API on Plus."""

    port: int
    listen_ipv6: bool
    allow: tuple[Network, ...]
    plus_api: bool


@dataclass(frozen=True, slots=True)
class HttpContext:
    log_format: tuple[NginxString, ...]
    """Strings NGINX concatenates as they are: any separator is inside them."""
    log_format_escaping: str | None
    access_log_off: bool
    temp_paths: TempPaths
    keepalive_timeout: tuple[Time, ...]
    keepalive_requests: int
    server_names_hash_bucket_size: int
    server_names_hash_max_size: int
    client_max_body_size: Size
    proxy_connect_timeout: Time
    proxy_read_timeout: Time
    proxy_send_timeout: Time
    proxy_buffering: bool
    proxy_buffers: Buffers | None
    proxy_buffer_size: Size | None
    proxy_max_temp_file_size: Size | None
    ssl_protocols: tuple[str, ...] | None
    ssl_ciphers: str | None
    ssl_prefer_server_ciphers: bool
    real_ip_header: str | None
    set_real_ip_from: tuple[Network, ...]
    real_ip_recursive: bool
    server_tokens: str | NginxString
    resolver: Resolver | None
    resolver_timeout: Time | None
    status_server: StatusServer | None
    api_socket: PurePosixPath | None = None
    """NGINX Plus: the unix socket of the read-write API (upstream servers without a reload)."""


@dataclass(frozen=True, slots=True)
class StreamContext:
    zone_sync: ZoneSyncServer | None


@dataclass(frozen=True, slots=True)
class MainConfig:
    """`nginx.conf`: the main, events, http and stream contexts."""

    load_modules: tuple[PurePosixPath, ...]
    pid: PurePosixPath
    worker_processes: int | None  # None renders `auto`
    worker_connections: int
    worker_shutdown_timeout: Time | None
    error_log_level: str
    http: HttpContext
    stream: StreamContext | None
    """None when NGINX has no stream module: the block is left out."""


@dataclass(frozen=True, slots=True)
class DefaultServer:
    """The catch-all server for requests no Ingress host matches."""

    http_port: int
    https_port: int
    listen_ipv6: bool
    proxy_protocol: bool
    http2: bool
    return_code: int
    return_target: NginxString | None
    certificate: PurePosixPath | None = None
    """The default TLS Secret's file (`-default-server-tls-secret`); None rejects handshakes."""
    health_status_uri: str | None = None
    """`-health-status`: this path answers 200 from NGINX itself."""
    catch_all_dir: str = "default-server.d"
    catch_all_root: bool = False
    """An Ingress's rules without a host serve `/`: the default answer gives way."""


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """The server that tells which configuration version NGINX's workers run.

    After a reload the NGINX manager asks it until it answers the new version: only
    then do new workers serve the new configuration.
    """

    version: int
    socket: PurePosixPath


@dataclass(frozen=True, slots=True)
class Configuration:
    """Everything `render` turns into files."""

    main: MainConfig
    default_server: DefaultServer
    config_version: ConfigVersion


# --- Ingress routing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpstreamServer:
    address: HostPort
    """An IPv4 or IPv6 endpoint address with its port."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """One backend Service port as NGINX balances it.

    With no servers the upstream holds one `down` placeholder, so the configuration
    stays valid and NGINX answers 502 at once ("no live upstreams").
    """

    name: str
    zone_size: Size | None
    """None or 0 bytes: no shared-memory zone (OSS only)."""
    lb_method: tuple[str | NginxString, ...]
    keepalive: int
    max_fails: int
    fail_timeout: Time
    max_conns: int
    servers: tuple[UpstreamServer, ...]
    sticky: StickyCookie | StickyLearn | None = None


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    """Per-Ingress proxy settings for its locations.

    Scalar settings are None unless an annotation overrides the http-level value the
    ConfigMap set. The header lists hold the effective value (annotation, else
    ConfigMap): NGINX does not merge a location's `proxy_set_header` list with the
    http level's, so a location that sets any must set all.
    """

    connect_timeout: Time | None = None
    read_timeout: Time | None = None
    send_timeout: Time | None = None
    client_max_body_size: Size | None = None
    buffering: bool | None = None
    buffers: Buffers | None = None
    buffer_size: Size | None = None
    max_temp_file_size: Size | None = None
    hide_headers: tuple[str, ...] = ()
    pass_headers: tuple[str, ...] = ()
    set_headers: tuple[ProxyHeader, ...] = ()
    keepalive: bool = False
    """The upstreams keep connections open: send `Connection ""` so they can."""
    rate_limit: RateLimit | None = None

    @property
    def custom_header_names(self) -> frozenset[str]:
        """Lower-cased names of `set_headers`: they replace our default headers of that name."""
        return frozenset(header.name.lower() for header in self.set_headers)


@dataclass(frozen=True, slots=True)
class Location:
    modifier: str
    """"=" for an exact match, "" for a prefix."""
    path: str
    upstream: str
    uri: str | None = None
    """A URI on `proxy_pass` (a rewrite): it replaces the part of the request URI the
    location matched."""


@dataclass(frozen=True, slots=True)
class Hsts:
    max_age: int
    include_subdomains: bool
    behind_proxy: bool
    """Send it when the client's scheme, as `X-Forwarded-Proto` says, was https."""


@dataclass(frozen=True, slots=True)
class ServerTls:
    certificate: PurePosixPath | None
    """The PEM file (certificate then key); None rejects every handshake for the host."""


@dataclass(frozen=True, slots=True)
class Server:
    """One host of one Ingress."""

    name: str
    http_port: int
    https_port: int
    listen_ipv6: bool
    proxy_protocol: bool
    http2: bool
    tls: ServerTls | None
    redirect: str | None
    """"scheme" (`$scheme` is http) or "forwarded-proto" (`X-Forwarded-Proto` is http);
    None for no redirect to HTTPS."""
    hsts: Hsts | None
    server_tokens: str | NginxString | None
    """Overrides the http-level value; None inherits it."""
    locations: tuple[Location, ...]

    @property
    def serves_root(self) -> bool:
        """A rule of this host owns `location /`; otherwise the file adds one that answers
        404, so a path no rule matches never reaches NGINX's default root (a 403, or the
        files found there)."""
        return any(loc.path == "/" and not loc.modifier for loc in self.locations)


@dataclass(frozen=True, slots=True)
class IngressConfig:
    """What one Ingress's file says (and its share of the catch-all server)."""

    namespace: str
    name: str
    upstreams: tuple[Upstream, ...]
    servers: tuple[Server, ...]
    proxy: ProxyOptions
    catch_all: tuple[Location, ...] = ()
    """Locations of rules without a host, served by the catch-all server."""

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.proxy.rate_limit


# --- state shared through zone sync ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One Ingress's `limit_req_zone`, and the `limit_req` of each of its locations.

    `zone` is derived from the Ingress (`<namespace>/<name>`, NIC's name), never from
    the pod, so every replica names it alike; with zone sync it is `…_sync` and carries
    `sync`, since NGINX cannot add or drop `sync` on a zone across a reload.
    """

    zone: str
    key: NginxString
    size: Size
    rate: Rate
    sync: bool
    burst: int | None
    delay: int | None
    no_delay: bool
    dry_run: bool
    log_level: str
    reject_code: int


@dataclass(frozen=True, slots=True)
class StickyCookie:
    """`sticky cookie` (NGINX Plus): the server is named in a cookie, nothing to sync."""

    name: str
    expires: str | None
    domain: str | None
    path: str | None
    httponly: bool
    secure: bool
    samesite: str | None
    kind = "cookie"


@dataclass(frozen=True, slots=True)
class StickyLearn:
    """`sticky learn` (NGINX Plus): sessions learned from the upstream's responses, kept
    in a shared zone that zone sync can share between replicas."""

    create: tuple[NginxString, ...]
    lookup: tuple[NginxString, ...]
    zone: str
    size: Size
    timeout: Time | None
    header: bool
    sync: bool
    kind = "learn"

    @property
    def arguments(self) -> tuple[NginxString, ...]:
        """`create=…` and `lookup=…` as NGINX reads them: each one quoted argument (a quote
        in the middle of a token would be taken literally)."""
        return tuple(
            NginxString(f"{word}={variable.text}")
            for word, variables in (("create", self.create), ("lookup", self.lookup))
            for variable in variables
        )
