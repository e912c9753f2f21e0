"""Transport and discovery: status codes, headers, discovery documents, the dynamic
client, and a shutdown that ends watches and frees the port."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from kubernetes import client, dynamic

from nginx_ingress_dev.devcluster import DevCluster, TlsConfig
from nginx_ingress_dev.devcluster.pytest_plugin import Certificates, api_client_for
from nginx_ingress_dev.devcluster.server import RequestHandler

DynamicClient: Any = dynamic.DynamicClient


def _get(cluster: DevCluster, path: str) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        decoded = json.loads(body) if headers.get("content-type") == "application/json" else body
        return response.status, headers, decoded
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/version", "/version/"])
def test_version_with_and_without_trailing_slash(dev_cluster: DevCluster, path: str) -> None:
    status, headers, body = _get(dev_cluster, path)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body["major"] == "1"
    assert body["gitVersion"].startswith("v1.")


def test_discovery_documents(dev_cluster: DevCluster) -> None:
    """API concepts (discovery): /api lists core versions, /apis the groups, and each
    group-version an APIResourceList with name, singularName, namespaced, kind, verbs."""
    assert _get(dev_cluster, "/api")[2]["versions"] == ["v1"]
    groups = {g["name"] for g in _get(dev_cluster, "/apis")[2]["groups"]}
    assert groups == {
        "apps",
        "networking.k8s.io",
        "discovery.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
    }
    group = _get(dev_cluster, "/apis/networking.k8s.io")[2]
    assert group["kind"] == "APIGroup"
    assert group["preferredVersion"] == {"groupVersion": "networking.k8s.io/v1", "version": "v1"}
    resources = {
        r["name"]: r for r in _get(dev_cluster, "/apis/networking.k8s.io/v1")[2]["resources"]
    }
    assert resources["ingresses"]["kind"] == "Ingress"
    assert resources["ingresses"]["singularName"] == "ingress"
    assert resources["ingresses"]["namespaced"] is True
    assert "watch" in resources["ingresses"]["verbs"]
    assert resources["ingresses/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["ingressclasses"]["namespaced"] is False
    core = {r["name"]: r for r in _get(dev_cluster, "/api/v1")[2]["resources"]}
    assert core["namespaces"]["namespaced"] is False
    assert core["configmaps"]["shortNames"] == ["cm"]


def test_the_official_clients_discovery_calls(kube_client: client.ApiClient) -> None:
    version: Any = client.VersionApi(kube_client)
    assert version.get_code().major == "1"
    apis: Any = client.ApisApi(kube_client)
    assert "apps" in {g.name for g in apis.get_api_versions().groups}
    networking: Any = client.NetworkingV1Api(kube_client)
    assert "ingresses" in {r.name for r in networking.get_api_resources().resources}


def test_dynamic_client_discovers_and_lists(
    kube_client: client.ApiClient, dev_cluster: DevCluster
) -> None:
    dev_cluster.seed(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "dyn"},
                "spec": {},
            }
        ]
    )
    dynamic_client = DynamicClient(kube_client)
    ingresses = dynamic_client.resources.get(api_version="networking.k8s.io/v1", kind="Ingress")
    names = [item.metadata.name for item in ingresses.get(namespace="default").items]
    assert names == ["dyn"]


def test_health_endpoints_and_unknown_paths(dev_cluster: DevCluster) -> None:
    status, _, body = _get(dev_cluster, "/healthz")
    assert (status, body) == (200, b"ok")
    status, _, body = _get(dev_cluster, "/apis/example.com/v1/widgets")
    assert status == 404
    assert body["reason"] == "NotFound"


def test_responses_disable_nagle() -> None:
    """A split header/body write under Nagle + delayed ACK cost a spike 40 ms per request."""
    assert RequestHandler.disable_nagle_algorithm is True


def test_stop_ends_open_watches_and_frees_the_port() -> None:
    before = set(threading.enumerate())
    cluster = DevCluster().start()
    port = cluster.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/v1/namespaces/default/configmaps?watch=1")
    response = connection.getresponse()
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("GET", "/version")
    idle.getresponse().read()  # a keep-alive connection left open
    assert cluster.wait_for_watchers("configmaps")
    cluster.stop()
    assert response.read() == b""  # the chunked stream was ended, not left hanging
    connection.close()
    idle.close()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def _blocked_in_tls_read(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    return (
        frame is not None
        and frame.f_code.co_name == "read"
        and frame.f_code.co_filename.endswith("ssl.py")
    )


def test_a_watch_ended_by_shutting_the_clients_read_side_leaves_no_traceback(
    dev_cluster_factory: Callable[..., DevCluster],
    certificates: Certificates,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """urllib3's HTTPResponse.shutdown() ends a blocking watch read (the controller's way to
    stop a watch); OpenSSL 3 then reads EOF without close_notify and answers it with a
    decode_error alert. The server reads that alert once the watch ends, as the end of an idle
    connection: one debug line, not a traceback on stderr."""
    caplog.set_level(logging.DEBUG, logger="nginx_ingress_dev.devcluster.server")
    cluster = dev_cluster_factory(tls=TlsConfig(certificates.server_cert, certificates.server_key))
    api_client = api_client_for(cluster, ca_file=str(certificates.ca_cert))
    core: Any = client.CoreV1Api(api_client)
    response = core.list_namespaced_config_map("default", watch=True, _preload_content=False)
    assert cluster.wait_for_watchers("configmaps")
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            for _ in response.stream(65536):
                pass
            outcome.append(None)
        except Exception as error:
            outcome.append(error)

    reader = threading.Thread(target=read, name="watch-reader")
    reader.start()
    deadline = time.monotonic() + 10
    while not _blocked_in_tls_read(reader):
        assert time.monotonic() < deadline, "the reader never blocked in its TLS read"
        time.sleep(0.01)
    response.shutdown()
    reader.join(10)
    assert isinstance(outcome[0], urllib3.exceptions.ProtocolError)  # the read was cut off
    cluster.drop_watches()  # the stream ends: the handler waits for a next request
    cluster.stop()  # joins the connection threads
    api_client.close()  # type: ignore[no-untyped-call]
    assert "Traceback" not in capsys.readouterr().err
    ended = [r.getMessage() for r in caplog.records if "ended the idle TLS" in r.getMessage()]
    assert len(ended) == 1 and "TLSV1_ALERT_DECODE_ERROR" in ended[0], ended


def test_other_tls_errors_between_requests_are_still_reported(
    dev_cluster_factory: Callable[..., DevCluster],
    certificates: Certificates,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bytes that are no TLS record, where the next request should begin: a traceback."""
    cluster = dev_cluster_factory(tls=TlsConfig(certificates.server_cert, certificates.server_key))
    context = ssl.create_default_context(cafile=str(certificates.ca_cert))
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    connection.request("GET", "/version")
    assert connection.getresponse().read()
    assert connection.sock is not None
    socket.socket.sendall(connection.sock, b"GET /version HTTP/1.1\r\n\r\n")  # under TLS
    cluster.stop()
    connection.close()
    error = capsys.readouterr().err
    assert "Traceback" in error and "ssl.SSLError" in error, error


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    dev_cluster_factory: Callable[..., DevCluster],
    certificates: Certificates,
) -> None:
    cluster = dev_cluster_factory(
        tls=TlsConfig(certificates.server_cert, certificates.server_key), idle_timeout=0.3
    )
    context = ssl.create_default_context(cafile=str(certificates.ca_cert))
    with (
        socket.create_connection(("127.0.0.1", cluster.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as connection,
    ):
        connection.sendall(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while chunk := connection.recv(65536):  # b"" once the server closed the connection
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
