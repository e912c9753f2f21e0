"""Secret (`v1`, type `kubernetes.io/tls`), checked once when it arrives.

The check runs in the informer's transform, so a certificate is parsed once per
change of its Secret rather than once per Ingress that uses it. RSA keys are
loaded without OpenSSL's full consistency check (about 30 ms per 2048-bit key,
measured here; 25 µs without): whether the key belongs to the certificate is
decided by comparing their public keys, which is the question that matters.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from nginx_ingress.resources.fields import Object, mapping, meta, string

TLS_TYPE = "kubernetes.io/tls"
_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True, slots=True)
class TlsPair:
    """A usable certificate and key: `pem` is what NGINX reads (certificate, then key)."""

    pem: str
    not_after: float
    """Expiry of the leaf certificate, seconds since the epoch."""
    subject: str


@dataclass(frozen=True, slots=True)
class Secret:
    namespace: str
    name: str
    type: str
    tls: TlsPair | None
    problem: str | None
    """Why `tls` is None: the Secret cannot serve TLS."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_object(cls, obj: Object) -> Secret:
        namespace, name, _uid, _created = meta(obj)
        problems: list[str] = []
        kind = string(obj.get("type"), "type", problems)
        tls, problem = tls_of(kind, mapping(obj.get("data"), "data", problems))
        return cls(namespace, name, kind, tls, problem)


@dataclass(frozen=True, slots=True)
class CertificateSecret:
    """A Secret of any type read for its certificates (the zone-sync TLS keys name it).

    `tls` is its `tls.crt` and `tls.key` when it is a `kubernetes.io/tls` Secret whose
    pair is usable; `ca` its `ca.crt` (certificates only, PEM), which cert-manager writes
    into the TLS Secret and NIC's `nginx.org/ca` Secrets hold.
    """

    namespace: str
    name: str
    type: str
    tls: TlsPair | None
    tls_problem: str | None
    ca: str | None
    ca_problem: str | None
    """Why `ca.crt` cannot be used; None when it is, or when there is none."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_object(cls, obj: Object) -> CertificateSecret:
        namespace, name, _uid, _created = meta(obj)
        problems: list[str] = []
        kind = string(obj.get("type"), "type", problems)
        data = mapping(obj.get("data"), "data", problems)
        tls, tls_problem = tls_of(kind, data)
        ca, ca_problem = check_ca(data)
        return cls(namespace, name, kind, tls, tls_problem, ca, ca_problem)


def tls_of(kind: str, data: Mapping[str, object]) -> tuple[TlsPair | None, str | None]:
    """A Secret's TLS pair by its `type` and `data`: (the pair, None), or (None, why not)."""
    if kind != TLS_TYPE:
        return None, f"is of type {kind or 'Opaque'!r}, not {TLS_TYPE}"
    return check_tls(dict(data))


def check_ca(data: Mapping[str, object]) -> tuple[str | None, str | None]:
    """(`ca.crt` as PEM certificates, None), (None, why it is unusable), or (None, None)
    when there is no `ca.crt`. Only the certificates are kept: nothing else in the key
    reaches NGINX."""
    if "ca.crt" not in data:
        return None, None
    try:
        raw = _decoded(dict(data), "ca.crt")
    except ValueError as error:
        return None, str(error)
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except ValueError:
        return None, "ca.crt holds no PEM certificate"
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)
    return pem.decode("ascii"), None


def check_tls(data: object) -> tuple[TlsPair | None, str | None]:
    """(the pair, None) when `tls.crt` and `tls.key` parse and belong together, else (None, why)."""
    if not isinstance(data, dict):
        return None, "has no data"
    try:
        certificate_pem = _decoded(data, "tls.crt")
        key_pem = _decoded(data, "tls.key")
    except ValueError as error:
        return None, str(error)
    try:
        chain = x509.load_pem_x509_certificates(certificate_pem)
    except ValueError:
        return None, "tls.crt is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(
            key_pem, password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError):
        return None, "tls.key is not an unencrypted PEM private key"
    except Exception as error:  # cryptography raises UnsupportedAlgorithm and others
        return None, f"tls.key cannot be read: {type(error).__name__}"
    leaf = chain[0]
    try:
        matches = leaf.public_key().public_bytes(*_SPKI) == key.public_key().public_bytes(*_SPKI)
    except Exception:  # an algorithm without a SubjectPublicKeyInfo encoding
        matches = False
    if not matches:
        return None, "tls.key does not belong to the certificate in tls.crt"
    try:
        text = certificate_pem.decode("ascii").rstrip("\n") + "\n" + key_pem.decode("ascii")
    except UnicodeDecodeError:
        return None, "tls.crt or tls.key holds bytes outside PEM's ASCII"
    if not text.endswith("\n"):
        text += "\n"
    subject = leaf.subject.rfc4514_string()
    return TlsPair(text, leaf.not_valid_after_utc.timestamp(), subject), None


def _decoded(data: dict[str, object], key: str) -> bytes:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"has no {key}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{key} is not base64") from None
