"""Client set-up: the in-cluster path (token, CA, KUBERNETES_SERVICE_HOST/PORT) and kubeconfig."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from nginx_ingress.kube.api import CONFIGMAPS, KubeUnavailable
from nginx_ingress.kube.client import KubeConfigError, connect
from nginx_ingress_dev.devcluster import DevCluster, TlsConfig, service_account_user
from nginx_ingress_dev.devcluster.pytest_plugin import Certificates


def test_in_cluster_with_a_service_account(
    dev_cluster_factory: Callable[..., DevCluster], certificates: Certificates, tmp_path: Path
) -> None:
    cluster = dev_cluster_factory(
        tls=TlsConfig(certificates.server_cert, certificates.server_key),
        tokens={"sa-token": service_account_user("nginx-ingress", "nginx-ingress")},
    )
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(certificates.ca_cert.read_bytes())
    api = connect(
        service_account=tmp_path,
        environ={
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(cluster.port),
        },
    )
    assert api.list(CONFIGMAPS, namespace="default")["kind"] == "ConfigMapList"
    assert cluster.request_log[-1].user == "system:serviceaccount:nginx-ingress:nginx-ingress"


def test_kubeconfig(dev_cluster: DevCluster, tmp_path: Path) -> None:
    api = connect(str(dev_cluster.write_kubeconfig(tmp_path / "kubeconfig")))
    assert api.list(CONFIGMAPS)["kind"] == "ConfigMapList"


def test_outside_a_cluster_the_error_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="KUBERNETES_SERVICE_HOST"):
        connect(service_account=tmp_path, environ={})
    with pytest.raises(KubeConfigError, match="cannot load the cluster configuration"):
        connect(str(tmp_path / "missing"))


def test_an_unreachable_server_is_an_error_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n"
    )
    api = connect(str(tmp_path / "kubeconfig"), timeout=2)
    with pytest.raises(KubeUnavailable):
        api.list(CONFIGMAPS)


def test_a_tls_failure_is_unavailable_not_a_client_exception(tmp_path: Path) -> None:
    """The official client wraps TLS errors in its own ApiException (status 0); they must
    reach the reflectors as KubeUnavailable, which they retry."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def close_every_connection() -> None:
            for _ in range(2):
                with contextlib.suppress(OSError):
                    connection, _ = server.accept()
                    connection.close()

        threading.Thread(target=close_every_connection, daemon=True).start()
        (tmp_path / "kubeconfig").write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{port}', "
            "insecure-skip-tls-verify: true}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n"
        )
        api = connect(str(tmp_path / "kubeconfig"), timeout=2)
        with pytest.raises(KubeUnavailable):
            api.list(CONFIGMAPS)
