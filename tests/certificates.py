"""Certificates made in the tests with `cryptography` (ECDSA P-256, self-signed).

- `certificate(name)`: one per name and process, fixed dates and serial, so rendered
  files and golden tests do not change from run to run;
- `make_certificate(*hosts)`: a new one each call (its own serial, valid from now),
  for tests that watch a certificate change, as a rotation does.
Both give PEM text and a `kubernetes.io/tls` Secret.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pem:
    certificate: bytes
    key: bytes
    serial: int = 1

    def secret(self, namespace: str, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"namespace": namespace, "name": name},
            "data": {"tls.crt": b64(self.certificate), "tls.key": b64(self.key)},
        }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _make(
    hosts: tuple[str, ...], start: datetime.datetime, end: datetime.datetime, serial: int
) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .sign(key, hashes.SHA256())
    )
    return Pem(
        built.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        serial,
    )


@cache
def certificate(common_name: str = "cafe.example.com", *, expired: bool = False) -> Pem:
    """A fixed certificate for `common_name` (made once per process and name)."""
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(days=365 if expired else 365 * 30)
    return _make((common_name,), start, end, 1)


def make_certificate(*hosts: str, expired: bool = False) -> Pem:
    """A new certificate for `hosts`, with its own serial number."""
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1))
        if expired
        else (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30))
    )
    return _make(hosts, start, end, x509.random_serial_number())
