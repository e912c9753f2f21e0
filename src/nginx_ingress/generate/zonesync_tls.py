"""Zone-sync TLS: the Secrets the `zone-sync-tls-*` keys name → checked material, model, files.

Pure: the Secrets arrive through a lookup and the time as an argument. The checks are
the ones a peer would make, done before NGINX ever sees the files, so that a
certificate the other replicas would refuse never replaces one they accept:

- the TLS Secret exists, is `kubernetes.io/tls`, and its certificate and key parse and
  belong together (`resources.secret.check_tls`, the check routing uses too);
- the certificate is valid now (not before its start, not after its end);
- with peer verification (on by default when `zone-sync-tls-ca-secret` is set or the
  TLS Secret has a `ca.crt`): a CA is known (`zone-sync-tls-ca-secret`, else the TLS
  Secret's own `ca.crt`), the certificate chains to a self-signed certificate of that
  CA bundle (through intermediates in `tls.crt` or the bundle), every certificate on
  the way is valid now, its names cover the name peers check
  (`zone-sync-tls-server-name`, default the headless Service's FQDN), and its extended
  key usage, when it has one, allows both server and client authentication (each
  replica is both).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nginx_ingress.configmap.config import SecretRef, ZoneSyncTlsConfig
from nginx_ingress.layout import zone_sync_secret_file
from nginx_ingress.model import ZoneSyncTls
from nginx_ingress.resources import CertificateSecret
from nginx_ingress.settings import Settings
from nginx_ingress.values import HostKind, HostPort

Lookup = Callable[[SecretRef], CertificateSecret | None]
"""A Secret by reference; None when it does not exist."""

MAX_CHAIN = 8
"""Certificates above the peer's own that a chain may have: more is a loop or a mistake."""


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """A certificate, its key and the CA bundle, checked: what the secret files hold."""

    secret: SecretRef
    pem: str
    """Certificate chain, then key, as the TLS Secret holds them."""
    ca_pem: str | None
    """The CA bundle; None when peers are not verified."""
    verify_depth: int
    serial: int
    not_after: float
    """Expiry of the certificate, seconds since the epoch."""

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.pem.encode())
        digest.update((self.ca_pem or "").encode())
        return digest.hexdigest()[:16]

    @property
    def certificate_file(self) -> str:
        return zone_sync_secret_file(self.fingerprint)

    @property
    def ca_file(self) -> str | None:
        return None if self.ca_pem is None else zone_sync_secret_file(self.fingerprint, ca=True)

    def describe(self) -> str:
        return (
            f"the certificate of Secret {self.secret} (serial {self.serial:x}, "
            f"valid until {when(self.not_after)})"
        )


@dataclass(frozen=True, slots=True)
class TlsCheck:
    """Material ready to use, or why there is none."""

    material: TlsMaterial | None = None
    problem: str | None = None
    missing: bool = False
    """A Secret the keys name does not exist (rather than holding something unusable)."""


def check_zone_sync_tls(
    config: ZoneSyncTlsConfig, lookup: Lookup, settings: Settings, now: float
) -> TlsCheck:
    """Check the Secrets `config` names, as of `now` (epoch seconds)."""
    if config.unusable is not None:
        return TlsCheck(problem=config.unusable)
    if config.secret is None:  # the parser never leaves this without `unusable`
        return TlsCheck(problem="zone-sync-tls-secret is not set")
    secret = lookup(config.secret)
    if secret is None:
        return TlsCheck(problem=f"Secret {config.secret} does not exist", missing=True)
    if secret.tls is None:
        return TlsCheck(problem=f"Secret {config.secret} {secret.tls_problem}")
    chain = x509.load_pem_x509_certificates(secret.tls.pem.encode())
    leaf = chain[0]
    if (problem := _outside_validity(leaf, now)) is not None:
        return TlsCheck(problem=f"the certificate in Secret {config.secret} {problem}")
    ca_pem, ca_problem, missing, ca_source = _ca(config, secret, lookup)
    # A CA Secret named is a CA asked for: missing, it is a problem, not "no verification".
    known = ca_pem is not None or config.ca_secret is not None
    verify = config.verify if config.verify is not None else known
    depth = 1
    if verify:
        if ca_pem is None:
            return TlsCheck(
                problem=ca_problem
                or (
                    "peer verification (zone-sync-tls-verify) needs a CA: set "
                    f"zone-sync-tls-ca-secret, or add ca.crt to Secret {config.secret}"
                ),
                missing=missing,
            )
        server_name = str(server_name_of(config, settings))
        authorities = x509.load_pem_x509_certificates(ca_pem.encode())
        problem, depth = _verifies(chain, authorities, now, ca_source)
        problem = problem or _names_problem(leaf, server_name) or _usage_problem(leaf)
        if problem is not None:
            return TlsCheck(problem=f"the certificate in Secret {config.secret} {problem}")
    material = TlsMaterial(
        secret=config.secret,
        pem=secret.tls.pem,
        ca_pem=ca_pem if verify else None,
        verify_depth=depth,
        serial=leaf.serial_number,
        not_after=secret.tls.not_after,
    )
    return TlsCheck(material=material)


def server_name_of(config: ZoneSyncTlsConfig, settings: Settings) -> HostPort:
    return config.server_name or HostPort(settings.zone_sync_service_fqdn, HostKind.DNS)


def zone_sync_tls_model(
    config: ZoneSyncTlsConfig, material: TlsMaterial, settings: Settings
) -> ZoneSyncTls:
    """The TLS part of the zone-sync server for checked material."""
    ca_file = material.ca_file
    return ZoneSyncTls(
        certificate=PurePosixPath(material.certificate_file),
        trusted=None if ca_file is None else PurePosixPath(ca_file),
        verify_depth=material.verify_depth,
        server_name=server_name_of(config, settings),
        protocols=config.protocols,
        ciphers=config.ciphers,
    )


def zone_sync_tls_files(material: TlsMaterial) -> dict[str, str]:
    """The secret files the model names (written 0600 under `secrets/`)."""
    files = {material.certificate_file: material.pem}
    if material.ca_file is not None and material.ca_pem is not None:
        files[material.ca_file] = material.ca_pem
    return files


def when(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ca(
    config: ZoneSyncTlsConfig, secret: CertificateSecret, lookup: Lookup
) -> tuple[str | None, str | None, bool, str]:
    """(CA bundle, why there is none, whether a named CA Secret is missing, where the
    bundle comes from)."""
    if config.ca_secret is None:
        source = f"ca.crt of Secret {secret.key}"
        if secret.ca_problem is not None:
            return None, f"Secret {secret.key} {secret.ca_problem}", False, source
        return secret.ca, None, False, source
    source = f"Secret {config.ca_secret} (zone-sync-tls-ca-secret)"
    found = lookup(config.ca_secret)
    if found is None:
        return None, f"{source} does not exist", True, source
    if found.ca is None:
        return None, f"{source} {found.ca_problem or 'has no ca.crt'}", False, source
    return found.ca, None, False, source


def _outside_validity(certificate: x509.Certificate, now: float) -> str | None:
    start = certificate.not_valid_before_utc.timestamp()
    end = certificate.not_valid_after_utc.timestamp()
    if now < start:
        return f"is not valid before {when(start)}"
    if now > end:
        return f"expired on {when(end)}"
    return None


def _verifies(
    chain: Sequence[x509.Certificate],
    authorities: Sequence[x509.Certificate],
    now: float,
    source: str,
) -> tuple[str | None, int]:
    """(None, depth) when `chain[0]` chains to a self-signed certificate of `authorities`,
    `depth` certificates above it; else (why not, 0). NGINX's OpenSSL trusts only a chain
    that ends at a self-signed certificate of the CA file."""
    pool = [*chain[1:], *authorities]
    current, depth = chain[0], 0
    while depth <= MAX_CHAIN:
        if current in authorities and _issued(current, current):
            return None, max(depth, 1)
        issuer = next((c for c in pool if c is not current and _issued(current, c)), None)
        if issuer is None:
            subject = _name(current)
            above = "" if depth == 0 else f" (through {subject})"
            return f"is not signed by the CA in the {source}{above}: peers refuse it", 0
        if (problem := _outside_validity(issuer, now)) is not None:
            return f"chains to {_name(issuer)}, which {problem}", 0
        current, depth = issuer, depth + 1
    return f"has a chain longer than {MAX_CHAIN} certificates", 0


def _issued(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except Exception:  # a wrong signature, or a key type that cannot sign
        return False
    return True


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return [str(a.value) for a in common]
    return extension.value.get_values_for_type(x509.DNSName)


def _names_problem(certificate: x509.Certificate, server_name: str) -> str | None:
    names = _names(certificate)
    if any(_matches(pattern.lower(), server_name) for pattern in names):
        return None
    listed = ", ".join(names[:5]) or "none"
    return (
        f"does not name {server_name} (its names: {listed}), the name peers check "
        "(zone-sync-tls-server-name): peers refuse it"
    )


def _matches(pattern: str, name: str) -> bool:
    """A DNS name against a certificate name, the leftmost label of which may be `*`."""
    if pattern == name:
        return True
    if not pattern.startswith("*."):
        return False
    _label, dot, rest = name.partition(".")
    return bool(dot) and rest == pattern[2:]


def _usage_problem(certificate: x509.Certificate) -> str | None:
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    lacking = [
        name
        for oid, name in (
            (ExtendedKeyUsageOID.SERVER_AUTH, "server auth"),
            (ExtendedKeyUsageOID.CLIENT_AUTH, "client auth"),
        )
        if oid not in usages
    ]
    if not lacking:
        return None
    return (
        f"does not allow {' and '.join(lacking)} (extended key usage): each replica is "
        "both a TLS server and a client to its peers"
    )


def _name(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string() or "a certificate without a subject"
