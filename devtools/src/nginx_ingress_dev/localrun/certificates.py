"""TLS Secrets an Ingress names but nobody created: made here, signed by a local CA.

In a cluster a TLS Secret comes from cert-manager or `kubectl create secret tls`,
and never from a folder of manifests that is committed: so the cafe example names
`cafe-secret` without shipping it, as a user's own manifests do. The local run
makes what is missing, once, into the state directory: a local CA (`ca.crt`, for
`curl --cacert`) and one certificate per Secret for the hosts of the Ingress TLS
entries that name it. The certificates are reused at the next start while they
fit; a Secret someone else wrote is never touched, and each Secret made here says
so in a label and in the run's output, since a cluster will need the real one.
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nginx_ingress_dev.devcluster.seeding import SeedError, seed_objects
from nginx_ingress_dev.devcluster.store import Store

GENERATED_LABEL = "nginx-ingress.dev/generated"
HOSTS_ANNOTATION = "nginx-ingress.dev/hosts"
CA_VALIDITY = datetime.timedelta(days=3650)
VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Issued:
    certificate: bytes
    key: bytes


def _write_private(path: Path, data: bytes) -> None:
    """Write a key readable by its owner only, from the first byte."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LocalCA:
    """A CA kept in `directory` (created at first use) that signs one certificate per
    Secret, kept beside it as `<namespace>-<name>.crt` and `.key`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.certificate_file = directory / "ca.crt"
        self._key_file = directory / "ca.key"
        self._certificate: x509.Certificate | None = None
        self._key: ec.EllipticCurvePrivateKey | None = None

    def _load_or_create(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if self._certificate is not None and self._key is not None:
            return self._certificate, self._key
        try:
            certificate = x509.load_pem_x509_certificate(self.certificate_file.read_bytes())
            key = serialization.load_pem_private_key(self._key_file.read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or (
                certificate.not_valid_after_utc - _now() < RENEW_BEFORE
            ):
                raise ValueError("renew")
        except (OSError, ValueError):
            certificate, key = self._create()
        self._certificate, self._key = certificate, key
        return certificate, key

    def _create(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nginx-ingress dev local CA")])
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(CA_KEY_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self._key_file, _key_pem(key))
        self.certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return certificate, key

    def issue(self, stem: str, hosts: Iterable[str]) -> Issued:
        """The certificate for `hosts` kept as `stem`, made again when missing, not for
        exactly these hosts, not signed by this CA, or near its end."""
        ca_certificate, ca_key = self._load_or_create()
        names = sorted(set(hosts))
        certificate_file = self.directory / f"{stem}.crt"
        key_file = self.directory / f"{stem}.key"
        try:
            certificate = x509.load_pem_x509_certificate(certificate_file.read_bytes())
            key_pem = key_file.read_bytes()
            sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
            if (
                sorted(sans.value.get_values_for_type(x509.DNSName)) == names
                and certificate.issuer == ca_certificate.subject
                and certificate.not_valid_after_utc - _now() > RENEW_BEFORE
            ):
                return Issued(certificate.public_bytes(serialization.Encoding.PEM), key_pem)
        except (OSError, ValueError, x509.ExtensionNotFound):
            pass
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            # Strict clients (and cryptography's verifier) need the issuer's key named.
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(ca_key, hashes.SHA256())
        )
        issued = Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))
        _write_private(key_file, issued.key)
        certificate_file.write_bytes(issued.certificate)
        return issued


def wanted_secrets(ingresses: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(namespace, Secret) → the hosts of every Ingress TLS entry that names it."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for ingress in ingresses:
        namespace = ingress["metadata"].get("namespace", "default")
        for entry in (ingress.get("spec") or {}).get("tls") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("secretName"), str):
                continue
            hosts = {h for h in entry.get("hosts") or [] if isinstance(h, str) and h}
            wanted.setdefault((namespace, entry["secretName"]), set()).update(hosts)
    return wanted


class CertificateStandIn:
    def __init__(self, store: Store, ca: LocalCA) -> None:
        self._store = store
        self._ca = ca
        self._ingresses = store.resources.find("ingresses")
        self._secrets = store.resources.find("secrets")
        self._failed: dict[tuple[str, str], str] = {}

    def reconcile(self) -> list[str]:
        lines: list[str] = []
        ingresses = [s.obj for s in self._store.snapshot(self._ingresses, None)]
        for (namespace, name), hosts in sorted(wanted_secrets(ingresses).items()):
            names = sorted(hosts) or ["localhost"]
            existing = self._store.find(self._secrets, namespace, name)
            if existing is not None:
                metadata = existing.obj["metadata"]
                ours = (metadata.get("labels") or {}).get(GENERATED_LABEL) == "certificate"
                said = (metadata.get("annotations") or {}).get(HOSTS_ANNOTATION)
                if not ours or said == ",".join(names):
                    continue
            lines.extend(self._make(namespace, name, names))
        return lines

    def _make(self, namespace: str, name: str, hosts: list[str]) -> list[str]:
        try:
            issued = self._ca.issue(f"{namespace}-{name}", hosts)
        except OSError as error:
            where = f"cannot write the certificate into {self._ca.directory}: {error.strerror}"
            return self._failure(namespace, name, where)
        except ValueError as error:
            return self._failure(namespace, name, f"no certificate for {', '.join(hosts)}: {error}")
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {GENERATED_LABEL: "certificate"},
                "annotations": {HOSTS_ANNOTATION: ",".join(hosts)},
            },
            "data": {
                "tls.crt": base64.b64encode(issued.certificate).decode(),
                "tls.key": base64.b64encode(issued.key).decode(),
                "ca.crt": base64.b64encode(self._ca.certificate_file.read_bytes()).decode(),
            },
        }
        try:
            seed_objects(self._store, [secret])
        except SeedError as error:
            return [f"warning: Secret {namespace}/{name}: {error}"]
        self._failed.pop((namespace, name), None)
        return [
            f"Secret {namespace}/{name}: a certificate for {', '.join(hosts)} signed by the "
            f"local CA {self._ca.certificate_file} (made here; a cluster needs the real one)"
        ]

    def _failure(self, namespace: str, name: str, problem: str) -> list[str]:
        """The problem as a line, once (the stand-ins run again at every change)."""
        if self._failed.get((namespace, name)) == problem:
            return []
        self._failed[(namespace, name)] = problem
        return [f"warning: Secret {namespace}/{name}: {problem}"]
