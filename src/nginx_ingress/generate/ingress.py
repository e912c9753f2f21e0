"""One Ingress and what it refers to → the model of its file, and its problems.

Pure: everything it reads arrives in `IngressInputs` (the part of the cluster
snapshot this Ingress depends on) or as an argument, so the controller can keep
each result until one of its inputs changes, and rebuild only what a change
touches.

Path matching follows the Ingress specification, not NGINX's raw prefixes:
- `Exact /foo` is `location = /foo`;
- `Prefix /foo` (or `/foo/`) matches element-wise: `location = /foo` and
  `location /foo/`, so `/foo` and `/foo/bar` match and `/foobar` does not;
  `Prefix /` is `location /`;
- `ImplementationSpecific` is NGINX's own prefix match, `location /foo`, as in NIC
  (where `/foo` also matches `/foobar`); an empty path means `/`.
An `Exact` path wins over a `Prefix` on the same path; of two identical paths the
first one written wins, and the other is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from nginx_ingress.configmap import GlobalConfig
from nginx_ingress.configmap.problems import Problem, Reason
from nginx_ingress.generate.annotations import IngressOptions, parse_annotations
from nginx_ingress.generate.endpoints import resolve
from nginx_ingress.generate.names import ingress_stem, short_hash, upstream_name
from nginx_ingress.generate.shared import (
    STICKY_LEARN,
    StickyLearnRequest,
    StickyRequest,
    parse_rate_limit,
    parse_sticky,
)
from nginx_ingress.generate.validate import check_ingress
from nginx_ingress.layout import secret_file, secret_reference
from nginx_ingress.model import (
    Hsts,
    IngressConfig,
    Location,
    ProxyOptions,
    RateLimit,
    Server,
    ServerTls,
    StickyCookie,
    StickyLearn,
    Upstream,
    UpstreamServer,
)
from nginx_ingress.resources import BackendRef, EndpointSlice, Ingress, Secret, Service
from nginx_ingress.settings import Settings

CATCH_ALL = ""
"""The host of rules without one: such rules are served by the catch-all server."""


@dataclass(frozen=True, slots=True)
class IngressInputs:
    """Everything one Ingress's file depends on, read from the cluster snapshot."""

    ingress: Ingress
    stem: str
    """The file stem this Ingress owns (`<namespace>-<name>` unless that clashes)."""
    services: Mapping[str, Service | None] = field(default_factory=dict)
    """Each Service the Ingress names → its view, None when it does not exist."""
    slices: Mapping[str, tuple[EndpointSlice, ...]] = field(default_factory=dict)
    """Service name → its EndpointSlices."""
    secrets: Mapping[str, Secret | None] = field(default_factory=dict)
    lost_hosts: Mapping[str, str] = field(default_factory=dict)
    """Hosts an older Ingress owns → that Ingress's `namespace/name`."""
    taken_upstreams: frozenset[str] = frozenset()
    """Upstream names an older Ingress's upstreams also read as (see `upstream_names`)."""
    zone_sync: bool = False
    """Zone sync is on and its Service in place: synced zones carry `sync` (set only for an
    Ingress with such zones, so toggling zone sync rebuilds only those)."""
    replicas: int = 1
    """Ready controller replicas (set only for an Ingress with `limit-req-scale`)."""


def reads_zone_sync(ingress: Ingress) -> bool:
    """The Ingress has zones that zone sync shares (a rate limit, sticky learn)."""
    return "nginx.org/limit-req-rate" in ingress.annotations or (
        STICKY_LEARN in ingress.annotations
    )


def reads_replicas(ingress: Ingress) -> bool:
    """The Ingress scales its rate limit by the number of controller replicas."""
    return "nginx.org/limit-req-scale" in ingress.annotations


@dataclass(frozen=True, slots=True)
class IngressResult:
    config: IngressConfig | None
    """None when the Ingress is rejected or every host it asks for belongs to another."""
    rejected: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    secret_files: Mapping[str, str] = field(default_factory=dict)
    """`secrets/<namespace>-<name>` → certificate and key, for the Secrets it serves."""
    expires: float | None = None
    """When the first certificate it serves that has not expired yet expires (epoch
    seconds): then its result changes (a warning), although none of its inputs did."""

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.rejected + self.warnings


def hosts_of(ingress: Ingress) -> frozenset[str]:
    """The hosts an Ingress asks for; `CATCH_ALL` when it has rules without a host or
    nothing but a default backend."""
    hosts = {rule.host for rule in ingress.rules}
    if not ingress.rules and ingress.default_backend is not None:
        hosts.add(CATCH_ALL)
    return frozenset(hosts)


def upstream_names(ingress: Ingress) -> frozenset[str]:
    """The NIC upstream names this Ingress may use, for the claims between Ingresses.

    NIC's shape is ambiguous across Ingresses too (`default/cafe` with host `x.com` and
    Service `a-b` reads as `default/cafe-x.com` with host `a` and Service `b`), and
    NGINX refuses a duplicate upstream, which would take every Ingress down. The
    routing table lets the oldest keep the name; the others get a hash suffix.
    """
    stem = ingress_stem(ingress.namespace, ingress.name)
    default = ingress.default_backend
    names: set[str] = set()
    for host in hosts_of(ingress):
        backends = [p.backend for r in ingress.rules if r.host == host for p in r.paths]
        backends += [default] if default is not None else []
        names.update(upstream_name(stem, host, b.service, b.port) for b in backends)
    return frozenset(names)


def generate_ingress(
    inputs: IngressInputs, config: GlobalConfig, settings: Settings, now: float
) -> IngressResult:
    """The model of one Ingress's file; `now` (epoch seconds) only dates certificates."""
    rejected = check_ingress(inputs.ingress)
    if rejected:
        return IngressResult(None, rejected=rejected)
    return generate_checked(inputs, config, settings, now)


def generate_checked(
    inputs: IngressInputs, config: GlobalConfig, settings: Settings, now: float
) -> IngressResult:
    """`generate_ingress` for an Ingress `check_ingress` found nothing wrong with (the
    routing table checks each Ingress once, before it claims its hosts)."""
    ingress = inputs.ingress
    annotations = parse_annotations(ingress.annotations, config, settings)
    builder = _Builder(inputs, annotations.options, config, settings, now)
    builder.warnings.extend(annotations.problems)
    builder.shared_state()
    return builder.build()


class _Builder:
    def __init__(
        self,
        inputs: IngressInputs,
        options: IngressOptions,
        config: GlobalConfig,
        settings: Settings,
        now: float,
    ) -> None:
        self.inputs = inputs
        self.ingress = inputs.ingress
        self.options = options
        self.config = config
        self.settings = settings
        self.now = now
        self.warnings: list[Problem] = []
        self.upstreams: dict[tuple[str, str, str], Upstream] = {}
        self.secret_files: dict[str, str] = {}
        self.expires: float | None = None
        self.rate_limit: RateLimit | None = None
        self.sticky: dict[str, StickyRequest] = {}
        self._names: dict[str, tuple[str, str, str]] = {}

    def build(self) -> IngressResult:
        ingress = self.ingress
        rules: dict[str, list[tuple[int, int]]] = {}
        for i, rule in enumerate(ingress.rules):
            rules.setdefault(rule.host, []).extend((i, j) for j in range(len(rule.paths)))
        if not ingress.rules and ingress.default_backend is not None:
            rules[CATCH_ALL] = []
        servers: list[Server] = []
        catch_all: tuple[Location, ...] = ()
        tls_hosts = self._tls_hosts()
        for host, paths in rules.items():
            winner = self.inputs.lost_hosts.get(host)
            if winner is not None:
                shown = host or "requests without a matching host (rules without a host)"
                self.warnings.append(
                    Problem(
                        "spec.rules",
                        f"host {shown} is served by the older Ingress {winner}; "
                        "this Ingress's rules for it are ignored until that one lets it go",
                    )
                )
                continue
            locations = self._locations(host, paths)
            if host == CATCH_ALL:
                catch_all = locations
                continue
            servers.append(self._server(host, locations, tls_hosts))
        for host in sorted(set(tls_hosts) - set(rules)):
            self.warnings.append(
                Problem("spec.tls", f"host {host} has no rule in this Ingress; its TLS is unused")
            )
        if not servers and not catch_all:
            if not any(p.key == "spec.rules" for p in self.warnings):
                self.warnings.append(Problem("spec", "serves nothing"))
            return IngressResult(
                None,
                rejected=tuple(self.warnings),
                warnings=(),
            )
        config = IngressConfig(
            namespace=ingress.namespace,
            name=ingress.name,
            upstreams=tuple(sorted(self.upstreams.values(), key=lambda u: u.name)),
            servers=tuple(servers),
            proxy=self._proxy(),
            catch_all=catch_all,
        )
        return IngressResult(
            config, (), tuple(self.warnings), dict(self.secret_files), self.expires
        )

    # --- locations and upstreams ---------------------------------------------------------

    def _locations(self, host: str, paths: list[tuple[int, int]]) -> tuple[Location, ...]:
        found: dict[tuple[str, str], Location] = {}
        # Exact paths first: `Exact /foo` wins over the exact half of `Prefix /foo`.
        ordered = sorted(
            paths, key=lambda ij: self.ingress.rules[ij[0]].paths[ij[1]].path_type != "Exact"
        )
        for i, j in ordered:
            path = self.ingress.rules[i].paths[j]
            upstream = self._upstream(
                host, path.backend, f"spec.rules[{i}].http.paths[{j}].backend"
            )
            uri = self._rewrite(path.backend)
            for modifier, location_path, location_uri in _matches(path.path, path.path_type, uri):
                key = (modifier, location_path)
                if key in found:
                    if path.path_type != "Prefix" or modifier != "=":
                        self.warnings.append(
                            Problem(
                                f"spec.rules[{i}].http.paths[{j}]",
                                f"path {path.path} ({path.path_type}) repeats an earlier "
                                "path of this host; the earlier one is used",
                            )
                        )
                    continue
                found[key] = Location(modifier, location_path, upstream, location_uri)
        default = self.ingress.default_backend
        if default is not None and ("", "/") not in found:
            upstream = self._upstream(host, default, "spec.defaultBackend")
            found[("", "/")] = Location("", "/", upstream, None)
        return tuple(sorted(found.values(), key=lambda loc: (loc.path, loc.modifier != "=")))

    def _rewrite(self, backend: BackendRef) -> str | None:
        return self.options.rewrites.get(backend.service, self.options.rewrite_target)

    def _upstream(self, host: str, backend: BackendRef, field: str) -> str:
        """The upstream of `backend` for `host` (made once); `field` names where the backend
        is written, for its problems."""
        identity = (host, backend.service, backend.port)
        existing = self.upstreams.get(identity)
        if existing is not None:
            return existing.name
        name = upstream_name(self.inputs.stem, host, backend.service, backend.port)
        if name in self.inputs.taken_upstreams:  # an older Ingress's name
            name = f"{name}-{short_hash('/'.join((self.ingress.key, *identity)))}"
        if name in self._names:  # `x.com-a` + `b` and `x.com` + `a-b` read the same
            name = f"{name}-{short_hash('/'.join(identity))}"
        self._names[name] = identity
        service = self.inputs.services.get(backend.service)
        resolved = resolve(
            backend,
            self.ingress.namespace,
            service,
            self.inputs.slices.get(backend.service, ()),
        )
        if resolved.problem:
            reason = Reason.MISSING if resolved.missing else Reason.INVALID_VALUE
            message = f"{resolved.problem}: requests for it get 502"
            self.warnings.append(Problem(field, message, reason=reason))
        elif not resolved.servers:
            self.warnings.append(
                Problem(
                    field,
                    f"Service {self.ingress.namespace}/{backend.service} has no ready "
                    f"endpoint for port {backend.port}: requests for it get 502",
                    reason=Reason.MISSING,
                )
            )
        options = self.options
        zone = options.upstream_zone_size
        self.upstreams[identity] = Upstream(
            name=name,
            zone_size=zone if zone.bytes > 0 else None,
            lb_method=options.lb_method,
            keepalive=options.keepalive,
            max_fails=options.max_fails,
            fail_timeout=options.fail_timeout,
            max_conns=options.max_conns,
            servers=tuple(UpstreamServer(server) for server in resolved.servers),
            sticky=self._sticky(backend.service, name),
        )
        return name

    # --- servers --------------------------------------------------------------------------

    def _tls_hosts(self) -> dict[str, str]:
        """Host → the Secret name that serves it ("" when the entry names none)."""
        hosts: dict[str, str] = {}
        for i, tls in enumerate(self.ingress.tls):
            if not tls.hosts:
                self.warnings.append(
                    Problem(f"spec.tls[{i}]", "lists no hosts; a TLS entry applies to its hosts")
                )
            for host in tls.hosts:
                hosts.setdefault(host, tls.secret_name)
        return hosts

    def _server(
        self, host: str, locations: tuple[Location, ...], tls_hosts: dict[str, str]
    ) -> Server:
        options, settings = self.options, self.settings
        tls = None
        redirect = None
        if host in tls_hosts:
            tls = ServerTls(self._certificate(host, tls_hosts[host]))
            # Not to a host that refuses every handshake: HTTP keeps working meanwhile.
            if options.ssl_redirect and tls.certificate is not None:
                redirect = "scheme"
        if options.redirect_to_https:
            redirect = "forwarded-proto"
        hsts = None
        if options.hsts and (tls is not None or options.hsts_behind_proxy):
            hsts = Hsts(
                options.hsts_max_age, options.hsts_include_subdomains, options.hsts_behind_proxy
            )
        return Server(
            name=host,
            http_port=settings.listeners.http,
            https_port=settings.listeners.https,
            listen_ipv6=not settings.disable_ipv6,
            proxy_protocol=self.config.proxy_protocol,
            http2=options.http2,
            tls=tls,
            redirect=redirect,
            hsts=hsts,
            server_tokens=options.server_tokens,
            locations=locations,
        )

    def _certificate(self, host: str, secret_name: str) -> PurePosixPath | None:
        """The file of the host's certificate; None rejects its handshakes (and says why)."""
        namespace = self.ingress.namespace
        missing = Reason.INVALID_VALUE
        if not secret_name:
            reason = "its TLS entry names no secretName"
        else:
            secret = self.inputs.secrets.get(secret_name)
            if secret is None:
                missing = Reason.MISSING
                reason = f"Secret {namespace}/{secret_name} does not exist"
            elif secret.tls is None:
                reason = f"Secret {namespace}/{secret_name} {secret.problem}"
            else:
                if secret.tls.not_after >= self.now:
                    self.expires = min(self.expires or secret.tls.not_after, secret.tls.not_after)
                else:
                    self.warnings.append(
                        Problem(
                            "spec.tls",
                            f"the certificate in Secret {namespace}/{secret_name} has expired; "
                            f"{host} still serves it",
                        )
                    )
                self.secret_files[secret_file(namespace, secret_name)] = secret.tls.pem
                return secret_reference(namespace, secret_name)
        self.warnings.append(
            Problem("spec.tls", f"{reason}: TLS handshakes for {host} are rejected", reason=missing)
        )
        return None

    def shared_state(self) -> None:
        """The rate limit and sticky sessions, the state zone sync shares."""
        ingress, inputs = self.ingress, self.inputs
        request, problems = parse_rate_limit(ingress.annotations, ingress.namespace, ingress.name)
        self.warnings.extend(problems)
        if request is not None:
            if request.scale and inputs.zone_sync:
                self.warnings.append(
                    Problem(
                        "nginx.org/limit-req-scale",
                        "is ignored: zone sync shares the rate limit's counters between the "
                        "replicas, so the rate is not divided by their number",
                    )
                )
            self.rate_limit = request.effective(
                zone_sync=inputs.zone_sync, replicas=inputs.replicas
            )
        self.sticky, problems = parse_sticky(ingress.annotations, plus=self.settings.nginx_plus)
        self.warnings.extend(problems)
        unknown = set(self.sticky) - ingress.services
        for service in sorted(unknown):
            self.warnings.append(
                Problem("sticky", f"names service {service}, which no path of this Ingress uses")
            )

    def _sticky(self, service: str, upstream: str) -> StickyCookie | StickyLearn | None:
        method = self.sticky.get(service)
        if isinstance(method, StickyLearnRequest):
            return method.for_upstream(upstream, zone_sync=self.inputs.zone_sync)
        return method

    def _proxy(self) -> ProxyOptions:
        options = self.options
        return ProxyOptions(
            rate_limit=self.rate_limit,
            connect_timeout=options.proxy_connect_timeout,
            read_timeout=options.proxy_read_timeout,
            send_timeout=options.proxy_send_timeout,
            client_max_body_size=options.client_max_body_size,
            buffering=options.proxy_buffering,
            buffers=options.proxy_buffers,
            buffer_size=options.proxy_buffer_size,
            max_temp_file_size=options.proxy_max_temp_file_size,
            hide_headers=options.proxy_hide_headers,
            pass_headers=options.proxy_pass_headers,
            set_headers=options.proxy_set_headers,
            keepalive=options.keepalive > 0,
        )


def _matches(path: str, path_type: str, uri: str | None) -> list[tuple[str, str, str | None]]:
    """(modifier, location path, proxy_pass URI) for one Ingress path."""
    if path_type == "Exact":
        return [("=", path, uri)]
    if path_type == "ImplementationSpecific":
        return [("", path or "/", uri)]
    base = path.rstrip("/")
    # What follows the prefix is whole path elements: it goes after a `/` of the target.
    sub_uri = None if uri is None else uri.rstrip("/") + "/"
    if not base:
        return [("", "/", sub_uri)]
    return [("=", base, uri), ("", base + "/", sub_uri)]
