"""Upstream servers from EndpointSlices, as kube-proxy picks them."""

from __future__ import annotations

from typing import Any

import pytest

from nginx_ingress.generate.endpoints import resolve
from nginx_ingress.resources import BackendRef, EndpointSlice, Service

from ingress_objects import Raw, endpoint, endpoint_slice, service


def _servers(backend: BackendRef, svc: Raw | None, *slices: Raw) -> tuple[list[str], str | None]:
    resolved = resolve(
        backend,
        "default",
        None if svc is None else Service.from_object(svc),
        [EndpointSlice.from_object(s) for s in slices],
    )
    return [str(s) for s in resolved.servers], resolved.problem


HTTP = ({"name": "http", "port": 8080, "protocol": "TCP"},)
TEA = service("tea", {"name": "http", "port": 80, "targetPort": "web"})


def test_ready_endpoints_only() -> None:
    servers, problem = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice(
            "tea-1",
            "tea",
            endpoint("10.0.0.2"),
            endpoint("10.0.0.1", ready=None),  # nil means ready
            endpoint("10.0.0.3", ready=False),
            endpoint("10.0.0.4", ready=False, serving=True, terminating=True),
            ports=HTTP,
        ),
    )
    assert problem is None
    assert servers == ["10.0.0.1:8080", "10.0.0.2:8080"]


def test_serving_terminating_endpoints_when_none_is_ready() -> None:
    servers, problem = _servers(
        BackendRef("tea", None, "http"),
        TEA,
        endpoint_slice(
            "tea-1",
            "tea",
            endpoint("10.0.0.3", ready=False, serving=True, terminating=True),
            endpoint("10.0.0.4", ready=False, serving=False, terminating=True),  # not serving
            endpoint("10.0.0.5", ready=False, serving=True, terminating=False),  # not terminating
            ports=HTTP,
        ),
    )
    assert problem is None
    assert servers == ["10.0.0.3:8080"]


def test_no_ready_endpoint_is_no_server_and_no_problem() -> None:
    servers, problem = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice("tea-1", "tea", endpoint("10.0.0.3", ready=False), ports=HTTP),
    )
    assert servers == [] and problem is None
    assert _servers(BackendRef("tea", 80), TEA) == ([], None)


def test_named_target_ports_differ_per_slice() -> None:
    """During a rollout the same Service port targets different container ports."""
    servers, _ = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice("tea-old", "tea", endpoint("10.0.0.1"), ports=HTTP),
        endpoint_slice(
            "tea-new",
            "tea",
            endpoint("10.0.0.2"),
            ports=({"name": "http", "port": 9090, "protocol": "TCP"},),
        ),
    )
    assert servers == ["10.0.0.1:8080", "10.0.0.2:9090"]


def test_the_slice_port_is_found_by_the_service_port_name() -> None:
    two_ports = service("tea", {"name": "http", "port": 80}, {"name": "metrics", "port": 9100})
    slices = (
        endpoint_slice(
            "tea-1",
            "tea",
            endpoint("10.0.0.1"),
            ports=(
                {"name": "metrics", "port": 9100, "protocol": "TCP"},
                {"name": "http", "port": 8080, "protocol": "TCP"},
            ),
        ),
    )
    assert _servers(BackendRef("tea", 80), two_ports, *slices)[0] == ["10.0.0.1:8080"]
    assert _servers(BackendRef("tea", None, "metrics"), two_ports, *slices)[0] == ["10.0.0.1:9100"]


def test_unnamed_single_port() -> None:
    servers, _ = _servers(
        BackendRef("coffee", 80),
        service("coffee"),
        endpoint_slice("coffee-1", "coffee", endpoint("10.0.0.1")),
    )
    assert servers == ["10.0.0.1:8080"]


@pytest.mark.parametrize(
    "slice_port",
    [
        {"name": "http", "protocol": "TCP"},  # no port
        {"name": "http", "port": 0, "protocol": "TCP"},
        {"name": "http", "port": 70000, "protocol": "TCP"},
        {"name": "http", "port": 8080, "protocol": "UDP"},  # another protocol
        {"name": "other", "port": 8080, "protocol": "TCP"},
        {"name": "http", "port": "8080", "protocol": "TCP"},
    ],
)
def test_slices_without_a_usable_port_are_skipped(slice_port: dict[str, Any]) -> None:
    servers, problem = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice("bad", "tea", endpoint("10.0.0.9"), ports=(slice_port,)),
        endpoint_slice("good", "tea", endpoint("10.0.0.1"), ports=HTTP),
    )
    assert servers == ["10.0.0.1:8080"] and problem is None


def test_ipv6_is_bracketed_and_canonical() -> None:
    servers, _ = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice(
            "tea-v6",
            "tea",
            endpoint("FD00:0:0::1"),
            endpoint("fd00::1"),
            endpoint("10.0.0.1"),  # an IPv4 address in an IPv6 slice is skipped
            endpoint("fe80::1%eth0"),  # zones are never valid here
            ports=HTTP,
            address_type="IPv6",
        ),
        endpoint_slice("tea-v4", "tea", endpoint("10.0.0.2"), ports=HTTP),
    )
    # IPv4 before IPv6, each in numeric order.
    assert servers == ["10.0.0.2:8080", "[fd00::1]:8080"]


def test_fqdn_slices_and_odd_addresses_are_skipped() -> None:
    servers, _ = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice(
            "tea-fqdn", "tea", endpoint("db.example.com"), ports=HTTP, address_type="FQDN"
        ),
        endpoint_slice(
            "tea-v4",
            "tea",
            endpoint("db.example.com"),
            endpoint("010.0.0.1"),
            endpoint("10.0.0.1/32"),
            endpoint("١٠.0.0.1"),
            endpoint("10.0.0.1;"),
            endpoint(" 10.0.0.1"),
            endpoint("10.0.0.7"),
            ports=HTTP,
        ),
        endpoint_slice("tea-odd", "tea", endpoint("10.0.0.8"), ports=HTTP, address_type="ipv4"),
    )
    assert servers == ["10.0.0.7:8080"]


def test_servers_are_deduplicated_and_sorted_numerically() -> None:
    addresses = ["10.0.0.10", "10.0.0.9", "10.0.0.10", "9.0.0.1", "10.0.0.9"]
    servers, _ = _servers(
        BackendRef("tea", 80),
        TEA,
        endpoint_slice("b", "tea", *(endpoint(a) for a in addresses), ports=HTTP),
        endpoint_slice("a", "tea", endpoint("10.0.0.9"), ports=HTTP),
    )
    assert servers == ["9.0.0.1:8080", "10.0.0.9:8080", "10.0.0.10:8080"]


def test_slice_order_does_not_matter() -> None:
    one = endpoint_slice("a", "tea", endpoint("10.0.0.2"), endpoint("10.0.0.1"), ports=HTTP)
    two = endpoint_slice("b", "tea", endpoint("fd00::1"), ports=HTTP, address_type="IPv6")
    assert _servers(BackendRef("tea", 80), TEA, one, two) == _servers(
        BackendRef("tea", 80), TEA, two, one
    )


def test_missing_service() -> None:
    assert _servers(BackendRef("tea", 80), None) == ([], "Service default/tea not found")


def test_missing_port() -> None:
    slices = endpoint_slice("tea-1", "tea", endpoint("10.0.0.1"), ports=HTTP)
    assert _servers(BackendRef("tea", 81), TEA, slices) == (
        [],
        "Service default/tea has no port 81",
    )
    assert _servers(BackendRef("tea", None, "grpc"), TEA, slices) == (
        [],
        "Service default/tea has no port grpc",
    )


def test_external_name_services_are_refused_with_a_reason() -> None:
    external = service("tea", {"name": "http", "port": 80}, kind="ExternalName")
    servers, problem = _servers(
        BackendRef("tea", 80),
        external,
        endpoint_slice("tea-1", "tea", endpoint("10.0.0.1"), ports=HTTP),
    )
    assert servers == []
    assert problem == "Service default/tea is an ExternalName Service, which is not supported"


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer", "ClusterIP", None])
def test_other_service_types_route_to_endpoints(kind: str | None) -> None:
    servers, _ = _servers(
        BackendRef("tea", 80),
        service("tea", {"name": "http", "port": 80}, kind=kind),
        endpoint_slice("tea-1", "tea", endpoint("10.0.0.1"), ports=HTTP),
    )
    assert servers == ["10.0.0.1:8080"]
