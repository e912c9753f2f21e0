"""Label and field selectors (parsed and over HTTP) and limit/continue pagination."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster import BadRequest, DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import status_body
from nginx_ingress_dev.devcluster.resources import DEFAULT_RESOURCES
from nginx_ingress_dev.devcluster.selectors import parse_field_selector, parse_label_selector

LABELS = {"app": "web", "tier": "front", "version": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=db", True),
        ("missing!=x", True),  # != matches objects without the label
        ("app in (web,db)", True),
        ("app in (db)", False),
        ("app notin (db, cache)", True),
        ("missing notin (x)", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("app=web,tier=front", True),
        ("app=web, tier in (back)", False),
        ("version>2", True),
        ("version<3", False),
        ("empty=", False),
    ],
)
def test_label_selector_semantics(selector: str, matches: bool) -> None:
    """Labels and selectors (Kubernetes concepts): equality-based and set-based
    requirements, comma meaning AND; `!=` and `notin` match objects without the key."""
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app in (web", "app=we b", "=web", "app in web", "a=b)"])
def test_malformed_label_selectors_are_bad_requests(selector: str) -> None:
    with pytest.raises(BadRequest):
        parse_label_selector(selector)


def test_field_selectors_know_each_kinds_fields() -> None:
    secrets = DEFAULT_RESOURCES.find("secrets")
    tls = parse_field_selector("type=kubernetes.io/tls,metadata.name!=x", secrets)
    assert tls.matches({"metadata": {"name": "cert"}, "type": "kubernetes.io/tls"})
    assert not tls.matches({"metadata": {"name": "cert"}, "type": "Opaque"})
    with pytest.raises(BadRequest):
        parse_field_selector("spec.unknown=1", secrets)


def _seed_configmaps(cluster: DevCluster, count: int, namespace: str = "default") -> None:
    cluster.seed(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"cm-{index:03d}",
                "namespace": namespace,
                "labels": {"parity": "even" if index % 2 == 0 else "odd"},
            },
        }
        for index in range(count)
    )


def test_label_and_field_selectors_over_http(core: Any, dev_cluster: DevCluster) -> None:
    _seed_configmaps(dev_cluster, 6)
    odd = core.list_namespaced_config_map("default", label_selector="parity=odd")
    assert [c.metadata.name for c in odd.items] == ["cm-001", "cm-003", "cm-005"]
    either = core.list_namespaced_config_map(
        "default", label_selector="parity in (odd,even),parity!=odd"
    )
    assert [c.metadata.name for c in either.items] == ["cm-000", "cm-002", "cm-004"]
    by_name = core.list_namespaced_config_map("default", field_selector="metadata.name=cm-004")
    assert [c.metadata.name for c in by_name.items] == ["cm-004"]
    by_namespace = core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace!=default"
    )
    assert by_namespace.items == []


def test_unknown_field_selector_is_400(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map("default", field_selector="data.key=1")
    assert caught.value.status == 400
    assert status_body(caught.value)["reason"] == "BadRequest"


def test_event_field_selectors(core: Any) -> None:
    for name, kind in (("web", "Ingress"), ("db", "Service")):
        core.create_namespaced_event(
            "default",
            {
                "metadata": {"generateName": f"{name}."},
                "involvedObject": {"kind": kind, "name": name, "namespace": "default"},
                "reason": "Synced",
                "type": "Normal",
            },
        )
    found = core.list_namespaced_event(
        "default", field_selector="involvedObject.kind=Ingress,involvedObject.name=web"
    )
    assert [e.involved_object.name for e in found.items] == ["web"]


def test_pagination_walks_every_object_once(core: Any, dev_cluster: DevCluster) -> None:
    """API concepts (retrieving large results in chunks): limit returns at most that
    many items plus a continue token; following it yields the rest exactly once, with
    the first page's resourceVersion; remainingItemCount counts what is left."""
    _seed_configmaps(dev_cluster, 25)
    first = core.list_namespaced_config_map("default", limit=10)
    assert len(first.items) == 10
    assert first.metadata.remaining_item_count == 15
    names = [c.metadata.name for c in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_config_map("default", limit=10, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        names.extend(c.metadata.name for c in page.items)
        token = page.metadata._continue
    assert names == [f"cm-{index:03d}" for index in range(25)]


def test_pagination_with_a_selector_and_across_namespaces(
    core: Any, dev_cluster: DevCluster
) -> None:
    _seed_configmaps(dev_cluster, 7)
    _seed_configmaps(dev_cluster, 4, namespace="kube-system")
    names: list[tuple[str, str]] = []
    token = None
    while True:
        page = core.list_config_map_for_all_namespaces(
            label_selector="parity=even", limit=3, _continue=token
        )
        names.extend((c.metadata.namespace, c.metadata.name) for c in page.items)
        token = page.metadata._continue
        if not token:
            break
    assert names == [("default", f"cm-{i:03d}") for i in (0, 2, 4, 6)] + [
        ("kube-system", f"cm-{i:03d}") for i in (0, 2)
    ]


def test_continue_token_past_compaction_is_410(core: Any, dev_cluster: DevCluster) -> None:
    """API concepts: a continue token whose resourceVersion was compacted is 410 Expired."""
    _seed_configmaps(dev_cluster, 3)
    first = core.list_namespaced_config_map("default", limit=1)
    dev_cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}}])
    dev_cluster.compact()
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map("default", limit=1, _continue=first.metadata._continue)
    assert caught.value.status == 410
    assert status_body(caught.value)["reason"] == "Expired"
