"""Fixtures for the development API server's own tests.

The plugin's fixtures are imported here rather than loaded with `pytest_plugins`,
which pytest only honours in the top-level conftest (owned by the main suite).

API objects of the official client are typed `Any` in these tests: kubernetes 37
ships type hints whose signatures demand model instances where the client and the
server accept plain dicts, and whose every field is Optional. The tests check the
server's behaviour, not the client's types.
"""

from __future__ import annotations

from collections.abc import Iterator
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
