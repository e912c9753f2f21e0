"""The views the status reporter reads (Ingress status, the external Service, the pods)
and what it writes back: pure functions, hostile shapes included."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest

from nginx_ingress.controller.ingress_status import (
    AlwaysLeader,
    IngressStatusReporter,
    configured_addresses,
)
from nginx_ingress.kube.api import KubeApi
from nginx_ingress.resources.status import (
    IngressStatus,
    LoadBalancerIngress,
    PodAddress,
    load_balancer_of,
    pod_addresses,
    service_addresses,
)
from nginx_ingress.values import HostKind, HostPort

IP = LoadBalancerIngress(ip="192.0.2.10")
NAME = LoadBalancerIngress(hostname="lb.example.com")


def ingress(status: Any = None, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"namespace": "apps", "name": "cafe", "resourceVersion": "42", **metadata},
        "spec": {"ingressClassName": "nginx"},
    }
    if status is not None:
        obj["status"] = status
    return obj


def test_an_ingress_status_view_reads_the_addresses_and_keeps_the_object_for_the_write() -> None:
    obj = ingress(
        {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.com"}]}},
        labels={"team": "coffee"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        managedFields=[{"manager": "kubectl"}],
    )
    view = IngressStatus.from_object(obj)
    assert (view.key, view.resource_version) == ("apps/cafe", "42")
    assert view.load_balancer == (IP, NAME)
    written = view.with_load_balancer([LoadBalancerIngress(ip="198.51.100.1")])
    # Metadata as read (labels and annotations are kept by the write), but not managedFields.
    assert written["metadata"]["labels"] == {"team": "coffee"}
    assert "last-applied-configuration" in str(written["metadata"]["annotations"])
    assert "managedFields" not in written["metadata"]
    assert written["metadata"]["resourceVersion"] == "42"
    assert written["status"] == {"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}]}}
    assert view.with_load_balancer([])["status"] == {"loadBalancer": {}}
    assert obj["metadata"]["managedFields"] == [{"manager": "kubectl"}]  # input untouched


@pytest.mark.parametrize(
    "status",
    [
        None,
        "nonsense",
        {"loadBalancer": None},
        {"loadBalancer": {"ingress": "192.0.2.1"}},
        {"loadBalancer": {"ingress": [None, 5, "x"]}},
        {"loadBalancer": {"ingress": [{"ip": 5, "hostname": ["a"]}]}},
    ],
)
def test_a_status_of_any_shape_is_read_without_raising(status: Any) -> None:
    view = IngressStatus.from_object(ingress(status))
    assert all(isinstance(e, LoadBalancerIngress) for e in view.load_balancer)
    assert view.with_load_balancer([IP])["status"]["loadBalancer"] == {
        "ingress": [{"ip": "192.0.2.10"}]
    }


def test_an_entry_with_fields_we_never_write_differs_from_ours() -> None:
    (entry,) = load_balancer_of(
        {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ports": [{"port": 80}]}]}}
    )
    assert entry != IP and entry.ip == IP.ip and "80" in entry.extra


def test_a_write_keeps_the_other_status_fields() -> None:
    view = IngressStatus.from_object(ingress({"loadBalancer": {}, "conditions": [{"type": "X"}]}))
    assert view.with_load_balancer([IP])["status"]["conditions"] == [{"type": "X"}]


def service(**parts: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "nginx-ingress", "name": "edge"}, **parts}


def test_a_load_balancer_service_reports_its_ips_then_hostnames_then_external_ips() -> None:
    obj = service(
        spec={"type": "LoadBalancer", "externalIPs": ["203.0.113.5", "192.0.2.10"]},
        status={
            "loadBalancer": {
                "ingress": [
                    {"ip": "192.0.2.10", "hostname": "ignored.example.com"},
                    {"hostname": "lb.example.com"},
                    {"ip": "2001:db8::1"},
                ]
            }
        },
    )
    assert service_addresses(obj) == (
        IP,
        NAME,
        LoadBalancerIngress(ip="2001:db8::1"),
        LoadBalancerIngress(ip="203.0.113.5"),
    )


def test_an_external_name_service_reports_its_name_and_a_pending_one_nothing() -> None:
    external = service(spec={"type": "ExternalName", "externalName": "lb.example.com"})
    assert service_addresses(external) == (NAME,)
    assert service_addresses(service(spec={"type": "LoadBalancer"}, status={})) == ()
    assert service_addresses(service(spec="nonsense", status=7)) == ()


def pod(name: str, host: str, labels: dict[str, str], **extra: Any) -> PodAddress:
    metadata = {"namespace": "nginx-ingress", "name": name, "labels": labels}
    metadata.update(extra.pop("metadata", {}))
    return PodAddress.from_object(
        {"metadata": metadata, "status": {"hostIP": host, **extra.get("status", {})}}
    )


def test_pod_addresses_are_the_nodes_of_the_running_pods_the_selector_matches() -> None:
    mine = {"app": "edge"}
    pods = [
        pod("a", "10.0.0.2", {**mine, "pod-template-hash": "1"}),
        pod("b", "10.0.0.1", {**mine, "pod-template-hash": "2"}),
        pod("c", "10.0.0.2", mine),  # same node: reported once
        pod("d", "10.0.0.9", {"app": "other"}),
        pod("e", "10.0.0.8", mine, status={"phase": "Succeeded"}),
        pod("f", "10.0.0.7", mine, metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"}),
        pod("g", "", mine),  # not scheduled yet
    ]
    assert pod_addresses(pods, mine) == (
        LoadBalancerIngress(ip="10.0.0.1"),
        LoadBalancerIngress(ip="10.0.0.2"),
    )


def test_configmap_addresses_become_ips_and_hostnames() -> None:
    hosts = [
        HostPort("192.0.2.10", HostKind.IPV4),
        HostPort("2001:db8::1", HostKind.IPV6),
        HostPort("lb.example.com", HostKind.DNS),
    ]
    assert configured_addresses(hosts) == (IP, LoadBalancerIngress(ip="2001:db8::1"), NAME)


class _NoMetrics:
    def status_update(self, result: str) -> None:
        raise AssertionError(f"nothing is written here ({result})")


def test_a_sync_looks_at_the_address_source_again_only_when_the_configmap_moved() -> None:
    """The source reports its own changes; after each sync only the ConfigMap's addresses
    can have moved (with the pods as source, a look copies and scans every pod)."""
    reporter = IngressStatusReporter(
        cast(KubeApi, object()),  # never started: nothing reaches the API
        leadership=AlwaysLeader(),
        metrics=_NoMetrics(),
        namespace="nginx-ingress",
        pod_name="nginx-ingress-0",
    )
    looks: list[tuple[LoadBalancerIngress, ...]] = []

    def addresses(configured: tuple[LoadBalancerIngress, ...]) -> tuple[LoadBalancerIngress, ...]:
        looks.append(configured)
        return configured or (NAME,)

    reporter._source.addresses = addresses  # type: ignore[method-assign]
    reporter.observe([], [])
    reporter.observe([], [])
    assert looks == [()]
    reporter.observe([], [HostPort("192.0.2.10", HostKind.IPV4)])
    reporter.observe([], [HostPort("192.0.2.10", HostKind.IPV4)])
    assert looks == [(), (IP,)]
    reporter.observe([], [])
    assert looks == [(), (IP,), ()]


def test_views_are_plain_data_the_reflector_can_compare() -> None:
    one = IngressStatus.from_object(ingress({"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}))
    same = IngressStatus.from_object(orjson.loads(orjson.dumps(ingress(
        {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    ))))  # fmt: skip
    assert one == same
    assert one != IngressStatus.from_object(ingress(None))
