"""The kubeconfig the server writes works with the real kubectl, non-interactively,
over HTTPS with every kind of credential (and with none)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from nginx_ingress_dev.devcluster import DevCluster, TlsConfig
from nginx_ingress_dev.devcluster.kubeconfig import NO_AUTHENTICATION_TOKEN
from nginx_ingress_dev.devcluster.pytest_plugin import Certificates

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _user(kubeconfig: Path) -> dict[str, str]:
    document = yaml.safe_load(kubeconfig.read_text())
    user: dict[str, str] = document["users"][0]["user"]
    return user


def test_https_without_authentication_does_not_make_kubectl_prompt(
    tmp_path: Path,
    certificates: Certificates,
    dev_cluster_factory: Callable[..., DevCluster],
    kubectl: Kubectl,
) -> None:
    cluster = dev_cluster_factory(tls=TlsConfig(certificates.server_cert, certificates.server_key))
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", ca_file=certificates.ca_cert)
    assert _user(kubeconfig) == {"token": NO_AUTHENTICATION_TOKEN}
    result = kubectl(kubeconfig, "get", "ns", check=True)
    assert "Please enter Username" not in result.stderr
    assert "kube-system" in result.stdout


def test_https_with_a_token(
    tmp_path: Path,
    certificates: Certificates,
    dev_cluster_factory: Callable[..., DevCluster],
    kubectl: Kubectl,
) -> None:
    cluster = dev_cluster_factory(
        tls=TlsConfig(certificates.server_cert, certificates.server_key), tokens={"t0ken": "alice"}
    )
    kubeconfig = cluster.write_kubeconfig(
        tmp_path / "kubeconfig", token="t0ken", ca_file=certificates.ca_cert
    )
    kubectl(kubeconfig, "get", "ns", check=True)
    assert {r.user for r in cluster.request_log if r.path == "/api/v1/namespaces"} == {"alice"}
    wrong = cluster.write_kubeconfig(
        tmp_path / "wrong", token="guess", ca_file=certificates.ca_cert
    )
    denied = kubectl(wrong, "get", "ns")
    assert denied.returncode != 0
    assert "Unauthorized" in denied.stderr or "credentials" in denied.stderr


def test_dev_api_writes_client_certificates_for_kubectl(
    tmp_path: Path, certificates: Certificates, kubectl: Kubectl
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    executable = Path(sys.executable).with_name("nginx-ingress")
    process = subprocess.Popen(
        [str(executable), "dev-api", "--listen", "127.0.0.1:0",
         "--tls-cert-file", str(certificates.server_cert),
         "--tls-private-key-file", str(certificates.server_key),
         "--client-ca-file", str(certificates.ca_cert), "--tls-ca-file", str(certificates.ca_cert),
         "--kubeconfig-client-certificate", str(certificates.client_cert),
         "--kubeconfig-client-key", str(certificates.client_key),
         "--kubeconfig-out", str(kubeconfig), "--log-requests"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("dev-api: serving https://127.0.0.1:")
        assert set(_user(kubeconfig)) == {"client-certificate-data", "client-key-data"}
        result = kubectl(kubeconfig, "get", "ns", check=True)
        assert "default" in result.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0
    assert " alice " in errors  # --log-requests shows the certificate's user


def test_client_certificates_only_need_kubeconfig_credentials(
    tmp_path: Path, certificates: Certificates
) -> None:
    executable = Path(sys.executable).with_name("nginx-ingress")
    result = subprocess.run(
        [str(executable), "dev-api", "--listen", "127.0.0.1:0",
         "--tls-cert-file", str(certificates.server_cert),
         "--tls-private-key-file", str(certificates.server_key),
         "--client-ca-file", str(certificates.ca_cert), "--kubeconfig-out", str(tmp_path / "k")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dev-api: error: with --client-ca-file and no --token-auth-file, the kubeconfig needs "
        "--kubeconfig-client-certificate and --kubeconfig-client-key"
    )
