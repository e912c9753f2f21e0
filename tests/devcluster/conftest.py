"""Fixtures for the development API server's own tests.

The plugin's fixtures are imported here rather than loaded with `pytest_plugins`,
which pytest only honours in the top-level conftest (owned by the main suite).

API objects of the official client are typed `Any` in these tests: kubernetes 37
ships type hints whose signatures demand model instances where the client and the
server accept plain dicts, and whose every field is Optional. The tests check the
server's behaviour, not the client's types.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nginx_ingress.devcluster.pytest_plugin import *  # noqa: F403 - the plugin's fixtures


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


@pytest.fixture
def core(kube_client: client.ApiClient) -> Any:
    return client.CoreV1Api(kube_client)


@pytest.fixture
def networking(kube_client: client.ApiClient) -> Any:
    return client.NetworkingV1Api(kube_client)


@pytest.fixture
def default_client_configuration() -> Iterator[None]:
    """Restore the official client's process-wide default Configuration after a test
    that must set it (LeaseLock and Watch build their API objects from it)."""
    saved = client.Configuration.get_default_copy()
    yield
    client.Configuration.set_default(saved)
