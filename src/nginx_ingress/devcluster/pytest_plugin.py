"""pytest fixtures for the development API server.

Load with `pytest_plugins = ["nginx_ingress.devcluster.pytest_plugin"]` in a top-level
conftest (or import the fixtures into a conftest). Fixtures:

- `dev_cluster`: a fresh server on a free port, for one test.
- `dev_cluster_session`: one server for the whole session (tests must not depend on
  its state).
- `dev_cluster_factory`: `factory(**DevCluster kwargs)` for servers with auth, TLS or
  other settings; all are stopped after the test.
- `kube_client`: an official `kubernetes.client.ApiClient` for `dev_cluster`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from nginx_ingress.devcluster.cluster import DevCluster

__all__ = [
    "api_client_for",
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
