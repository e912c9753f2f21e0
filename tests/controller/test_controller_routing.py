"""Routing end to end: the local API server, `nginx-ingress run`, a real NGINX and real
HTTP backends on 127.0.0.1 published as EndpointSlices; every answer is a real request
through NGINX."""

from __future__ import annotations

import datetime
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from backends import Backend
from certificates import make_certificate
from controller_harness import APP, Controller, Harness, app_service, app_world, eventually


def path(path: str, backend: str, path_type: str = "Prefix", port: int = 80) -> dict[str, Any]:
    return {
        "path": path,
        "pathType": path_type,
        "backend": {"service": {"name": backend, "port": {"number": port}}},
    }


def ingress(
    name: str,
    rules: list[dict[str, Any]],
    *,
    tls: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"ingressClassName": "nginx", "rules": rules}
    if tls:
        spec["tls"] = tls
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"namespace": APP, "name": name, "annotations": annotations or {}},
        "spec": spec,
    }


def rule(host: str, *paths: dict[str, Any]) -> dict[str, Any]:
    return {"host": host, "http": {"paths": list(paths)}}


def answered_by(controller: Controller, host: str, target: str) -> str | None:
    """The name of the backend that answered, "<status>" for NGINX's own answer."""
    answer = controller.request("http", target, host=host)
    if answer is None:
        return None
    status, body = answer
    return body.split(" ", 1)[0] if status == 200 else str(status)


def tls_subject(controller: Controller, server_name: str) -> str | None:
    """The certificate's serial number NGINX presents for `server_name`, None when the
    handshake is refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", controller.ports["https"]), timeout=3) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (ssl.SSLError, OSError):
        return None
    from cryptography import x509  # noqa: PLC0415 - only this helper reads certificates

    return str(x509.load_der_x509_certificate(der or b"").serial_number)


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, dict[str, Backend]]]:
    with app_world(dev_cluster, "coffee", "tea", "juice") as (box, started):
        yield dev_cluster, box, started


def start(box: Harness) -> Controller:
    controller = box.start(plus=False)
    assert eventually(controller.ready, 30), controller.output()[-3000:]
    return controller


Waiter = Callable[[Callable[[], bool]], bool]


def test_host_and_path_routing_with_exact_and_prefix_boundaries(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    cluster, box, _ = world
    cluster.seed(
        [
            ingress(
                "cafe",
                [
                    rule(
                        "cafe.example.com",
                        path("/coffee", "coffee"),
                        path("/tea", "tea", "Exact"),
                        path("/", "juice"),
                    ),
                    rule("bar.example.com", path("/", "tea")),
                    rule("menu.example.com", path("/coffee", "coffee")),
                ],
            )
        ]
    )
    controller = start(box)
    assert answered_by(controller, "cafe.example.com", "/coffee") == "coffee"
    assert answered_by(controller, "cafe.example.com", "/coffee/beans") == "coffee"
    assert answered_by(controller, "cafe.example.com", "/coffeehouse") == "juice"  # element-wise
    assert answered_by(controller, "cafe.example.com", "/tea") == "tea"
    assert answered_by(controller, "cafe.example.com", "/tea/green") == "juice"  # Exact only
    assert answered_by(controller, "bar.example.com", "/anything") == "tea"
    assert answered_by(controller, "unknown.example.com", "/") == "404"  # the default server
    # No rule of the host owns `/`: 404, never NGINX's default root (Debian's welcome page).
    assert answered_by(controller, "menu.example.com", "/coffee") == "coffee"
    root = controller.request("http", "/", host="menu.example.com")
    assert root is not None and root[0] == 404 and "Welcome" not in root[1], root
    assert answered_by(controller, "menu.example.com", "/coffeehouse") == "404"
    assert answered_by(controller, "menu.example.com", "/index.html") == "404"
    answer = controller.request("http", "/coffee/x?y=1", host="cafe.example.com")
    assert answer is not None and answer[1].split()[1:3] == ["cafe.example.com", "/coffee/x?y=1"]
    metrics = controller.metrics()
    assert 'nginx_ingress_controller_ingress_resources_total{class="nginx",type="regular"} 1.0' in (
        metrics
    )
    assert 'nginx_ingress_controller_nginx_reloads_total{class="nginx",reason="other"} 1.0' in (
        metrics
    ), "exactly one reload at start-up"


def test_no_endpoints_answers_502_and_an_endpoint_change_is_served(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    cluster, box, started = world
    cluster.seed([app_service("empty")])
    cluster.seed([ingress("shop", [rule("shop.example.com", path("/", "empty"))])])
    controller = start(box)
    assert answered_by(controller, "shop.example.com", "/") == "502"
    cluster.publish_endpoints(APP, "empty", ["127.0.0.1"], started["juice"].port)
    assert eventually(lambda: answered_by(controller, "shop.example.com", "/") == "juice")
    # Counted once the manager confirmed the reload, just after the new workers answer.
    assert eventually(lambda: 'reason="endpoints"} 1.0' in controller.metrics())


def test_edit_delete_and_a_broken_ingress_beside_good_ones(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    cluster, box, _ = world
    cluster.seed([ingress("good", [rule("good.example.com", path("/", "coffee"))])])
    controller = start(box)
    assert answered_by(controller, "good.example.com", "/") == "coffee"
    # An edit is served.
    cluster.seed([ingress("good", [rule("good.example.com", path("/", "tea"))])])
    assert eventually(lambda: answered_by(controller, "good.example.com", "/") == "tea")
    # A broken Ingress is rejected with an event naming the field; the good one serves on.
    cluster.seed([ingress("broken", [rule("broken.example.com", path("/a;b", "coffee"))])])
    assert eventually(lambda: bool(_events(cluster, "broken", "Rejected")))
    (rejected,) = _events(cluster, "broken", "Rejected")
    assert "spec.rules[0].http.paths[0].path" in rejected["message"]
    assert answered_by(controller, "good.example.com", "/") == "tea"
    assert answered_by(controller, "broken.example.com", "/a;b") == "404"
    # A half-valid Ingress is served without its bad annotation, with a Warning.
    cluster.seed(
        [
            ingress(
                "half",
                [rule("half.example.com", path("/", "juice"))],
                annotations={"nginx.org/proxy-read-timeout": "5 s"},
            )
        ]
    )
    assert eventually(lambda: answered_by(controller, "half.example.com", "/") == "juice")
    assert eventually(lambda: bool(_events(cluster, "half", "AddedOrUpdatedWithError")))
    # A deleted Ingress is gone.
    cluster.delete_object("Ingress", APP, "good")
    assert eventually(lambda: answered_by(controller, "good.example.com", "/") == "404")
    assert not (controller.conf_dir / "conf.d" / f"{APP}-good.conf").exists()
    assert len(_events(cluster, "good", "AddedOrUpdated")) == 2  # created, edited: no storm


def test_tls_with_sni_and_a_missing_secret(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    cluster, box, _ = world
    secure = make_certificate("secure.example.com")
    cluster.seed([secure.secret(APP, "secure-tls")])
    cluster.seed(
        [
            ingress(
                "secure",
                [rule("secure.example.com", path("/", "coffee"))],
                tls=[{"hosts": ["secure.example.com"], "secretName": "secure-tls"}],
            ),
            ingress(
                "nocert",
                [rule("nocert.example.com", path("/", "tea"))],
                tls=[{"hosts": ["nocert.example.com"], "secretName": "missing"}],
            ),
        ]
    )
    controller = start(box)
    assert tls_subject(controller, "secure.example.com") == str(secure.serial)
    assert tls_subject(controller, "nocert.example.com") is None  # handshake rejected
    assert tls_subject(controller, "other.example.com") is None  # the default server
    assert answered_by(controller, "secure.example.com", "/") == "301"  # ssl-redirect
    assert eventually(lambda: bool(_events(cluster, "nocert", "AddedOrUpdatedWithError")))
    (warning,) = _events(cluster, "nocert", "AddedOrUpdatedWithError")
    assert f"Secret {APP}/missing does not exist" in warning["message"]
    # The Secret appears: the host serves it.
    fixed = make_certificate("nocert.example.com")
    cluster.seed([fixed.secret(APP, "missing")])
    assert eventually(lambda: tls_subject(controller, "nocert.example.com") == str(fixed.serial))
    # A rotated certificate is served after one change.
    rotated = make_certificate("secure.example.com")
    cluster.seed([rotated.secret(APP, "secure-tls")])
    assert eventually(lambda: tls_subject(controller, "secure.example.com") == str(rotated.serial))


def test_host_collision_is_resolved_oldest_first(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    cluster, box, _ = world
    cluster.seed([ingress("b-first", [rule("same.example.com", path("/", "coffee"))])])
    controller = start(box)
    assert answered_by(controller, "same.example.com", "/") == "coffee"
    # Created later (its name sorts first, so only the timestamp can make it lose).
    _later_than(cluster, "b-first")
    cluster.seed([ingress("a-second", [rule("same.example.com", path("/", "tea"))])])
    assert eventually(lambda: bool(_events(cluster, "a-second", "Rejected")))
    (lost,) = _events(cluster, "a-second", "Rejected")
    assert f"older Ingress {APP}/b-first" in lost["message"]
    assert answered_by(controller, "same.example.com", "/") == "coffee"
    cluster.delete_object("Ingress", APP, "b-first")
    assert eventually(lambda: answered_by(controller, "same.example.com", "/") == "tea")


def _later_than(cluster: DevCluster, name: str) -> None:
    """Wait until the clock is past `name`'s creationTimestamp (second resolution)."""
    found = cluster.get_object("Ingress", APP, name)
    assert found is not None
    created = found["metadata"]["creationTimestamp"]
    assert eventually(
        lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") > created, 3
    )


def _events(cluster: DevCluster, name: str, reason: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cluster.objects("Event", APP)
        if e["involvedObject"]["name"] == name and e["reason"] == reason
    ]


def test_watch_namespace_and_the_default_class(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    """-watch-namespace limits what is served; an IngressClass marked default claims the
    Ingresses without a class; another class is ignored without a word."""
    cluster, box, _ = world
    cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}}])
    outside = ingress("outside", [rule("outside.example.com", path("/", "coffee"))])
    outside["metadata"]["namespace"] = "elsewhere"
    classless = ingress("classless", [rule("classless.example.com", path("/", "tea"))])
    del classless["spec"]["ingressClassName"]
    foreign = ingress("foreign", [rule("foreign.example.com", path("/", "tea"))])
    foreign["spec"]["ingressClassName"] = "someone-else"
    cluster.seed([outside, classless, foreign])
    controller = box.start("-watch-namespace=apps", plus=False)
    assert eventually(controller.ready, 30)
    assert answered_by(controller, "outside.example.com", "/") == "404"
    assert answered_by(controller, "classless.example.com", "/") == "404"
    cluster.seed(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {
                    "name": "nginx",
                    "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                },
                "spec": {"controller": "nginx.org/ingress-controller"},
            }
        ]
    )
    assert eventually(lambda: answered_by(controller, "classless.example.com", "/") == "tea")
    assert answered_by(controller, "outside.example.com", "/") == "404"
    assert answered_by(controller, "foreign.example.com", "/") == "404"
    assert not _events(cluster, "foreign", "Rejected") and not [
        e for e in cluster.objects("Event", "elsewhere") if e["involvedObject"]["name"] == "outside"
    ]


def test_the_controller_refuses_to_start_without_its_ingress_class(
    world: tuple[DevCluster, Harness, dict[str, Backend]],
) -> None:
    cluster, box, _ = world
    cluster.delete_object("IngressClass", "", "nginx")
    controller = box.start(plus=False)
    assert controller.process.wait(30) == 2
    assert "IngressClass 'nginx' does not exist" in controller.output()
