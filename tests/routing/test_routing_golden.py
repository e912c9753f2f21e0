"""Golden files of the rendered Ingress files, one case per routing feature.

Each case is a set of cluster objects run through the routing table, as the
controller runs them; its golden file `tests/golden/ingress/<case>.conf` holds each
Ingress's outcome and problems, then the routing files (Ingress files, catch-all
locations; Secrets are shown by name only, their certificates are made per run)
and, where the case is about them, the default server or the main file. To accept
a deliberate change, run `GOLDEN_UPDATE=1 make unit` and review the diff.

Every case's whole tree (main files, Ingress files, a real certificate) must pass
crossplane's analyzer and the real `nginx -t` in a sandbox; Plus cases after the
Plus-only directives are stripped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nginx_ingress.layout import DEFAULT_SERVER_FILE, MAIN_FILE, is_secret
from nginx_ingress.settings import Settings

from certificates import certificate
from ingress_objects import (
    Cluster,
    Raw,
    Routed,
    endpoint,
    endpoint_slice,
    ingress,
    path,
    route,
    rule,
    service,
    tls_entry,
    tls_secret,
)
from nginx_check import assert_golden, assert_tree_loads, sandbox

GOLDEN = Path(__file__).parent.parent / "golden" / "ingress"

OSS = Settings()
PLUS = Settings(nginx_plus=True)
HOST = "cafe.example.com"


def services() -> list[Raw]:
    return [
        service("coffee"),  # unnamed port 80 → 8080
        service("tea", {"name": "http", "port": 80, "targetPort": "web"}),
    ]


def slices() -> list[Raw]:
    return [
        endpoint_slice("coffee-1", "coffee", endpoint("10.0.0.2"), endpoint("10.0.0.1")),
        endpoint_slice(
            "tea-1",
            "tea",
            endpoint("10.0.1.1"),
            ports=({"name": "http", "port": 9000, "protocol": "TCP"},),
        ),
    ]


def cafe(
    *rules: Raw,
    annotations: dict[str, str] | None = None,
    tls: list[Raw] | None = None,
    default_backend: Raw | None = None,
    secrets: list[Raw] | None = None,
) -> Callable[[], Cluster]:
    """One Ingress `default/cafe` over the coffee and tea Services."""

    def make() -> Cluster:
        return Cluster(
            ingresses=[
                ingress(
                    "cafe",
                    *(rules or (rule(HOST, path("/coffee")),)),
                    annotations=annotations,
                    tls=tls or [],
                    default_backend=default_backend,
                )
            ],
            services=services(),
            slices=slices(),
            secrets=secrets or [],
        )

    return make


def annotated(annotations: dict[str, str]) -> Callable[[], Cluster]:
    return cafe(rule(HOST, path("/coffee"), path("/tea", "tea", "http")), annotations=annotations)


def with_tls(annotations: dict[str, str] | None = None) -> Callable[[], Cluster]:
    return cafe(
        rule(HOST, path("/coffee")),
        annotations=annotations,
        tls=[tls_entry("cafe-tls", HOST)],
        secrets=[tls_secret("cafe-tls")],
    )


DEFAULT = {"service": {"name": "coffee", "port": {"number": 80}}}


def two(
    first: Raw, second: Raw, *, extra_services: list[Raw] | None = None
) -> Callable[[], Cluster]:
    def make() -> Cluster:
        return Cluster(
            ingresses=[first, second],
            services=services() + (extra_services or []),
            slices=slices(),
        )

    return make


def endpoints_case() -> Cluster:
    cluster = cafe(
        rule(
            HOST,
            path("/tea", "tea", "http"),
            path("/coffee", "coffee", 80),
            path("/milk", "milk", 80),
        )
    )()
    cluster.services.append(service("milk", {"port": 80}))
    cluster.slices = [
        # Two slices of one Service, each with its own target port (a rollout).
        endpoint_slice(
            "tea-v4",
            "tea",
            endpoint("10.0.1.2"),
            endpoint("10.0.1.1"),
            endpoint("10.0.1.1"),
            endpoint("10.0.1.9", ready=False),
            ports=({"name": "http", "port": 9000, "protocol": "TCP"},),
        ),
        endpoint_slice(
            "tea-v6",
            "tea",
            endpoint("fd00::2"),
            endpoint("FD00::1"),
            ports=({"name": "http", "port": 9001, "protocol": "TCP"},),
            address_type="IPv6",
        ),
        endpoint_slice("tea-fqdn", "tea", endpoint("tea.example.com"), address_type="FQDN"),
        # Only terminating endpoints: kube-proxy's fallback serves them.
        endpoint_slice(
            "coffee-1",
            "coffee",
            endpoint("10.0.0.3", ready=False, serving=True, terminating=True),
            endpoint("10.0.0.4", ready=False, serving=False, terminating=True),
        ),
        # milk has a slice, but no ready endpoint: 502.
        endpoint_slice("milk-1", "milk", endpoint("10.0.2.1", ready=False)),
    ]
    return cluster


def backend_problems_case() -> Cluster:
    cluster = cafe(
        rule(
            HOST,
            path("/missing", "missing", 80),
            path("/external", "external", 80),
            path("/no-port", "coffee", 81),
            path("/no-name", "tea", "grpc"),
        )
    )()
    cluster.services.append(service("external", {"port": 80}, kind="ExternalName"))
    return cluster


def long_names_case() -> Cluster:
    host = ".".join(["a" * 63] * 3 + ["b" * 61])
    namespace, name = "n" * 63, "i" * 253
    return Cluster(
        ingresses=[ingress(name, rule(host, path("/", "s" * 63, "http-alt")), namespace=namespace)],
        services=[service("s" * 63, {"name": "http-alt", "port": 80}, namespace=namespace)],
        slices=[
            endpoint_slice(
                "s-1",
                "s" * 63,
                endpoint("10.0.0.1"),
                namespace=namespace,
                ports=({"name": "http-alt", "port": 8080, "protocol": "TCP"},),
            )
        ],
    )


@dataclass(frozen=True)
class Case:
    name: str
    cluster: Callable[[], Cluster]
    configmap: dict[str, str] = field(default_factory=dict)
    settings: Settings = OSS
    show: tuple[str, ...] = ()
    """Main files to show too (the default server, nginx.conf)."""
    default_secret: tuple[str, str] | None = None
    replicas: int = 1

    def route(self, settings: Settings) -> Routed:
        return route(
            self.cluster(),
            settings,
            self.configmap,
            default_secret=self.default_secret,
            replicas=self.replicas,
        )


RATE_LIMIT = {
    "nginx.org/limit-req-rate": "10r/s",
    "nginx.org/limit-req-key": "${binary_remote_addr}${uri}",
    "nginx.org/limit-req-zone-size": "1m",
    "nginx.org/limit-req-burst": "20",
    "nginx.org/limit-req-delay": "5",
    "nginx.org/limit-req-log-level": "warn",
    "nginx.org/limit-req-reject-code": "503",
    "nginx.org/limit-req-dry-run": "true",
}
STICKY_COOKIE = (
    "serviceName=coffee srv_id expires=1h domain=.example.com path=/coffee httponly secure "
    "samesite=lax"
)
STICKY_LEARN = (
    "serviceName=tea create=$upstream_cookie_session lookup=$cookie_session zone_size=1m timeout=1h"
)
ZONE_SYNC = {"zone-sync": "true"}


CASES = [
    # --- mapping ---
    Case(
        "path-types",
        cafe(
            rule(
                HOST,
                path("/exact", kind="Exact"),
                path("/prefix", kind="Prefix"),
                path("/slash/", "tea", "http", kind="Prefix"),
                path("/impl", kind="ImplementationSpecific"),
                path("/", "tea", "http", kind="Prefix"),
            ),
            rule("empty.example.com", path(None, kind="ImplementationSpecific")),
        ),
    ),
    Case(
        "exact-beats-prefix",
        cafe(
            rule(
                HOST,
                path("/foo", "coffee", kind="Prefix"),
                path("/foo", "tea", "http", kind="Exact"),
                path("/foo", "tea", "http", kind="Prefix"),  # repeats: reported, first kept
            )
        ),
    ),
    Case(
        "hosts-and-wildcard",
        cafe(
            rule(HOST, path("/coffee")),
            rule("*.example.com", path("/", "tea", "http")),
            rule(HOST, path("/more", "tea", "http")),  # the same host again: one server
        ),
    ),
    Case(
        "rules-without-host",
        cafe(rule(None, path("/coffee")), rule(HOST, path("/tea", "tea", "http"))),
        show=(DEFAULT_SERVER_FILE,),
    ),
    Case(
        "rules-without-host-root",
        cafe(rule(None, path("/"))),
        show=(DEFAULT_SERVER_FILE,),
    ),
    Case(
        "default-backend-only",
        lambda: Cluster(
            ingresses=[ingress("cafe", default_backend=DEFAULT)],
            services=services(),
            slices=slices(),
        ),
        show=(DEFAULT_SERVER_FILE,),
    ),
    Case(
        "default-backend-with-rules",
        cafe(
            rule(HOST, path("/tea", "tea", "http")),
            rule("other.example.com", path("/", "tea", "http")),
            default_backend=DEFAULT,
        ),
    ),
    Case(
        "host-collision",
        two(
            ingress("new", rule(HOST, path("/new")), created="2025-01-01T00:00:00Z"),
            ingress("old", rule(HOST, path("/old")), created="2024-01-01T00:00:00Z"),
        ),
    ),
    Case(
        "nic-file-name-clash",
        lambda: Cluster(
            ingresses=[
                ingress(
                    "c", rule("one.example.com"), namespace="a-b", created="2025-01-01T00:00:00Z"
                ),
                ingress("b-c", rule("two.example.com"), namespace="a"),
            ],
        ),
    ),
    Case(
        "upstream-name-clash",
        two(
            ingress("cafe", rule("x.com", path("/", "a-b-c"))),
            ingress("cafe-x.com", rule("a", path("/", "b-c")), created="2025-01-01T00:00:00Z"),
            extra_services=[service("a-b-c"), service("b-c")],
        ),
    ),
    Case("long-names", long_names_case, show=(MAIN_FILE,)),
    Case(
        "rejected",
        cafe(rule("Cafe.example.com", path("/a b", "Tea"))),
    ),
    # --- upstreams ---
    Case("endpoints", endpoints_case),
    Case("backend-problems", backend_problems_case),
    # --- TLS ---
    Case("tls", with_tls()),
    Case(
        "tls-missing-secret",
        cafe(rule(HOST, path("/coffee")), tls=[tls_entry("nope", HOST)]),
    ),
    Case(
        "tls-invalid-secrets",
        cafe(
            rule(HOST, path("/coffee")),
            rule("opaque.example.com", path("/coffee")),
            rule("nameless.example.com", path("/coffee")),
            tls=[
                tls_entry("mismatch", HOST),
                tls_entry("opaque", "opaque.example.com"),
                tls_entry(None, "nameless.example.com"),
                tls_entry("cafe-tls", "unused.example.com"),
            ],
            secrets=[
                tls_secret(
                    "mismatch",
                    data={
                        "tls.crt": tls_secret("x")["data"]["tls.crt"],
                        "tls.key": tls_secret("x", certificate("other.example.com"))["data"][
                            "tls.key"
                        ],
                    },
                ),
                tls_secret("opaque", kind="Opaque"),
                tls_secret("cafe-tls"),
            ],
        ),
    ),
    Case(
        "tls-expired",
        cafe(
            rule(HOST, path("/coffee")),
            tls=[tls_entry("old", HOST)],
            secrets=[tls_secret("old", certificate("old.example.com", expired=True))],
        ),
    ),
    Case(
        "tls-wildcard",
        cafe(
            rule("*.example.com", path("/coffee")),
            tls=[tls_entry("cafe-tls", "*.example.com")],
            secrets=[tls_secret("cafe-tls")],
        ),
    ),
    Case("ssl-redirect-off", with_tls({"nginx.org/ssl-redirect": "false"})),
    Case(
        "ssl-redirect-deprecated",
        with_tls({"ingress.kubernetes.io/ssl-redirect": "false"}),
    ),
    Case("redirect-to-https", annotated({"nginx.org/redirect-to-https": "true"})),
    Case(
        "hsts",
        with_tls(
            {
                "nginx.org/hsts": "true",
                "nginx.org/hsts-max-age": "31536000",
                "nginx.org/hsts-include-subdomains": "true",
            }
        ),
    ),
    Case(
        "hsts-behind-proxy",
        annotated({"nginx.org/hsts": "true", "nginx.org/hsts-behind-proxy": "true"}),
    ),
    Case("http2", with_tls({"nginx.org/http2": "true"})),
    Case(
        "default-server-tls-secret",
        cafe(rule(HOST, path("/coffee"))),
        show=(DEFAULT_SERVER_FILE,),
        default_secret=("nginx-ingress", "default-server-secret"),
    ),
    # --- annotations ---
    Case(
        "proxy-timeouts",
        annotated(
            {
                "nginx.org/proxy-connect-timeout": "5s",
                "nginx.org/proxy-read-timeout": "2m",
                "nginx.org/proxy-send-timeout": "90s",
            }
        ),
    ),
    Case(
        "body-and-buffers",
        annotated(
            {
                "nginx.org/client-max-body-size": "16m",
                "nginx.org/proxy-buffering": "false",
                "nginx.org/proxy-buffers": "16 8k",
                "nginx.org/proxy-buffer-size": "16k",
                "nginx.org/proxy-max-temp-file-size": "0",
            }
        ),
    ),
    Case(
        "headers",
        annotated(
            {
                "nginx.org/proxy-hide-headers": "X-Powered-By, Server",
                "nginx.org/proxy-pass-headers": "X-Accel-Expires",
                "nginx.org/proxy-set-headers": 'X-Tenant, Host: api.internal, X-Quote: a "b" c',
            }
        ),
    ),
    Case(
        "rewrite-target",
        cafe(
            rule(
                HOST,
                path("/prefix", kind="Prefix"),
                path("/exact", kind="Exact"),
                path("/impl", kind="ImplementationSpecific"),
                path("/", "tea", "http", kind="Prefix"),
            ),
            annotations={"nginx.org/rewrite-target": "/api/"},
        ),
    ),
    Case(
        "rewrite-target-without-slash",
        cafe(
            rule(HOST, path("/v1", kind="Prefix"), path("/", "tea", "http", kind="Prefix")),
            annotations={"nginx.org/rewrite-target": "/api"},
        ),
    ),
    Case(
        "rewrites",
        cafe(
            rule(HOST, path("/coffee/"), path("/tea", "tea", "http")),
            annotations={
                "nginx.org/rewrites": "serviceName=tea rewrite=/;serviceName=coffee rewrite=/beans",
                "nginx.org/rewrite-target": "/ignored-for-named-services",
            },
        ),
    ),
    Case(
        "upstream-options",
        annotated(
            {
                "nginx.org/lb-method": "hash $request_uri consistent",
                "nginx.org/max-fails": "3",
                "nginx.org/max-conns": "100",
                "nginx.org/fail-timeout": "30s",
                "nginx.org/keepalive": "32",
                "nginx.org/upstream-zone-size": "1m",
            }
        ),
    ),
    Case("upstream-zone-off", annotated({"nginx.org/upstream-zone-size": "0"})),
    Case("lb-method-round-robin", annotated({"nginx.org/lb-method": "round_robin"})),
    Case("server-tokens", annotated({"nginx.org/server-tokens": "false"})),
    Case(
        "configmap-values",
        annotated({}),
        configmap={
            "lb-method": "least_conn",
            "max-fails": "5",
            "max-conns": "50",
            "fail-timeout": "20s",
            "keepalive": "16",
            "upstream-zone-size": "64k",
            "proxy-hide-headers": "X-Powered-By",
            "proxy-pass-headers": "Server",
            "proxy-set-headers": "X-Request-Id",
            "hsts": "true",
            "redirect-to-https": "true",
            "http2": "true",
            "proxy-protocol": "true",
            "proxy-read-timeout": "5m",  # http-level: not repeated in the Ingress file
        },
    ),
    Case(
        "annotation-beats-configmap",
        annotated(
            {
                "nginx.org/lb-method": "ip_hash",
                "nginx.org/max-fails": "0",
                "nginx.org/proxy-set-headers": "X-Annotated",
                "nginx.org/redirect-to-https": "false",
                "nginx.org/proxy-read-timeout": "10s",
            }
        ),
        configmap={
            "lb-method": "least_conn",
            "max-fails": "5",
            "proxy-set-headers": "X-Request-Id",
            "redirect-to-https": "true",
            "proxy-read-timeout": "5m",
        },
    ),
    Case(
        "bad-annotations",
        annotated(
            {
                "nginx.org/proxy-read-timeout": "5 s",
                "nginx.org/keepalive": "8",
                "nginx.org/lb-method": "fastest",
                "nginx.org/proxy-read-timout": "5s",
                "nginx.com/sticky-cookie-services": "serviceName=tea srv_id",
            }
        ),
        configmap={"lb-method": "least_conn"},
    ),
    # --- settings ---
    Case("disable-ipv6", with_tls(), settings=Settings(disable_ipv6=True)),
    Case(
        "plus",
        annotated(
            {
                "nginx.org/lb-method": "least_time last_byte inflight",
                "nginx.org/server-tokens": 'edge "$nginx_version"',
            }
        ),
        settings=PLUS,
    ),
    # --- the state zone sync shares ---
    Case("rate-limit", annotated(RATE_LIMIT)),
    Case("rate-limit-plus-zone-sync-off", annotated(RATE_LIMIT), settings=PLUS),
    Case("rate-limit-zone-sync", annotated(RATE_LIMIT), configmap=ZONE_SYNC, settings=PLUS),
    Case(
        "rate-limit-scale",
        annotated({"nginx.org/limit-req-rate": "10r/s", "nginx.org/limit-req-scale": "true"}),
        replicas=3,
    ),
    Case(
        "rate-limit-scale-zone-sync",
        annotated({"nginx.org/limit-req-rate": "10r/s", "nginx.org/limit-req-scale": "true"}),
        configmap=ZONE_SYNC,
        settings=PLUS,
        replicas=3,
    ),
    Case(
        "rate-limit-no-delay-and-bad-values",
        annotated(
            {
                "nginx.org/limit-req-rate": "10r/s",
                "nginx.org/limit-req-no-delay": "true",
                "nginx.org/limit-req-delay": "5",
            }
        ),
    ),
    Case(
        "rate-limit-bad-key",
        annotated({"nginx.org/limit-req-rate": "10r/s", "nginx.org/limit-req-key": "client"}),
    ),
    Case(
        "sticky",
        annotated(
            {
                "nginx.com/sticky-cookie-services": STICKY_COOKIE,
                "nginx.com/sticky-learn-services": STICKY_LEARN,
            }
        ),
        settings=PLUS,
    ),
    Case(
        "sticky-zone-sync",
        annotated(
            {
                "nginx.com/sticky-cookie-services": STICKY_COOKIE,
                "nginx.com/sticky-learn-services": STICKY_LEARN,
            }
        ),
        configmap=ZONE_SYNC,
        settings=PLUS,
    ),
    Case(
        "sticky-on-oss",
        annotated(
            {
                "nginx.com/sticky-cookie-services": STICKY_COOKIE,
                "nginx.com/sticky-learn-services": STICKY_LEARN,
            }
        ),
    ),
    Case(
        "plus-random-least-time",
        with_tls({"nginx.org/lb-method": "random two least_time=header"}),
        configmap={"zone-sync": "true"},
        settings=PLUS,
    ),
]


def _golden_text(case: Case, settings: Settings) -> str:
    routed = case.route(settings)
    lines = []
    for report in routed.update.reports:
        lines.append(f"# {report.key}: {report.outcome}")
        lines.extend(f"# problem: {p.line}" for p in report.problems)
    parts = ["\n".join(lines) + "\n"]
    for name, text in sorted(routed.table.files.items()):
        shown = f"(certificate and key, {text.count('BEGIN')} PEM blocks)\n"
        parts.append(f"### {name}\n{shown if is_secret(name) else text}")
    parts.extend(f"### {name}\n{routed.files[name]}" for name in case.show)
    return "\n".join(parts)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden(case: Case) -> None:
    assert_golden(GOLDEN / f"{case.name}.conf", _golden_text(case, case.settings))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_nginx_accepts_every_case(case: Case) -> None:
    with sandbox(case.settings) as (root, settings):
        assert_tree_loads(root, settings, case.route(settings).files)


def test_the_golden_directory_holds_only_current_cases() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.conf")) == sorted(c.name for c in CASES)


def test_cases_have_distinct_names() -> None:
    assert len({c.name for c in CASES}) == len(CASES)
