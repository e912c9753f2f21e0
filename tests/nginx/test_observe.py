"""`/nginx-ready` and `/metrics` over real HTTP, fed by a real NGINX manager."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from nginx_ingress.nginx.manager import ApplyError
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress.observe.servers import Listener, metrics_listener, readiness_listener

from nginx_sandbox import Sandbox, sandbox


def fetch(port: int, path: str) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as created:
        yield created


def test_readiness_turns_ready_after_the_first_apply(box: Sandbox) -> None:
    manager = box.manager()
    listener: Listener = readiness_listener("127.0.0.1", 0, lambda: manager.ready)
    try:
        assert fetch(listener.port, "/nginx-ready")[0] == 503
        assert fetch(listener.port, "/elsewhere")[0] == 404
        manager.apply(box.tree())
        assert fetch(listener.port, "/nginx-ready") == (200, "text/plain", "Ready\n")
    finally:
        listener.close()
        manager.stop()


def test_metrics_use_nic_names_and_the_class_label(box: Sandbox) -> None:
    metrics = Metrics("nginx")
    manager = box.manager(metrics)
    listener = metrics_listener("127.0.0.1", 0, metrics.registry)
    try:
        _, _, before = fetch(listener.port, "/metrics")
        assert 'nginx_ingress_controller_nginx_reload_errors_total{class="nginx"} 0.0' in before
        assert 'nginx_ingress_controller_nginx_last_reload_status{class="nginx"} 0.0' in before
        manager.apply(box.tree())
        status, content_type, text = fetch(listener.port, "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert (
            'nginx_ingress_controller_nginx_reloads_total{class="nginx",reason="other"} 1.0' in text
        )
        assert (
            'nginx_ingress_controller_nginx_reloads_total{class="nginx",reason="endpoints"} 0.0'
            in text
        )
        assert 'nginx_ingress_controller_nginx_last_reload_status{class="nginx"} 1.0' in text
        assert 'nginx_ingress_controller_nginx_last_reload_milliseconds{class="nginx"}' in text
        assert "_created" not in text

        broken = box.tree()
        broken["nginx.conf"] += "\nbroken;\n"
        with pytest.raises(ApplyError):
            manager.apply(broken)
        _, _, after = fetch(listener.port, "/metrics")
        assert 'nginx_ingress_controller_nginx_reload_errors_total{class="nginx"} 1.0' in after
        assert 'nginx_ingress_controller_nginx_last_reload_status{class="nginx"} 0.0' in after
        assert fetch(listener.port, "/other")[0] == 404
    finally:
        listener.close()
        manager.stop()


def test_zone_sync_and_queue_metrics() -> None:
    metrics = Metrics("edge")
    metrics.set_zone_sync(enabled=True, service_ready=False)
    metrics.set_workqueue_depth("taskQueue", 3)
    metrics.set_zone_sync_status(2, {"ns/ing_sync": (1, 10)})
    metrics.set_zone_sync_status(2, {"other_sync": (0, 5)})  # a zone that went away is dropped
    listener = metrics_listener("127.0.0.1", 0, metrics.registry)
    try:
        _, _, text = fetch(listener.port, "/metrics")
    finally:
        listener.close()
    for line in (
        'nginx_ingress_controller_zone_sync_enabled{class="edge"} 1.0',
        'nginx_ingress_controller_zone_sync_service_ready{class="edge"} 0.0',
        'nginx_ingress_controller_workqueue_depth{class="edge",name="taskQueue"} 3.0',
        'nginx_ingress_controller_zone_sync_nodes_online{class="edge"} 2.0',
        'nginx_ingress_controller_zone_sync_records_total{class="edge",zone="other_sync"} 5.0',
    ):
        assert line in text
    assert "ns/ing_sync" not in text
