"""The chart as Helm renders it: the combinations the tests and `deploy/` cover, rendering
through a real `helm install` into a throwaway local API server (helm-sdkpy has no
`helm template`; an install's release carries the same rendered manifest), and offline
validation against the Kubernetes OpenAPI schemas with kubernetes-validate.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from chart_cluster import ADMIN_TOKEN, chart_cluster
from helm_client import Helm

KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37")
"""Every rendered manifest is checked against each; the first is Chart.yaml's kubeVersion."""

KINDS = ("deployment", "daemonset", "statefulset")
RELEASE = "nginx-ingress"
NAMESPACE = "nginx-ingress"


@dataclass(frozen=True)
class Combination:
    kind: str
    plus: bool
    zone_sync: bool

    @property
    def id(self) -> str:
        edition = "plus" if self.plus else "oss"
        return f"{self.kind}-{edition}-zone-sync-{'on' if self.zone_sync else 'off'}"

    def values(self) -> dict[str, Any]:
        return {
            "controller": {
                "kind": self.kind,
                "nginxplus": self.plus,
                "zoneSync": {"enable": self.zone_sync},
            }
        }

    def toggled(self) -> Combination:
        return Combination(self.kind, self.plus, not self.zone_sync)


COMBINATIONS = tuple(
    Combination(kind, plus, zone_sync)
    for kind in KINDS
    for plus in (False, True)
    for zone_sync in (False, True)
)
"""Zone sync on NGINX OSS is among them: the chart must refuse it."""


def documents(manifest: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(manifest) if d]


class Renderer:
    """Renders by installing into its own local API server and uninstalling again."""

    def __init__(self, helm: Helm) -> None:
        self.helm = helm

    def render(
        self, values: dict[str, Any], release: str = RELEASE, namespace: str = NAMESPACE
    ) -> str:
        result = self.helm.install(release, namespace, values)
        self.helm.uninstall(release, namespace)
        manifest: str = result["manifest"]
        return manifest


@contextmanager
def renderer(namespace: str = NAMESPACE) -> Iterator[Renderer]:
    with (
        tempfile.TemporaryDirectory(prefix="render-") as directory,
        chart_cluster(namespace, RELEASE, Path(directory)) as cluster,
    ):
        kubeconfig = cluster.write_kubeconfig(Path(directory) / "kubeconfig", token=ADMIN_TOKEN)
        with Helm(kubeconfig) as helm:
            yield Renderer(helm)


CERTIFICATE_SPEC = {
    "secretName": str,
    "issuerRef": dict,
    "dnsNames": list,
    "usages": list,
    "privateKey": dict,
    "duration": str,
    "renewBefore": str,
}
"""The fields of cert-manager's `Certificate` (cert-manager.io/v1) the chart writes."""
CERTIFICATE_USAGES = frozenset(
    {"digital signature", "key encipherment", "server auth", "client auth"}
)


def certificate_problems(obj: dict[str, Any]) -> list[str]:
    """A cert-manager Certificate, which no Kubernetes schema knows: the fields the chart
    writes, with their types and cert-manager's spellings of the values it uses."""
    spec = obj.get("spec") or {}
    problems = [f"spec.{key}: unknown field" for key in spec if key not in CERTIFICATE_SPEC]
    problems += [
        f"spec.{key}: must be {kind.__name__}"
        for key, kind in CERTIFICATE_SPEC.items()
        if key in spec and not isinstance(spec[key], kind)
    ]
    if not spec.get("secretName") or not (spec.get("issuerRef") or {}).get("name"):
        problems.append("spec.secretName and spec.issuerRef.name are required")
    if set(spec.get("issuerRef") or {}) - {"name", "kind", "group"}:
        problems.append("spec.issuerRef: unknown field")
    if not set(spec.get("usages") or []) <= CERTIFICATE_USAGES:
        problems.append(f"spec.usages: {spec.get('usages')}")
    key = spec.get("privateKey") or {}
    if key and (key.get("algorithm"), key.get("rotationPolicy")) != ("ECDSA", "Always"):
        problems.append(f"spec.privateKey: {key}")
    return [f"Certificate {obj['metadata']['name']}: {p}" for p in problems]


def schema_problems(
    objects: Iterable[dict[str, Any]], versions: Iterable[str] = KUBERNETES_VERSIONS
) -> list[str]:
    """Each object against the strict schema (unknown fields are errors) of each version; a
    cert-manager Certificate against `certificate_problems`."""
    problems = []
    versions = tuple(versions)
    for obj in objects:
        if obj["apiVersion"] == "cert-manager.io/v1" and obj["kind"] == "Certificate":
            problems += certificate_problems(obj)
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(p) for p in error.path)
                problems.append(
                    f"{obj['kind']} {obj['metadata']['name']} (Kubernetes {version}): "
                    f"{where}: {error.message}"
                )
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"{obj['kind']} (Kubernetes {version}): {error.message}")
    return problems


def by_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = by_kind(objects, kind)
    return found


def workload(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] in ("Deployment", "DaemonSet", "StatefulSet")]
    return found


def container(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload(objects)["spec"]["template"]["spec"]["containers"]
    (found,) = [c for c in containers if c["name"] == "nginx-ingress"]
    return found
