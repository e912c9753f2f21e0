"""Certificates made in the tests with `cryptography` (ECDSA P-256).

- `certificate(name)`: a self-signed one per name and process, fixed dates and serial,
  so rendered files and golden tests do not change from run to run;
- `make_certificate(*hosts)`: a new self-signed one each call (its own serial, valid
  from now), for tests that watch a certificate change, as a rotation does;
- `Authority`: a CA that issues peer certificates (server and client authentication,
  as each zone-sync replica is both) and intermediates. `make_authority()` is a new one
  valid from now; `fixed_authority(name)` and its `fixed_peer` are byte-for-byte the
  same in every run (keys derived from the name, deterministic ECDSA signatures, fixed
  dates), for golden files.
Each gives PEM text, a `kubernetes.io/tls` Secret (with `ca.crt` when issued by a CA, as
cert-manager writes it) and, for a CA, a Secret holding only `ca.crt`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FIXED_START = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
FIXED_END = FIXED_START + datetime.timedelta(days=365 * 30)
BOTH_WAYS = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)


@dataclass(frozen=True)
class Pem:
    certificate: bytes
    """The certificate, then any intermediate above it."""
    key: bytes
    serial: int = 1
    ca: bytes | None = None
    """The CA that issued it (`ca.crt`); None for a self-signed one."""

    def secret(self, namespace: str, name: str) -> dict[str, Any]:
        data = {"tls.crt": b64(self.certificate), "tls.key": b64(self.key)}
        if self.ca is not None:
            data["ca.crt"] = b64(self.ca)
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"namespace": namespace, "name": name},
            "data": data,
        }

    def without_ca(self) -> Pem:
        return replace(self, ca=None)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _derived_key(seed: str) -> ec.EllipticCurvePrivateKey:
    """The same P-256 key for the same seed, in every run."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big") % (order - 1) + 1
    return ec.derive_private_key(number, ec.SECP256R1())


Window = tuple[datetime.datetime, datetime.datetime]


def _build(
    subject: str,
    hosts: tuple[str, ...],
    key: ec.EllipticCurvePrivateKey,
    window: Window,
    serial: int,
    *,
    signer: Authority | None = None,
    is_ca: bool = False,
    usages: tuple[x509.ObjectIdentifier, ...] | None = None,
) -> x509.Certificate:
    """A certificate for `key` named `subject` with `hosts` as its DNS names, signed by
    `signer` (self-signed without one)."""
    start, end = window
    issuer = None if signer is None else signer.certificate.subject
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if is_ca or issuer is not None:  # the self-signed test certificates carry none
        builder = builder.add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=None), critical=True
        )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False
        )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    issuer_key = key if signer is None else signer.key
    return builder.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)


def _make(hosts: tuple[str, ...], window: Window, serial: int) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    built = _build(hosts[0], hosts, key, window, serial)
    return Pem(_pem(built), _key_pem(key), serial)


@cache
def certificate(common_name: str = "cafe.example.com", *, expired: bool = False) -> Pem:
    """A fixed certificate for `common_name` (made once per process and name)."""
    end = FIXED_START + datetime.timedelta(days=365 if expired else 365 * 30)
    return _make((common_name,), (FIXED_START, end), 1)


def _window(*, expired: bool = False, days: float = 30) -> Window:
    now = datetime.datetime.now(datetime.UTC)
    if expired:
        return now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)


def make_certificate(*hosts: str, expired: bool = False) -> Pem:
    """A new certificate for `hosts`, with its own serial number."""
    return _make(hosts, _window(expired=expired), x509.random_serial_number())


@dataclass(frozen=True, eq=False)
class Authority:
    """A CA: its certificate and key, and the root it chains to (itself for a root)."""

    name: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: bytes
    """Its certificate and those above it but the root: what a leaf's tls.crt carries."""
    root: bytes
    fixed: bool = False

    @property
    def pem(self) -> bytes:
        return _pem(self.certificate)

    def issue(
        self,
        *hosts: str,
        expired: bool = False,
        days: float = 30,
        usages: tuple[x509.ObjectIdentifier, ...] | None = BOTH_WAYS,
    ) -> Pem:
        """A peer certificate for `hosts`, valid from now for `days` (or expired), with a
        new key and serial; with `ca.crt` as the root."""
        serial = x509.random_serial_number()
        key = ec.generate_private_key(ec.SECP256R1())
        window = _window(expired=expired, days=days)
        leaf = _build(hosts[0], hosts, key, window, serial, signer=self, usages=usages)
        return Pem(_pem(leaf) + self.chain, _key_pem(key), serial, self.root)

    def intermediate(self, name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        serial = x509.random_serial_number()
        built = _build(name, (), key, _window(days=365), serial, signer=self, is_ca=True)
        return Authority(name, built, key, _pem(built) + self.chain, self.root)

    def secret(
        self, namespace: str, name: str, type_: str = "nginx.org/ca", **extra: bytes
    ) -> dict[str, Any]:
        """A Secret with this CA's root as `ca.crt` (NIC's `nginx.org/ca` type by default)."""
        data = {"ca.crt": b64(self.root), **{key: b64(value) for key, value in extra.items()}}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": type_,
            "metadata": {"namespace": namespace, "name": name},
            "data": data,
        }


def _root(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    window: Window,
    serial: int,
    *,
    fixed: bool = False,
) -> Authority:
    built = _build(name, (), key, window, serial, is_ca=True)
    return Authority(name, built, key, b"", _pem(built), fixed=fixed)


def make_authority(name: str = "zone-sync test CA") -> Authority:
    """A new root CA, valid from now for a year."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _root(name, key, _window(days=365), x509.random_serial_number())


@cache
def fixed_authority(name: str = "zone-sync golden CA") -> Authority:
    """A root CA that is the same in every run (2020 to 2050)."""
    return _root(name, _derived_key(name), (FIXED_START, FIXED_END), 1, fixed=True)


@cache
def fixed_peer(*hosts: str, authority: str = "zone-sync golden CA") -> Pem:
    """A peer certificate of `fixed_authority(authority)`, the same in every run."""
    issuer = fixed_authority(authority)
    key = _derived_key(f"{authority}/{','.join(hosts)}")
    leaf = _build(
        hosts[0], hosts, key, (FIXED_START, FIXED_END), 2, signer=issuer, usages=BOTH_WAYS
    )
    return Pem(_pem(leaf), _key_pem(key), 2, issuer.root)
