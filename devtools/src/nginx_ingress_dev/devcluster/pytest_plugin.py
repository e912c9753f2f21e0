"""pytest fixtures for the development API server.

Load with `pytest_plugins = ["nginx_ingress_dev.devcluster.pytest_plugin"]` in a top-level
conftest (or import the fixtures into a conftest). Fixtures:

- `dev_cluster`: a fresh server on a free port, for one test.
- `dev_cluster_session`: one server for the whole session (tests must not depend on
  its state).
- `dev_cluster_factory`: `factory(**DevCluster kwargs)` for servers with auth, TLS or
  other settings; all are stopped after the test.
- `kube_client`: an official `kubernetes.client.ApiClient` for `dev_cluster`.
- `certificates`: a test CA with server and client certificates (made with `openssl`),
  for TLS and client-certificate authentication.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster.cluster import DevCluster

__all__ = [
    "Certificates",
    "api_client_for",
    "certificates",
    "dev_cluster",
    "dev_cluster_factory",
    "dev_cluster_session",
    "kube_client",
    "status_body",
    "stop_informer",
]


def stop_informer(shared_informer: Any, cluster: DevCluster, timeout: float = 10.0) -> None:
    """Stop an official `kubernetes.informer.SharedInformer` promptly.

    Its `stop()` joins the informer thread, which stays blocked reading an idle watch
    (kubernetes 37.0.2's `Watch.stop()` does not unblock the read), so this ends the
    watch from the server side until `stop()` returns.
    """
    stopper = threading.Thread(target=shared_informer.stop, name="stop-informer")
    stopper.start()
    for _ in range(int(timeout / 0.05)):
        cluster.drop_watches()
        stopper.join(0.05)
        if not stopper.is_alive():
            return
    raise AssertionError("the informer did not stop")


def status_body(error: ApiException) -> dict[str, Any]:
    """The decoded `Status` body of an `ApiException` (empty if there is none)."""
    body = json.loads(error.body or "{}")
    if not isinstance(body, dict):
        raise AssertionError(f"the error body is not a Status object: {error.body!r}")
    return body


def api_client_for(
    cluster: DevCluster,
    *,
    token: str | None = None,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> client.ApiClient:
    """An official-client `ApiClient` talking to `cluster` (no global state touched)."""
    configuration = client.Configuration()
    configuration.host = cluster.url
    if token is not None:
        configuration.api_key = {"authorization": token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    if ca_file is not None:
        configuration.ssl_ca_cert = ca_file
    if cert_file is not None:
        configuration.cert_file = cert_file
        configuration.key_file = key_file
    return client.ApiClient(configuration)


def _assert_no_leftover_threads(before: set[threading.Thread]) -> None:
    leftover = [
        t
        for t in threading.enumerate()
        if t not in before and t.name.startswith("devcluster-") and t.is_alive()
    ]
    assert not leftover, f"devcluster threads left running: {[t.name for t in leftover]}"


@pytest.fixture
def dev_cluster() -> Iterator[DevCluster]:
    before = set(threading.enumerate())
    with DevCluster() as cluster:
        yield cluster
    _assert_no_leftover_threads(before)


@pytest.fixture(scope="session")
def dev_cluster_session() -> Iterator[DevCluster]:
    with DevCluster() as cluster:
        yield cluster


@pytest.fixture
def dev_cluster_factory() -> Iterator[Callable[..., DevCluster]]:
    before = set(threading.enumerate())
    started: list[DevCluster] = []

    def factory(**kwargs: Any) -> DevCluster:
        cluster = DevCluster(**kwargs).start()
        started.append(cluster)
        return cluster

    yield factory
    for cluster in reversed(started):
        cluster.stop()
    _assert_no_leftover_threads(before)


@pytest.fixture
def kube_client(dev_cluster: DevCluster) -> Iterator[client.ApiClient]:
    api_client = api_client_for(dev_cluster)
    yield api_client
    api_client.close()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Certificates:
    """A CA, a server certificate for 127.0.0.1/localhost, and a client certificate
    for user `alice` in group `developers`, all signed by the CA."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates")
    directory = tmp_path_factory.mktemp("pki")
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=devcluster-test-ca",
        cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/O=developers/CN=alice")):
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
            cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
            cwd=directory,
        )  # fmt: skip
    return Certificates(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )
