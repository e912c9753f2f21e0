"""The `zone-sync-tls-*` keys against hostile, arbitrary and valid values, with a usable
certificate in place so that every key is rendered (the shared hostile and property tests
render without Secrets, where these keys would render nothing).

Either a value is refused, and the files are exactly those of the key's fallback: for the
two Secret names, zone sync off (never clear text); for the others, the key's default. Or
it is accepted, and crossplane finds no directive the baseline does not have. Valid values
load in the real NGINX (the NGINX Plus stand-in's rules keep the TLS listener, so `nginx -t`
reads the certificate files).
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nginx_ingress.configmap.problems import show
from nginx_ingress.configmap.zonesync_tls import CA_SECRET, SECRET, ZONE_SYNC_TLS_KEYS
from nginx_ingress.settings import Settings

from certificates import fixed_authority, fixed_peer, make_authority
from hostile import HOSTILE
from nginx_check import (
    Rendered,
    assert_nginx_accepts,
    assert_tree_loads,
    parse,
    render,
    sandbox,
    sandbox_settings,
    shape,
    strip_plus_only,
    walk,
    write,
)

PLUS = Settings(nginx_plus=True)
FQDN = PLUS.zone_sync_service_fqdn
NOW = 1767225600.0  # 2026-01-01, inside the fixed certificates' 2020-2050
SECRETS = (
    fixed_peer(FQDN, "*.nginx-ingress.svc.cluster.local").secret("nginx-ingress", "zs"),
    fixed_authority().secret("nginx-ingress", "zs-ca"),
)
BASE = {"zone-sync": "true", "zone-sync-tls-secret": "zs", "zone-sync-tls-ca-secret": "zs-ca"}
"""Zone sync over TLS with verification; every TLS key is read."""

VALID_TLS: dict[str, list[str]] = {
    SECRET: ["zs", "nginx-ingress/zs"],
    CA_SECRET: ["zs-ca", "nginx-ingress/zs-ca"],
    "zone-sync-tls-verify": ["true", "false", "1", "F"],
    "zone-sync-tls-server-name": [FQDN, "peer.nginx-ingress.svc.cluster.local"],
    "zone-sync-tls-protocols": ["TLSv1.2", "TLSv1.3", "TLSv1.2 TLSv1.3"],
    "zone-sync-tls-ciphers": ["HIGH:!aNULL:!MD5", "ECDHE+AESGCM"],
}


ADDS = {"zone-sync-tls-ciphers": frozenset({"ssl_ciphers", "zone_sync_ssl_ciphers"})}
"""Directives an accepted value may add to the base (once each); the others only change
arguments of directives the base has, or leave some out."""


def rendered(data: dict[str, str]) -> Rendered:
    return render(data, PLUS, secrets=SECRETS, now=NOW)


@cache
def fallback(key: str) -> Rendered:
    """What a refused value of `key` must render."""
    if key in (SECRET, CA_SECRET):  # no Secret to trust: zone sync off
        return rendered({**BASE, SECRET: "does-not-exist"})
    return rendered({k: v for k, v in BASE.items() if k != key})


def test_the_base_runs_zone_sync_over_tls() -> None:
    main = rendered(BASE).main
    assert "zone_sync_ssl on;" in main and "ssl_verify_client on;" in main
    assert "zone_sync;" not in fallback(SECRET).main


def test_every_tls_key_has_valid_samples() -> None:
    assert sorted(VALID_TLS) == sorted(ZONE_SYNC_TLS_KEYS)


@pytest.mark.parametrize("key", ZONE_SYNC_TLS_KEYS)
@pytest.mark.parametrize("category", list(HOSTILE))
def test_hostile_tls_value_is_refused_or_harmless(key: str, category: str) -> None:
    value = HOSTILE[category]
    got = rendered({**BASE, key: value})
    for problem in got.result.problems:
        assert problem.value is None or len(problem.value) <= 65
        assert problem.line.isprintable()
    if key in got.problem_keys():
        assert got.files == fallback(key).files
        return
    # Accepted: only a word that is also a valid Secret name (`yes`, `0x3039`), which names
    # no Secret here: zone sync is off, exactly as with any missing Secret.
    assert key in (SECRET, CA_SECRET), f"{key}={value!r} was accepted"
    assert got.files == fallback(SECRET).files


@pytest.mark.parametrize("key", ZONE_SYNC_TLS_KEYS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_tls_value_adds_a_directive(
    tmp_path_factory: pytest.TempPathFactory, key: str, data: st.DataObject
) -> None:
    syntax = st.sampled_from(
        [*";{}#$\"'\\\n\r\t /:!,.-", "\u2028", "\x00", "{{", "TLSv1.2", "HIGH", "zs", "ssl on"]
    )
    value = data.draw(
        st.one_of(
            st.text(max_size=60),
            st.lists(syntax, max_size=10).map("".join),
            st.tuples(
                st.lists(syntax, max_size=3).map("".join),
                st.sampled_from(VALID_TLS[key]),
                st.lists(syntax, max_size=3).map("".join),
            ).map("".join),
        ),
        label="value",
    )
    got = rendered({**BASE, key: value})
    if key in got.problem_keys():
        event("refused")
        assert got.files == fallback(key).files
        return
    event("accepted")
    root = tmp_path_factory.mktemp("tls")
    sandboxed = sandbox_settings(root, PLUS)
    payload = parse(
        write(root, render({**BASE, key: value}, sandboxed, secrets=SECRETS, now=NOW).files)
    )
    baseline = parse(write(root / "base", render(BASE, sandboxed, secrets=SECRETS, now=NOW).files))
    extra = shape(payload) - shape(baseline)
    allowed = ADDS.get(key, frozenset())
    assert all(path[-1] in allowed and count == 1 for path, count in extra.items()), (value, extra)


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, vs in VALID_TLS.items() for v in vs])
def test_valid_tls_value_is_accepted_and_nginx_loads_it(key: str, value: str) -> None:
    with sandbox(PLUS) as (root, sandboxed):
        got = render({**BASE, key: value}, sandboxed, secrets=SECRETS, now=NOW)
        assert got.result.problems == (), [p.line for p in got.result.problems]
        assert got.tls is not None and got.tls.problem is None, got.tls
        assert_tree_loads(root, sandboxed, got.files)


def test_a_refusal_shows_the_value_escaped() -> None:
    got = rendered({**BASE, SECRET: "a\nb;"})
    (problem, refused) = got.result.problems
    assert problem.value == show("a\nb;") and "zone sync stays off" in refused.line


ZONE_SYNC_SSL = {
    "zone_sync_ssl",
    "zone_sync_ssl_certificate",
    "zone_sync_ssl_certificate_key",
    "zone_sync_ssl_protocols",
    "zone_sync_ssl_ciphers",
    "zone_sync_ssl_verify",
    "zone_sync_ssl_trusted_certificate",
    "zone_sync_ssl_verify_depth",
    "zone_sync_ssl_name",
    "zone_sync_ssl_server_name",
}


def test_the_zone_sync_ssl_directives_pass_crossplanes_analyzer() -> None:
    """crossplane knows NGINX Plus's zone_sync_ssl* (context and arguments): every one the
    controller can render is in a stream server, with the arguments it takes, and the same
    tree without them loads in the real NGINX with its TLS listener."""
    ca = make_authority()
    chain = ca.intermediate("zone-sync intermediate").issue(FQDN)
    data = {"zone-sync": "true", "zone-sync-tls-secret": "zs", "zone-sync-tls-ciphers": "HIGH"}
    with sandbox(PLUS) as (root, sandboxed):
        got = render(data, sandboxed, secrets=(chain.secret("nginx-ingress", "zs"),))
        assert got.tls is not None and got.tls.material is not None, got.tls
        assert got.tls.material.verify_depth == 2
        payload = parse(write(root, got.files))  # crossplane with check_ctx and check_args
        found = {(name, parents) for name, _args, parents in walk(payload)}
        assert {name for name, _ in found} >= ZONE_SYNC_SSL | {"ssl_verify_depth"}
        assert {parents for name, parents in found if name in ZONE_SYNC_SSL} == {
            ("stream", "server")
        }
        strip_plus_only(payload)
        assert_nginx_accepts(root)  # ssl_verify_depth 2, the chain and the CA file included
