"""Zone-sync TLS, pure: the keys as parsed, and the Secrets checked as a peer would check
them (`generate.zonesync_tls`), with certificates made here: a CA, good peers, one from
another CA, expired ones, intermediates."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from nginx_ingress.configmap import ParseResult, Reason, parse_configmap
from nginx_ingress.configmap.config import SecretRef, ZoneSyncTlsConfig
from nginx_ingress.generate.zonesync_tls import (
    TlsCheck,
    check_zone_sync_tls,
    zone_sync_tls_files,
    zone_sync_tls_model,
)
from nginx_ingress.resources import CertificateSecret
from nginx_ingress.settings import Settings

from certificates import b64, make_authority, make_certificate

PLUS = Settings(nginx_plus=True)
NS = PLUS.namespace
FQDN = PLUS.zone_sync_service_fqdn
CA = make_authority()
OTHER_CA = make_authority("another CA")


def parsed(**keys: str) -> ParseResult:
    return parse_configmap({"zone-sync": "true", **keys}, PLUS)


def tls_config(**keys: str) -> ZoneSyncTlsConfig:
    config = parsed(**keys).config.zone_sync.tls
    assert config is not None
    return config


def check(
    secrets: Sequence[Mapping[str, Any]], keys: Mapping[str, str], now: float | None = None
) -> TlsCheck:
    views = {
        SecretRef(s["metadata"]["namespace"], s["metadata"]["name"]): CertificateSecret.from_object(
            s
        )
        for s in secrets
    }
    config = tls_config(**keys)
    return check_zone_sync_tls(config, views.get, PLUS, time.time() if now is None else now)


# --- the keys --------------------------------------------------------------------------


def test_no_tls_key_is_clear_text_as_before() -> None:
    assert parsed().config.zone_sync.tls is None


def test_defaults() -> None:
    config = tls_config(**{"zone-sync-tls-secret": "zs"})
    assert config == ZoneSyncTlsConfig(secret=SecretRef(NS, "zs"))
    assert config.protocols == ("TLSv1.2", "TLSv1.3") and config.verify is None


def test_a_secret_in_another_namespace() -> None:
    config = tls_config(**{"zone-sync-tls-secret": "edge/zs", "zone-sync-tls-ca-secret": "pki/ca"})
    assert (config.secret, config.ca_secret) == (SecretRef("edge", "zs"), SecretRef("pki", "ca"))


@pytest.mark.parametrize(
    "value", ["", "Zs", "a/b/c", "/zs", "ns/", "zs ", "zs;", "-zs", "a" * 254, "UPPER/zs", "n_s/zs"]
)
def test_a_bad_secret_name_keeps_zone_sync_off(value: str) -> None:
    result = parsed(**{"zone-sync-tls-secret": value})
    config = result.config.zone_sync.tls
    assert config is not None and config.unusable is not None
    reasons = [p.reason for p in result.problems]
    assert reasons == [Reason.INVALID_VALUE, Reason.ZONE_SYNC_TLS_INVALID]
    assert "zone sync stays off" in result.problems[1].line


def test_tls_keys_without_the_secret_keep_zone_sync_off() -> None:
    result = parsed(**{"zone-sync-tls-verify": "true"})
    (problem,) = result.problems
    assert problem.reason is Reason.ZONE_SYNC_TLS_INVALID
    assert "zone-sync-tls-secret is not set" in problem.line


@pytest.mark.parametrize(
    ("key", "value", "used"),
    [
        ("zone-sync-tls-verify", "yes", "true"),
        ("zone-sync-tls-server-name", "Peer.Example.com", f"the headless Service's name {FQDN}"),
        ("zone-sync-tls-server-name", "peer", f"the headless Service's name {FQDN}"),
        ("zone-sync-tls-server-name", "10.0.0.1", f"the headless Service's name {FQDN}"),
        ("zone-sync-tls-protocols", "TLSv1.2  TLSv1.3", "TLSv1.2 TLSv1.3"),
        ("zone-sync-tls-protocols", "TLSv1.4", "TLSv1.2 TLSv1.3"),
        ("zone-sync-tls-ciphers", "NOTHING-MATCHES", "NGINX's default"),
    ],
)
def test_a_bad_tuning_value_falls_back_and_tls_still_runs(key: str, value: str, used: str) -> None:
    result = parsed(**{"zone-sync-tls-secret": "zs", key: value})
    (problem,) = result.problems
    assert (problem.key, problem.reason, problem.used) == (key, Reason.INVALID_VALUE, used)
    tls = result.config.zone_sync.tls
    assert tls is not None and tls.unusable is None


def test_require_tls_without_tls_keeps_zone_sync_off() -> None:
    required = Settings(nginx_plus=True, zone_sync_require_tls=True)
    result = parse_configmap({"zone-sync": "true"}, required)
    (problem,) = result.problems
    assert problem.reason is Reason.ZONE_SYNC_TLS_INVALID
    assert "-zone-sync-require-tls" in problem.line
    result = parse_configmap(
        {"zone-sync": "true", "zone-sync-tls-secret": "zs", "zone-sync-tls-verify": "false"},
        required,
    )
    assert [p.reason for p in result.problems] == [Reason.ZONE_SYNC_TLS_INVALID]
    assert "peer verification" in result.problems[0].line
    # Zone sync off: the flag says nothing.
    assert parse_configmap({"zone-sync": "false"}, required).problems == ()


def test_nginx_oss_refuses_the_tls_keys_like_every_zone_sync_key() -> None:
    result = parse_configmap({"zone-sync": "true", "zone-sync-tls-secret": "zs"}, Settings())
    assert {p.key for p in result.problems} == {"zone-sync", "zone-sync-tls-secret"}
    assert all("requires NGINX Plus" in p.line for p in result.problems)
    assert result.config.zone_sync.tls is None


def test_switched_off_the_tls_keys_are_ignored_silently() -> None:
    result = parse_configmap({"zone-sync": "false", "zone-sync-tls-secret": "Bad Name"}, PLUS)
    assert result.problems == () and result.config.zone_sync.tls is None


# --- the Secrets -----------------------------------------------------------------------


def test_a_cert_manager_secret_is_all_it_takes() -> None:
    peer = CA.issue(FQDN, f"*.{FQDN}")
    got = check([peer.secret(NS, "zs")], {"zone-sync-tls-secret": "zs"})
    assert got.problem is None and got.material is not None
    assert got.material.ca_pem is not None and got.material.serial == peer.serial
    model = zone_sync_tls_model(tls_config(**{"zone-sync-tls-secret": "zs"}), got.material, PLUS)
    assert model.trusted is not None and model.verify_depth == 1
    assert str(model.server_name) == FQDN


def test_a_ca_secret_of_any_type() -> None:
    peer = CA.issue(FQDN).without_ca()
    for kind in ("nginx.org/ca", "Opaque", "kubernetes.io/tls"):
        got = check(
            [peer.secret(NS, "zs"), CA.secret(NS, "ca", kind)],
            {"zone-sync-tls-secret": "zs", "zone-sync-tls-ca-secret": "ca"},
        )
        assert got.material is not None, (kind, got.problem)


def test_no_ca_means_no_verification_unless_asked() -> None:
    self_signed = make_certificate(FQDN)
    got = check([self_signed.secret(NS, "zs")], {"zone-sync-tls-secret": "zs"})
    assert got.material is not None and got.material.ca_pem is None
    asked = check(
        [self_signed.secret(NS, "zs")],
        {"zone-sync-tls-secret": "zs", "zone-sync-tls-verify": "true"},
    )
    assert asked.material is None and "needs a CA" in str(asked.problem)


def test_verification_can_be_switched_off_with_a_ca() -> None:
    peer = OTHER_CA.issue("elsewhere.example").without_ca()
    got = check(
        [peer.secret(NS, "zs"), CA.secret(NS, "ca")],
        {
            "zone-sync-tls-secret": "zs",
            "zone-sync-tls-ca-secret": "ca",
            "zone-sync-tls-verify": "false",
        },
    )
    assert got.material is not None and got.material.ca_pem is None


@pytest.mark.parametrize(
    ("secrets", "keys", "problem", "missing"),
    [
        ([], {}, f"Secret {NS}/zs does not exist", True),
        (
            [CA.issue(FQDN).without_ca().secret(NS, "zs")],
            {"zone-sync-tls-ca-secret": "ca"},
            f"Secret {NS}/ca (zone-sync-tls-ca-secret) does not exist",
            True,
        ),
        (
            [CA.issue(FQDN).without_ca().secret(NS, "zs"), {**CA.secret(NS, "ca"), "data": {}}],
            {"zone-sync-tls-ca-secret": "ca"},
            f"Secret {NS}/ca (zone-sync-tls-ca-secret) has no ca.crt",
            False,
        ),
        (
            [OTHER_CA.issue(FQDN).without_ca().secret(NS, "zs"), CA.secret(NS, "ca")],
            {"zone-sync-tls-ca-secret": "ca"},
            "is not signed by the CA in the Secret",
            False,
        ),
        ([CA.issue(FQDN, expired=True).secret(NS, "zs")], {}, "expired on", False),
        ([CA.issue("other.example").secret(NS, "zs")], {}, f"does not name {FQDN}", False),
        (
            [CA.issue(FQDN, usages=(ExtendedKeyUsageOID.SERVER_AUTH,)).secret(NS, "zs")],
            {},
            "does not allow client auth",
            False,
        ),
        ([CA.secret(NS, "zs")], {}, "is of type 'nginx.org/ca', not kubernetes.io/tls", False),
    ],
    ids=[
        "missing",
        "ca-missing",
        "ca-without-ca-crt",
        "foreign-ca",
        "expired",
        "wrong-name",
        "server-auth-only",
        "not-tls",
    ],
)
def test_a_certificate_peers_would_refuse_is_refused(
    secrets: list[dict[str, Any]], keys: dict[str, str], problem: str, missing: bool
) -> None:
    got = check(secrets, {"zone-sync-tls-secret": "zs", **keys})
    assert got.material is None and problem in str(got.problem), got.problem
    assert got.missing is missing


def test_a_key_of_another_certificate_is_refused() -> None:
    secret = CA.issue(FQDN).secret(NS, "zs")
    secret["data"]["tls.key"] = b64(CA.issue(FQDN).key)
    got = check([secret], {"zone-sync-tls-secret": "zs"})
    assert "tls.key does not belong to the certificate" in str(got.problem)


def test_a_certificate_not_valid_yet_is_refused() -> None:
    got = check(
        [CA.issue(FQDN).secret(NS, "zs")], {"zone-sync-tls-secret": "zs"}, now=time.time() - 3600
    )
    assert "is not valid before" in str(got.problem)


def test_an_expired_ca_is_refused() -> None:
    peer = CA.issue(FQDN)
    got = check(
        [peer.secret(NS, "zs")], {"zone-sync-tls-secret": "zs"}, now=time.time() + 40 * 86400
    )
    assert "expired on" in str(got.problem)


def test_intermediates_raise_the_verify_depth() -> None:
    intermediate = CA.intermediate("zone-sync intermediate")
    for peer in (intermediate.issue(FQDN), intermediate.intermediate("second").issue(FQDN)):
        got = check([peer.secret(NS, "zs")], {"zone-sync-tls-secret": "zs"})
        assert got.material is not None, got.problem
        depth = peer.certificate.count(b"BEGIN CERTIFICATE")
        assert got.material.verify_depth == depth
    # Without the intermediate in tls.crt, the chain is broken.
    peer = intermediate.issue(FQDN)
    leaf, _, _ = peer.certificate.partition(b"-----END CERTIFICATE-----\n")
    secret = peer.secret(NS, "zs")
    broken = {
        **secret,
        "data": {**secret["data"], "tls.crt": b64(leaf + b"-----END CERTIFICATE-----\n")},
    }
    assert "not signed by the CA" in str(check([broken], {"zone-sync-tls-secret": "zs"}).problem)


def test_a_wildcard_covers_one_label() -> None:
    for names, works in (
        ((f"*.{NS}.svc.cluster.local",), True),
        (("*.svc.cluster.local",), False),
        ((f"*.{FQDN}",), False),
    ):
        got = check([CA.issue(*names).secret(NS, "zs")], {"zone-sync-tls-secret": "zs"})
        assert (got.material is not None) is works, (names, got.problem)


def test_a_rotation_is_new_file_names() -> None:
    config = tls_config(**{"zone-sync-tls-secret": "zs"})
    first = check([CA.issue(FQDN).secret(NS, "zs")], {"zone-sync-tls-secret": "zs"}).material
    second = check([CA.issue(FQDN).secret(NS, "zs")], {"zone-sync-tls-secret": "zs"}).material
    assert first is not None and second is not None
    one, two = zone_sync_tls_files(first), zone_sync_tls_files(second)
    assert len(one) == 2 and not set(one) & set(two)
    assert all(path.startswith("secrets/_zone-sync-") for path in (*one, *two))
    assert zone_sync_tls_model(config, first, PLUS) != zone_sync_tls_model(config, second, PLUS)
