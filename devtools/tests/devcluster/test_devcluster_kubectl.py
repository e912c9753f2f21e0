"""The real kubectl (/usr/bin/kubectl) against the local API server, one test per verb
docs/devcluster.md claims works, or claims does not."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from nginx_ingress_dev.devcluster import DevCluster

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: demo}
spec:
  ingressClassName: nginx
  tls: [{hosts: [a.example.com], secretName: web-tls}]
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
  - host: b.example.com
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}, {name: https, port: 443}]
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: demo}
data: {mode: "one"}
"""


@pytest.fixture
def kubeconfig(dev_cluster: DevCluster, tmp_path: Path) -> Path:
    dev_cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}])
    return dev_cluster.write_kubeconfig(tmp_path / "kubeconfig")


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _lines(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_get_all_namespaces_shows_the_ingress_columns(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    kubectl(kubeconfig, "create", "-f", _file(tmp_path, "ingress.yaml", INGRESS), check=True)
    dev_cluster.seed(
        [
            {
                **yaml.safe_load(INGRESS),
                "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
            }
        ]
    )
    result = kubectl(kubeconfig, "get", "ingress", "-A", check=True)
    header, row = _lines(result.stdout)
    assert header == ["NAMESPACE", "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert row[:7] == [
        "demo",
        "web",
        "nginx",
        "a.example.com,b.example.com",
        "192.0.2.1",
        "80,",
        "443",
    ]


def test_get_wide_shows_priority_columns(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    kubectl(kubeconfig, "apply", "-f", _file(tmp_path, "service.yaml", SERVICE), check=True)
    dev_cluster.publish_endpoints("demo", "web", ["10.0.0.1", "10.0.0.2"], {"http": 8080})
    plain = _lines(kubectl(kubeconfig, "get", "svc", "-n", "demo", check=True).stdout)
    assert plain[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert plain[1][4] == "80/TCP,443/TCP"
    wide = _lines(kubectl(kubeconfig, "get", "svc", "-n", "demo", "-o", "wide", check=True).stdout)
    assert wide[0][-1] == "SELECTOR"
    assert wide[1][-1] == "app=web"
    slices = _lines(kubectl(kubeconfig, "get", "endpointslices", "-n", "demo", check=True).stdout)
    assert slices[0] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert slices[1][1:4] == ["IPv4", "8080", "10.0.0.1,10.0.0.2"]


def test_get_watch_prints_each_change_under_one_header(
    dev_cluster: DevCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    process = subprocess.Popen(
        ["/usr/bin/kubectl", "--kubeconfig", str(kubeconfig), "get", "cm", "-n", "demo", "-w"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)},
    )
    try:
        assert dev_cluster.wait_for_watchers("configmaps", timeout=30)
        dev_cluster.seed([yaml.safe_load(CONFIGMAP)])
        assert process.stdout is not None
        header = process.stdout.readline().split()
        row = process.stdout.readline().split()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert header == ["NAME", "DATA", "AGE"]
    assert row[:2] == ["settings", "1"]


def test_describe_ingress(kubeconfig: Path, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl(kubeconfig, "apply", "-f", _file(tmp_path, "ingress.yaml", INGRESS), check=True)
    result = kubectl(kubeconfig, "describe", "ingress", "-n", "demo", "web", check=True)
    assert "Ingress Class:    nginx" in result.stdout
    assert "web-tls terminates a.example.com" in result.stdout


def test_apply_creates_then_patches_removing_a_list_item(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    created = kubectl(kubeconfig, "apply", "-f", _file(tmp_path, "s.yaml", SERVICE), check=True)
    assert created.stdout.strip() == "service/web created"
    fewer = SERVICE.replace(", {name: https, port: 443}", "")
    changed = kubectl(kubeconfig, "apply", "-f", _file(tmp_path, "s2.yaml", fewer), check=True)
    assert changed.stdout.strip() == "service/web configured"
    service = dev_cluster.get_object("Service", "demo", "web")
    assert service is not None
    assert [p["port"] for p in service["spec"]["ports"]] == [80]
    assert "--validate=false" not in changed.stderr


def test_apply_rejects_an_unknown_field_as_kube_apiserver_does(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    typo = CONFIGMAP.replace("\ndata:", "\ndta:")
    result = kubectl(kubeconfig, "apply", "-f", _file(tmp_path, "typo.yaml", typo))
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "dta"' in result.stderr
    assert dev_cluster.get_object("ConfigMap", "demo", "settings") is None


def test_server_side_apply_and_diff(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    path = _file(tmp_path, "cm.yaml", CONFIGMAP)
    applied = kubectl(kubeconfig, "apply", "--server-side", "-f", path, check=True)
    assert applied.stdout.strip() == "configmap/settings serverside-applied"
    changed = _file(tmp_path, "cm2.yaml", CONFIGMAP.replace('"one"', '"two"'))
    diff = kubectl(kubeconfig, "diff", "-f", changed)
    assert diff.returncode == 1  # kubectl diff: 1 means "differences found"
    assert "-  mode: one" in diff.stdout
    assert "+  mode: two" in diff.stdout
    stored = dev_cluster.get_object("ConfigMap", "demo", "settings")
    assert stored is not None
    assert stored["data"] == {"mode": "one"}  # diff's dry run changed nothing


def test_create_replace_patch_label_edit_delete(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl, tmp_path: Path
) -> None:
    path = _file(tmp_path, "cm.yaml", CONFIGMAP)
    assert kubectl(kubeconfig, "create", "-f", path, check=True).stdout.strip() == (
        "configmap/settings created"
    )
    kubectl(kubeconfig, "replace", "-f", path, check=True)
    kubectl(
        kubeconfig, "-n", "demo", "patch", "cm", "settings", "-p", '{"data":{"extra":"x"}}',
        check=True,
    )  # fmt: skip
    kubectl(kubeconfig, "-n", "demo", "label", "cm", "settings", "tier=web", check=True)
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/mode: one/mode: edited/" "$1"\n')
    editor.chmod(0o755)
    edited = kubectl(
        kubeconfig, "-n", "demo", "edit", "cm", "settings",
        environment={"KUBE_EDITOR": str(editor)}, check=True,
    )  # fmt: skip
    assert edited.stdout.strip() == "configmap/settings edited"
    stored = dev_cluster.get_object("ConfigMap", "demo", "settings")
    assert stored is not None
    assert stored["data"] == {"mode": "edited", "extra": "x"}
    assert stored["metadata"]["labels"] == {"tier": "web"}
    deleted = kubectl(kubeconfig, "delete", "-f", path, check=True)
    assert deleted.stdout.strip() == 'configmap "settings" deleted'
    assert dev_cluster.get_object("ConfigMap", "demo", "settings") is None


def test_explain_reads_the_openapi_v3_document(kubeconfig: Path, kubectl: Kubectl) -> None:
    result = kubectl(kubeconfig, "explain", "ingress.spec.rules.host", check=True)
    assert "KIND:       Ingress" in result.stdout
    assert "FIELD: host <string>" in result.stdout


def test_generator_commands_send_protobuf_and_get_415(kubeconfig: Path, kubectl: Kubectl) -> None:
    """`kubectl create configmap|secret|deployment …` (and Helm) encode built-in types as
    protobuf, which this server does not read: documented as not working."""
    result = kubectl(kubeconfig, "-n", "demo", "create", "configmap", "x", "--from-literal=a=b")
    assert result.returncode == 1
    assert "application/vnd.kubernetes.protobuf is not served" in result.stderr


def test_logs_exec_and_auth_are_not_served(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl
) -> None:
    dev_cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "namespace": "demo"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            }
        ]
    )
    assert kubectl(kubeconfig, "-n", "demo", "logs", "p").returncode == 1
    assert kubectl(kubeconfig, "auth", "can-i", "get", "pods").returncode == 1
    pods = _lines(kubectl(kubeconfig, "-n", "demo", "get", "pods", check=True).stdout)
    assert pods[1][:3] == ["p", "0/1", "Pending"]


def test_output_formats_annotate_and_delete_by_name(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl
) -> None:
    dev_cluster.seed([yaml.safe_load(CONFIGMAP)])
    ns = ("-n", "demo")
    kubectl(kubeconfig, *ns, "annotate", "cm", "settings", "team=edge", check=True)
    kubectl(kubeconfig, *ns, "label", "cm", "settings", "tier=web", check=True)
    named = kubectl(kubeconfig, *ns, "get", "cm", "-o", "name", check=True)
    assert named.stdout.strip() == "configmap/settings"
    as_yaml = yaml.safe_load(kubectl(kubeconfig, *ns, "get", "cm", "settings", "-o", "yaml").stdout)
    assert as_yaml["metadata"]["annotations"] == {"team": "edge"}
    path = kubectl(
        kubeconfig, *ns, "get", "cm", "settings", "-o", "jsonpath={.data.mode}", check=True
    )
    assert path.stdout == "one"
    labels = _lines(kubectl(kubeconfig, *ns, "get", "cm", "--show-labels", check=True).stdout)
    assert labels[0][-1] == "LABELS"
    assert labels[1][-1] == "tier=web"
    deleted = kubectl(kubeconfig, *ns, "delete", "cm", "settings", check=True)
    assert deleted.stdout.strip() == 'configmap "settings" deleted'


def test_discovery_commands_and_scale(
    dev_cluster: DevCluster, kubeconfig: Path, kubectl: Kubectl
) -> None:
    resources = _lines(kubectl(kubeconfig, "api-resources", check=True).stdout)
    assert ["ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"] in resources
    version = kubectl(kubeconfig, "version", check=True).stdout
    assert "Server Version: v1.34.0-devcluster" in version
    dev_cluster.seed(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "demo"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
            }
        ]
    )
    dev_cluster.clear_request_log()
    scaled = kubectl(kubeconfig, "-n", "demo", "scale", "deploy", "web", "--replicas=2")
    assert scaled.returncode == 1
    assert any(r.path.endswith("/deployments/web/scale") for r in dev_cluster.request_log)
