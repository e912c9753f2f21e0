"""EndpointSlices from the nginx-ingress.dev/endpoints annotation: what the annotation takes,
and the managed slices following it."""

from __future__ import annotations

from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.localrun.endpoints import (
    ENDPOINTS_ANNOTATION,
    EndpointStandIn,
    LocalAddress,
    parse_addresses,
)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("127.0.0.1:9081", ["127.0.0.1:9081"]),
        (" 127.0.0.1:9082, 127.0.0.1:9081 127.0.0.1:9081 ", ["127.0.0.1:9081", "127.0.0.1:9082"]),
        ("[::1]:80", ["[::1]:80"]),
        ("10.0.0.5:65535", ["10.0.0.5:65535"]),
    ],
)
def test_addresses_are_read(text: str, expected: list[str]) -> None:
    assert [str(a) for a in parse_addresses(text)] == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "no address"),
        ("localhost:80", "'localhost:80' is not IP:PORT"),
        ("127.0.0.1", "'127.0.0.1' is not IP:PORT"),
        ("::1:80", "'::1:80' is not IP:PORT"),
        ("[127.0.0.1]:80", "'[127.0.0.1]:80' is not IP:PORT"),
        ("127.0.0.1:0", "the port must be from 1 to 65535"),
        ("127.0.0.1:70000", "the port must be from 1 to 65535"),
        ("127.0.0.1:80;drop", "is not IP:PORT"),
    ],
)
def test_other_values_are_refused_with_the_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_addresses(text)


def _service(cluster: DevCluster, annotation: str | None, **spec: Any) -> None:
    annotations = {} if annotation is None else {ENDPOINTS_ANNOTATION: annotation}
    cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
                "spec": {
                    "selector": {"app": "web"},
                    "ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 81}],
                    **spec,
                },
            }
        ]
    )


def _slices(cluster: DevCluster) -> dict[str, dict[str, Any]]:
    return {s["metadata"]["name"]: s for s in cluster.objects("EndpointSlice", "shop")}


def test_the_slices_follow_the_annotation() -> None:
    cluster = DevCluster()
    stand_in = EndpointStandIn(cluster.store)
    _service(cluster, "127.0.0.1:9081, 127.0.0.2:9081, [::1]:9082")
    assert stand_in.reconcile() == [
        "EndpointSlice shop/web-local-9081: 127.0.0.1:9081, 127.0.0.2:9081 (Service shop/web)",
        "EndpointSlice shop/web-local6-9082: [::1]:9082 (Service shop/web)",
    ]
    slices = _slices(cluster)
    ipv4 = slices["web-local-9081"]
    assert ipv4["addressType"] == "IPv4"
    assert ipv4["ports"] == [
        {"name": "http", "port": 9081, "protocol": "TCP"},
        {"name": "admin", "port": 9081, "protocol": "TCP"},
    ]
    assert [e["addresses"] for e in ipv4["endpoints"]] == [["127.0.0.1"], ["127.0.0.2"]]
    assert ipv4["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    service = cluster.get_object("Service", "shop", "web")
    assert service is not None
    assert ipv4["metadata"]["ownerReferences"][0]["uid"] == service["metadata"]["uid"]
    assert stand_in.addresses == {
        "shop/web": (LocalAddress("127.0.0.1", 9081), LocalAddress("127.0.0.2", 9081),
                     LocalAddress("::1", 9082)),
    }  # fmt: skip

    before = cluster.store.resource_version
    assert stand_in.reconcile() == []  # in place: nothing written
    assert cluster.store.resource_version == before

    _service(cluster, "127.0.0.1:9090")
    assert stand_in.reconcile() == [
        "EndpointSlice shop/web-local-9081 deleted: no Service lists it any more",
        "EndpointSlice shop/web-local6-9082 deleted: no Service lists it any more",
        "EndpointSlice shop/web-local-9090: 127.0.0.1:9090 (Service shop/web)",
    ]
    _service(cluster, None)
    stand_in.reconcile()
    assert _slices(cluster) == {}


def test_a_bad_value_is_said_once_and_publishes_nothing() -> None:
    cluster = DevCluster()
    stand_in = EndpointStandIn(cluster.store)
    _service(cluster, "localhost:9081")
    assert stand_in.reconcile() == [
        "warning: Service shop/web: nginx-ingress.dev/endpoints: 'localhost:9081' is not "
        "IP:PORT (an address such as 127.0.0.1:9081); no endpoints published"
    ]
    assert stand_in.reconcile() == []
    assert _slices(cluster) == {}


def test_a_service_whose_selector_matches_a_pod_keeps_to_its_pods() -> None:
    cluster = DevCluster()
    stand_in = EndpointStandIn(cluster.store)
    cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web"}]},
            }
        ]
    )
    _service(cluster, "127.0.0.1:9081")
    (line,) = stand_in.reconcile()
    assert line.startswith("warning: Service shop/web: its selector matches pod web-1")
    assert _slices(cluster) == {}


def test_slices_written_by_others_are_never_touched() -> None:
    cluster = DevCluster()
    cluster.publish_endpoints("shop", "other", ["10.0.0.1"], 80)
    EndpointStandIn(cluster.store).reconcile()
    assert set(_slices(cluster)) == {"other-devcluster"}
