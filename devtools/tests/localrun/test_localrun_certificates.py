"""TLS Secrets an Ingress names and nobody made: issued by the local CA, kept and reused, made
again when the hosts change, and never written over a Secret someone else made."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509 import verification

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.localrun.certificates import (
    GENERATED_LABEL,
    CertificateStandIn,
    LocalCA,
    wanted_secrets,
)


def _verify(ca: LocalCA, certificate_pem: bytes, host: str) -> None:
    """As a TLS client would: the chain to the CA, the host name, server use."""
    root = x509.load_pem_x509_certificate(ca.certificate_file.read_bytes())
    leaf = x509.load_pem_x509_certificate(certificate_pem)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([root]))
        .time(datetime.datetime.now(datetime.UTC))
        .build_server_verifier(x509.DNSName(host))
    )
    verifier.verify(leaf, [])


def test_a_certificate_is_issued_for_the_hosts_and_kept(tmp_path: Path) -> None:
    ca = LocalCA(tmp_path / "certificates")
    issued = ca.issue("cafe-cafe-secret", ["cafe.example.com", "*.tea.example.com"])
    _verify(ca, issued.certificate, "cafe.example.com")
    _verify(ca, issued.certificate, "green.tea.example.com")
    key_file = tmp_path / "certificates" / "cafe-cafe-secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "certificates" / "ca.key").stat().st_mode & 0o777 == 0o600

    # Another run with the same directory: the same CA and the same certificate.
    again = LocalCA(tmp_path / "certificates").issue(
        "cafe-cafe-secret", ["*.tea.example.com", "cafe.example.com"]
    )
    assert again == issued
    # Other hosts: a new certificate from the same CA.
    other = LocalCA(tmp_path / "certificates").issue("cafe-cafe-secret", ["cafe.example.com"])
    assert other.certificate != issued.certificate
    _verify(ca, other.certificate, "cafe.example.com")


def _ingress(namespace: str, name: str, tls: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"tls": tls},
    }


def test_the_hosts_of_every_entry_naming_a_secret_are_gathered() -> None:
    found = wanted_secrets(
        [
            _ingress("a", "one", [{"hosts": ["x.example.com"], "secretName": "s"}]),
            _ingress("a", "two", [{"hosts": ["y.example.com"], "secretName": "s"}, {"hosts": []}]),
            _ingress("b", "one", [{"hosts": ["x.example.com"], "secretName": "s"}, "junk"]),
        ]
    )
    assert found == {("a", "s"): {"x.example.com", "y.example.com"}, ("b", "s"): {"x.example.com"}}


def test_missing_secrets_are_made_and_others_left_alone(tmp_path: Path) -> None:
    cluster = DevCluster()
    ca = LocalCA(tmp_path)
    stand_in = CertificateStandIn(cluster.store, ca)
    cluster.seed(
        [
            _ingress("cafe", "cafe", [{"hosts": ["cafe.example.com"], "secretName": "made"}]),
            _ingress("cafe", "own", [{"hosts": ["own.example.com"], "secretName": "theirs"}]),
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {"name": "theirs", "namespace": "cafe"},
                "data": {"tls.crt": "", "tls.key": ""},
            },
        ]
    )
    (line,) = stand_in.reconcile()
    assert line.startswith("Secret cafe/made: a certificate for cafe.example.com signed by the")
    made = cluster.get_object("Secret", "cafe", "made")
    assert made is not None
    assert made["type"] == "kubernetes.io/tls"
    assert made["metadata"]["labels"] == {GENERATED_LABEL: "certificate"}
    _verify(ca, base64.b64decode(made["data"]["tls.crt"]), "cafe.example.com")
    assert cluster.get_object("Secret", "cafe", "theirs")["data"] == {"tls.crt": "", "tls.key": ""}  # type: ignore[index]
    assert stand_in.reconcile() == []  # in place

    # The Ingress names another host now: the Secret is made again for it.
    cluster.seed([_ingress("cafe", "cafe", [{"hosts": ["bar.example.com"], "secretName": "made"}])])
    (line,) = stand_in.reconcile()
    assert line.startswith("Secret cafe/made: a certificate for bar.example.com")
    remade = cluster.get_object("Secret", "cafe", "made")
    assert remade is not None
    _verify(ca, base64.b64decode(remade["data"]["tls.crt"]), "bar.example.com")


def test_a_certificate_that_cannot_be_written_is_said_once(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    cluster = DevCluster()
    stand_in = CertificateStandIn(cluster.store, LocalCA(blocked / "certificates"))
    cluster.seed([_ingress("cafe", "cafe", [{"hosts": ["a.example.com"], "secretName": "s"}])])
    (line,) = stand_in.reconcile()
    assert line.startswith("warning: Secret cafe/s: cannot write the certificate into ")
    assert stand_in.reconcile() == []
    assert cluster.get_object("Secret", "cafe", "s") is None
