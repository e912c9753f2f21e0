"""Golden files of the rendered main configuration, checked by crossplane and the real `nginx -t`.

Golden files live in `tests/golden/<case>/`, rendered with the production paths
(`/etc/nginx`, `/var/lib/nginx`). To accept a deliberate change of the output,
run `GOLDEN_UPDATE=1 make unit` and review the diff.

Every case is also rendered into a sandbox: OSS renders must pass the real
`nginx -t`; NGINX Plus renders must pass crossplane's analyzer (which knows the
Plus directives) and `nginx -t` once the Plus-only directives are stripped.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nginx_ingress.layout import is_secret
from nginx_ingress.settings import Settings

from certificates import fixed_authority, fixed_peer
from nginx_check import (
    assert_golden,
    assert_tree_loads,
    render,
    sandbox,
)

GOLDEN = Path(__file__).parent.parent / "golden"

OSS = Settings()
PLUS = Settings(nginx_plus=True)
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp()
"""When the golden renders check certificates (the fixed ones run from 2020 to 2050)."""

PEERS = (PLUS.zone_sync_service_fqdn, f"*.{PLUS.zone_sync_service_fqdn}")
TLS_SECRET_NAME = ("nginx-ingress", "zone-sync-tls")
TLS_SECRET = fixed_peer(*PEERS).secret(*TLS_SECRET_NAME)
"""cert-manager's shape: tls.crt, tls.key and ca.crt."""
TLS_SECRET_WITHOUT_CA = fixed_peer(*PEERS).without_ca().secret("nginx-ingress", "zone-sync-tls")
CA_SECRET = fixed_authority().secret("nginx-ingress", "zone-sync-ca")
FOREIGN_SECRET = (
    fixed_peer(*PEERS, authority="another CA").without_ca().secret("nginx-ingress", "zone-sync-tls")
)
TLS_ON = {"zone-sync": "true", "zone-sync-tls-secret": "zone-sync-tls"}


@dataclass(frozen=True)
class Case:
    name: str
    data: dict[str, str]
    settings: Settings = field(default=PLUS)
    secrets: tuple[dict[str, Any], ...] = ()


CASES = [
    Case("oss-defaults", {}, OSS),
    Case("zone-sync-off", {"zone-sync": "false", "zone-sync-port": "34100"}),
    Case("zone-sync-minimal", {"zone-sync": "true"}),
    Case("zone-sync-custom-port", {"zone-sync": "true", "zone-sync-port": "34100"}),
    Case("zone-sync-resolver-valid", {"zone-sync": "true", "zone-sync-resolver-valid": "10s"}),
    Case(
        "zone-sync-resolver-addresses",
        {
            "zone-sync": "true",
            "zone-sync-resolver-addresses": "10.96.0.10, [fd00::10]:53, ::1 ,"
            "kube-dns.kube-system.svc.cluster.local:53",
        },
    ),
    Case("zone-sync-resolver-ipv6-off", {"zone-sync": "true", "zone-sync-resolver-ipv6": "false"}),
    Case("zone-sync-resolver-ipv6-on", {"zone-sync": "true", "zone-sync-resolver-ipv6": "True"}),
    Case(
        "zone-sync-disable-ipv6",
        {"zone-sync": "true"},
        Settings(nginx_plus=True, disable_ipv6=True),
    ),
    Case("zone-sync-interval", {"zone-sync": "true", "zone-sync-interval": "2s"}),
    Case("zone-sync-timeout", {"zone-sync": "true", "zone-sync-timeout": "10s"}),
    Case("zone-sync-connect-timeout", {"zone-sync": "true", "zone-sync-connect-timeout": "3s"}),
    Case(
        "zone-sync-connect-retry-interval",
        {"zone-sync": "true", "zone-sync-connect-retry-interval": "500ms"},
    ),
    Case("zone-sync-buffers", {"zone-sync": "true", "zone-sync-buffers": "16 8k"}),
    Case("zone-sync-recv-buffer-size", {"zone-sync": "true", "zone-sync-recv-buffer-size": "64k"}),
    Case(
        "zone-sync-custom-service",
        {"zone-sync": "true"},
        Settings(
            nginx_plus=True,
            zone_sync_service_name="edge-headless",
            namespace="edge",
            cluster_domain="corp.example",
        ),
    ),
    Case("zone-sync-oss-refused", {"zone-sync": "true", "zone-sync-port": "34100"}, OSS),
    Case(
        "zone-sync-no-stream-module",
        {"zone-sync": "true", "zone-sync-port": "34100"},
        Settings(nginx_plus=True, stream_module=False),
    ),
    Case(
        "oss-core-keys",
        {
            "proxy-connect-timeout": "5s",
            "proxy-read-timeout": "2m",
            "proxy-send-timeout": "90s",
            "client-max-body-size": "16m",
            "proxy-buffering": "false",
            "proxy-buffers": "16 8k",
            "proxy-buffer-size": "16k",
            "worker-processes": "4",
            "worker-connections": "4096",
            "worker-shutdown-timeout": "4m",
            "keepalive-timeout": "30s 25",
            "keepalive-requests": "500",
            "server-names-hash-bucket-size": "128",
            "server-names-hash-max-size": "2048",
            "error-log-level": "warn",
            "access-log-off": "true",
            "log-format": '{"addr":"$remote_addr","time":"$time_iso8601","status":$status}\n',
            "ssl-protocols": "TLSv1.2 TLSv1.3",
            "ssl-ciphers": "HIGH:!aNULL:!MD5",
            "ssl-prefer-server-ciphers": "True",
            "http2": "true",
            "real-ip-header": "X-Forwarded-For",
            "set-real-ip-from": "10.0.0.0/8, 192.168.0.1, fd00::/8",
            "real-ip-recursive": "1",
            "proxy-protocol": "true",
            "default-server-return": "302 https://example.com/not-found",
            "server-tokens": "build",
        },
        OSS,
    ),
    # NIC's rule for a format written over several lines: each line break is one space.
    Case(
        "log-format-lines",
        {
            "log-format": '$remote_addr - "$request" $status $body_bytes_sent\n'
            '"$http_referer" "$http_user_agent"\n'
            "rt=$request_time\n",
        },
        OSS,
    ),
    Case(
        "log-format-escaping-json",
        {
            "log-format": '{"status":$status,\n"ua":"$http_user_agent"}',
            "log-format-escaping": "json",
        },
        OSS,
    ),
    Case("zone-sync-tls", TLS_ON, secrets=(TLS_SECRET,)),
    Case(
        "zone-sync-tls-no-verify",
        {**TLS_ON, "zone-sync-tls-verify": "false"},
        secrets=(TLS_SECRET,),
    ),
    Case("zone-sync-tls-no-ca-no-verify", TLS_ON, secrets=(TLS_SECRET_WITHOUT_CA,)),
    Case(
        "zone-sync-tls-ca-secret",
        {**TLS_ON, "zone-sync-tls-ca-secret": "nginx-ingress/zone-sync-ca"},
        secrets=(TLS_SECRET_WITHOUT_CA, CA_SECRET),
    ),
    Case(
        "zone-sync-tls-disable-ipv6",
        TLS_ON,
        Settings(nginx_plus=True, disable_ipv6=True),
        secrets=(TLS_SECRET,),
    ),
    Case(
        "zone-sync-tls-tuned",
        {
            **TLS_ON,
            "zone-sync-tls-server-name": "peer.nginx-ingress.svc.cluster.local",
            "zone-sync-tls-protocols": "TLSv1.3",
            "zone-sync-tls-ciphers": "HIGH:!aNULL:!MD5",
        },
        secrets=(fixed_peer("*.nginx-ingress.svc.cluster.local").secret(*TLS_SECRET_NAME),),
    ),
    Case("zone-sync-tls-missing-secret", TLS_ON),
    Case(
        "zone-sync-tls-foreign-ca",
        {**TLS_ON, "zone-sync-tls-ca-secret": "zone-sync-ca"},
        secrets=(FOREIGN_SECRET, CA_SECRET),
    ),
    Case(
        "zone-sync-require-tls-without-tls",
        {"zone-sync": "true"},
        Settings(nginx_plus=True, zone_sync_require_tls=True),
    ),
    Case("zone-sync-tls-oss-refused", TLS_ON, OSS, secrets=(TLS_SECRET,)),
    Case(
        "plus-resolver",
        {
            "resolver-addresses": "10.96.0.10, [fd00::10]:53",
            "resolver-valid": "30s",
            "resolver-ipv6": "false",
            "resolver-timeout": "10s",
            "server-tokens": "edge/1",
        },
    ),
]


def _golden_text(case: Case) -> str:
    rendered = render(case.data, case.settings, secrets=case.secrets, now=NOW)
    problems = "".join(f"# problem: {p.line}\n" for p in rendered.result.problems)
    tls = rendered.tls
    if tls is not None and tls.problem is not None and tls.problem not in problems:
        problems += f"# zone sync over TLS cannot run: {tls.problem}\n"
    parts = [problems] + [
        f"### {path}\n" + (f"({len(text)} characters of PEM)\n" if is_secret(path) else text)
        for path, text in sorted(rendered.files.items())
    ]
    return "\n".join(parts)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden(case: Case) -> None:
    assert_golden(GOLDEN / f"{case.name}.conf", _golden_text(case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_nginx_accepts_every_case(case: Case) -> None:
    with sandbox(case.settings) as (root, settings):
        assert_tree_loads(
            root, settings, render(case.data, settings, secrets=case.secrets, now=NOW).files
        )


def test_the_golden_directory_holds_only_current_cases() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.conf")) == sorted(c.name for c in CASES)


# NIC's end-to-end suite (tests/suite/test_zone_sync.py) checks these substrings of nginx.conf.
def _nic_enabled_substrings(port: str = "12345", valid: str = "5s") -> list[str]:
    return [
        f"listen {port};",
        f"listen [::]:{port};",
        f"resolver kube-dns.kube-system.svc.cluster.local valid={valid};",
        "zone_sync;",
        "zone_sync_server",
        f"svc.cluster.local:{port} resolve;",
    ]


@pytest.mark.parametrize(
    "data,port,valid",
    [
        ({"zone-sync": "true"}, "12345", "5s"),
        ({"zone-sync": "true", "zone-sync-resolver-valid": "10s"}, "12345", "10s"),
        ({"zone-sync": "true", "zone-sync-port": "34100"}, "34100", "5s"),
    ],
)
def test_nic_end_to_end_substrings_when_enabled(
    data: dict[str, str], port: str, valid: str
) -> None:
    main = render(data, PLUS).main
    for substring in _nic_enabled_substrings(port, valid):
        assert substring in main


@pytest.mark.parametrize("data", [{}, {"zone-sync": "false"}])
def test_nic_end_to_end_substrings_when_disabled(data: dict[str, str]) -> None:
    main = render(data, PLUS).main
    assert "zone_sync;" not in main and "zone_sync_server" not in main


def test_zone_sync_block_waits_for_the_headless_service() -> None:
    assert "zone_sync" not in render({"zone-sync": "true"}, PLUS, service_ready=False).main


def test_disable_ipv6_drops_only_the_ipv6_listens() -> None:
    """NIC bug 9212: -disable-ipv6 left a stray `;` in the zone-sync server."""
    with_ipv6 = render({"zone-sync": "true"}, PLUS).main.splitlines()
    without = render({"zone-sync": "true"}, Settings(nginx_plus=True, disable_ipv6=True)).main
    assert "[::]" not in without
    assert [line for line in with_ipv6 if "[::]" not in line] == without.splitlines()
    assert all(line.strip() != ";" for line in without.splitlines())
