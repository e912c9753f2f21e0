"""Session checks shared by every test: the real NGINX must be installed."""

from __future__ import annotations

import shutil

import pytest

# The local Kubernetes API server's fixtures (dev_cluster, dev_cluster_factory, kube_client).
pytest_plugins = ["nginx_ingress_dev.devcluster.pytest_plugin"]


@pytest.fixture(scope="session", autouse=True)
def _nginx_is_installed() -> None:
    """Tests run the real `nginx`; without it they must fail, not quietly pass."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: run scripts/install-system-deps (make does it)")
