"""Fixtures for the development API server's own tests.

The plugin's fixtures are imported here rather than loaded with `pytest_plugins`,
which pytest only honours in the top-level conftest (owned by the main suite).

API objects of the official client are typed `Any` in these tests: kubernetes 37
ships type hints whose signatures demand model instances where the client and the
server accept plain dicts, and whose every field is Optional. The tests check the
server's behaviour, not the client's types.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nginx_ingress_dev.devcluster.pytest_plugin import *  # noqa: F403 - the plugin's fixtures


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


KUBECTL = Path("/usr/bin/kubectl")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kubectl(tmp_path: Path) -> Kubectl:
    """Run the real kubectl non-interactively: `kubectl(kubeconfig, "get", "ns")`.

    Standard input is closed (a prompt fails instead of hanging), HOME is the test's
    own directory (kubectl's discovery and OpenAPI caches start empty), and the
    result is returned whatever the exit code (`check=True` asserts success)."""
    if not KUBECTL.is_file():
        pytest.fail(f"these tests drive the real kubectl, expected at {KUBECTL}")
    home = tmp_path / "kubectl-home"
    home.mkdir(exist_ok=True)

    def run(
        kubeconfig: Path,
        *arguments: str,
        check: bool = False,
        environment: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(kubeconfig), *arguments],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), **(environment or {})},
            check=False,
        )
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(arguments)}: {result.stderr}"
        return result

    return run
