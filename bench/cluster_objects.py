"""Synthetic clusters for the benchmarks: N Ingresses, each with one host and three paths
to three Services (one EndpointSlice of two endpoints each), TLS with its own Secret on
every other Ingress. Raw API objects, as the API server would send them."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMESPACE = "bench"
PATHS = ("a", "b", "c")


@dataclass
class Cluster:
    ingresses: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    slices: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[dict[str, Any]] = field(default_factory=list)
    ingress_class: dict[str, Any] = field(
        default_factory=lambda: {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": "nginx.org/ingress-controller"},
        }
    )

    @property
    def all(self) -> list[dict[str, Any]]:
        return [self.ingress_class, *self.services, *self.slices, *self.secrets, *self.ingresses]


def _tls_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench.example.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(pem).decode(), base64.b64encode(key_pem).decode()


def ingress(n: int, *, backend_suffix: str = "") -> dict[str, Any]:
    name = f"app-{n}"
    spec: dict[str, Any] = {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": f"{name}.example.com",
                "http": {
                    "paths": [
                        {
                            "path": f"/{p}{backend_suffix}",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": f"{name}-{p}", "port": {"number": 80}}},
                        }
                        for p in PATHS
                    ]
                },
            }
        ],
    }
    if n % 2 == 0:
        spec["tls"] = [{"hosts": [f"{name}.example.com"], "secretName": f"{name}-tls"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "namespace": NAMESPACE,
            "name": name,
            "uid": f"uid-{n}",
            "resourceVersion": str(n),
            "creationTimestamp": "2026-11-27T00:00:00Z",
            "annotations": {"nginx.org/proxy-read-timeout": "30s"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": spec,
    }


def endpoint_slice(service: str, last_octet: int) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": NAMESPACE,
            "name": f"{service}-x1",
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": [f"10.{i}.{last_octet // 256 % 256}.{last_octet % 256}"],
                "conditions": {"ready": True},
            }
            for i in (1, 2)
        ],
    }


def cluster(count: int) -> Cluster:
    made = Cluster()
    certificate, key = _tls_pair()
    for n in range(count):
        made.ingresses.append(ingress(n))
        for index, p in enumerate(PATHS):
            service = f"app-{n}-{p}"
            made.services.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"namespace": NAMESPACE, "name": service},
                    "spec": {"ports": [{"name": "", "port": 80, "protocol": "TCP"}]},
                }
            )
            made.slices.append(endpoint_slice(service, n * 3 + index))
        if n % 2 == 0:
            made.secrets.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "kubernetes.io/tls",
                    "metadata": {"namespace": NAMESPACE, "name": f"app-{n}-tls"},
                    "data": {"tls.crt": certificate, "tls.key": key},
                }
            )
    return made
