"""Watches through the official client's `Watch`, its `SharedInformer`, and raw HTTP."""

from __future__ import annotations

import http.client
import json
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, informer, watch
from kubernetes.client.exceptions import ApiException

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import api_client_for, stop_informer
from nginx_ingress_dev.devcluster.selectors import ObjectFilter, parse_label_selector
from nginx_ingress_dev.devcluster.watch import translate

# The client's watch and informer modules carry no type hints.
Watch: Any = watch.Watch
SharedInformer: Any = informer.SharedInformer


def _configmap(name: str, labels: dict[str, str] | None = None, data: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"v": data}}


def _take(events: Iterator[dict[str, Any]], count: int, stream: Any) -> list[tuple[str, str]]:
    """The first `count` events as (type, name), then stop the stream."""
    seen: list[tuple[str, str]] = []
    for event in events:
        seen.append((event["type"], event["raw_object"]["metadata"].get("name", "")))
        if len(seen) == count:
            stream.stop()
    return seen


def test_watch_from_list_resource_version_sees_selector_transitions(core: Any) -> None:
    """API concepts (watch with label selectors): from a list's resourceVersion the watch
    replays later changes; an object moving into the selector arrives as ADDED, out of
    it as DELETED, and changes outside it are not seen."""
    core.create_namespaced_config_map("default", _configmap("web-1", {"app": "web"}))
    core.create_namespaced_config_map("default", _configmap("db-1", {"app": "db"}))
    listed = core.list_namespaced_config_map("default", label_selector="app=web")
    assert [c.metadata.name for c in listed.items] == ["web-1"]

    core.patch_namespaced_config_map("db-1", "default", {"data": {"v": "2"}})  # invisible
    core.patch_namespaced_config_map("db-1", "default", {"metadata": {"labels": {"app": "web"}}})
    core.patch_namespaced_config_map("web-1", "default", {"data": {"v": "2"}})
    core.patch_namespaced_config_map("web-1", "default", {"metadata": {"labels": {"app": "old"}}})
    core.create_namespaced_config_map("default", _configmap("web-2", {"app": "web"}))
    core.delete_namespaced_config_map("web-2", "default")

    stream = Watch()
    events = _take(
        stream.stream(
            core.list_namespaced_config_map,
            "default",
            label_selector="app=web",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=10,
        ),
        5,
        stream,
    )
    assert events == [
        ("ADDED", "db-1"),
        ("MODIFIED", "web-1"),
        ("DELETED", "web-1"),
        ("ADDED", "web-2"),
        ("DELETED", "web-2"),
    ]


def test_watch_without_resource_version_starts_with_synthetic_added(core: Any) -> None:
    """API concepts: a watch with resourceVersion unset or "0" first sends ADDED for
    every current object."""
    for name in ("a", "b"):
        core.create_namespaced_config_map("default", _configmap(name))
    for version in (None, "0"):
        stream = Watch()
        kwargs = {"timeout_seconds": 10} | ({"resource_version": version} if version else {})
        events = _take(
            stream.stream(core.list_namespaced_config_map, "default", **kwargs), 2, stream
        )
        assert events == [("ADDED", "a"), ("ADDED", "b")]


def test_live_events_reach_an_open_watch(core: Any, dev_cluster: DevCluster) -> None:
    received: queue.Queue[tuple[str, str]] = queue.Queue()
    stream = Watch()
    listed = core.list_namespaced_config_map("default")

    def consume() -> None:
        for event in stream.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version,
            field_selector="metadata.name=live",
            timeout_seconds=30,
        ):
            received.put((event["type"], event["object"].metadata.name))

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        assert dev_cluster.wait_for_watchers("configmaps")
        core.create_namespaced_config_map("default", _configmap("other"))
        core.create_namespaced_config_map("default", _configmap("live"))
        core.patch_namespaced_config_map("live", "default", {"data": {"v": "2"}})
        assert received.get(timeout=10) == ("ADDED", "live")
        assert received.get(timeout=10) == ("MODIFIED", "live")
    finally:
        # The server ends the stream; with timeout_seconds set the client does not resume.
        dev_cluster.drop_watches()
        consumer.join(timeout=10)
    assert not consumer.is_alive()


def test_bookmarks_carry_the_current_resource_version(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """API concepts (watch bookmarks): with allowWatchBookmarks the server sends BOOKMARK
    events whose object only carries metadata.resourceVersion, so a client can resume
    after changes it did not select."""
    cluster = dev_cluster_factory(bookmark_interval=0.05)
    with api_client_for(cluster) as api:
        core: Any = client.CoreV1Api(api)
        core.create_namespaced_config_map("default", _configmap("watched", {"app": "x"}))
        core.create_namespaced_config_map("default", _configmap("unrelated"))
        stream = Watch()
        for event in stream.stream(
            core.list_namespaced_config_map,
            "default",
            label_selector="app=x",
            allow_watch_bookmarks=True,
            timeout_seconds=10,
        ):
            if event["type"] == "BOOKMARK":
                stream.stop()
                bookmark = event["raw_object"]
        assert bookmark["kind"] == "ConfigMap"
        assert bookmark["metadata"]["resourceVersion"] == str(cluster.store.resource_version)
        assert stream.resource_version == str(cluster.store.resource_version)


def test_watch_ends_after_timeout_seconds(core: Any) -> None:
    """API concepts: timeoutSeconds ends the watch; the client's Watch does not retry
    when a timeout was given."""
    stream = Watch()
    events = list(stream.stream(core.list_namespaced_config_map, "default", timeout_seconds=1))
    assert events == []


def test_watch_from_a_compacted_resource_version_is_410_but_current_stays_watchable(
    core: Any, dev_cluster: DevCluster
) -> None:
    """API concepts (efficient detection of changes): a watch from a compacted
    resourceVersion gets an ERROR event with 410 Expired; a watch from the current
    resourceVersion still works (otherwise informers re-list forever)."""
    old = core.create_namespaced_config_map("default", _configmap("a")).metadata.resource_version
    core.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})
    current = str(dev_cluster.compact())

    with pytest.raises(ApiException) as caught:
        list(
            Watch().stream(
                core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=5
            )
        )
    assert caught.value.status == 410
    assert caught.value.reason is not None
    assert caught.value.reason.startswith("Expired: too old resource version")

    core.create_namespaced_config_map("default", _configmap("after"))
    stream = Watch()
    events = _take(
        stream.stream(
            core.list_namespaced_config_map, "default", resource_version=current, timeout_seconds=10
        ),
        1,
        stream,
    )
    assert events == [("ADDED", "after")]


def test_informer_relists_after_410(core: Any, dev_cluster: DevCluster) -> None:
    """The official SharedInformer re-lists when its watch resumes from a compacted
    resourceVersion (410), and its cache then holds what changed in the gap."""
    core.create_namespaced_config_map("default", _configmap("before"))
    added: dict[str, threading.Event] = {"before": threading.Event(), "gap": threading.Event()}
    errors: list[int] = []
    shared = SharedInformer(list_func=core.list_namespaced_config_map, namespace="default")
    shared.add_event_handler(
        informer.ADDED, lambda obj: added.get(obj.metadata.name, threading.Event()).set()
    )
    shared.add_event_handler(
        informer.ERROR, lambda error: errors.append(getattr(error, "status", 0))
    )
    shared.start()
    try:
        assert added["before"].wait(10)
        assert dev_cluster.wait_for_watchers("configmaps")
        # Hold the informer's reconnect in the server while the gap happens: its next
        # watch asks for a resourceVersion that compaction has removed.
        dev_cluster.inject(
            "/api/v1/namespaces/default/configmaps", status=None, latency=0.5, times=1
        )
        dev_cluster.drop_watches()
        dev_cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gap"}}])
        dev_cluster.compact()
        assert added["gap"].wait(10)
        assert 410 in errors
        assert {obj.metadata.name for obj in shared.cache.list()} == {"before", "gap"}
    finally:
        stop_informer(shared, dev_cluster)


@pytest.mark.parametrize("spelling", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_boolean_spellings_start_a_chunked_watch(dev_cluster: DevCluster, spelling: str) -> None:
    """Query flags are read like Go's strconv.ParseBool (clients differ in spelling),
    and watch responses are chunked with Content-Type application/json."""
    dev_cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seen"}}])
    connection = http.client.HTTPConnection("127.0.0.1", dev_cluster.port, timeout=10)
    try:
        connection.request("GET", f"/api/v1/namespaces/default/configmaps?watch={spelling}")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "application/json"
        assert response.getheader("Transfer-Encoding") == "chunked"
        event = json.loads(response.readline())
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "seen")
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("spelling", "status"), [("0", 200), ("f", 200), ("False", 200), ("yes", 400)]
)
def test_go_boolean_false_lists_and_garbage_is_400(
    dev_cluster: DevCluster, spelling: str, status: int
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", dev_cluster.port, timeout=10)
    try:
        connection.request("GET", f"/api/v1/namespaces/default/configmaps?watch={spelling}")
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == status
        assert body["kind"] == ("ConfigMapList" if status == 200 else "Status")
    finally:
        connection.close()


def test_a_watcher_that_does_not_read_is_dropped(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """Bounded queues: a watcher whose queue fills is closed instead of growing memory."""
    cluster = dev_cluster_factory(watch_queue_size=3)
    configmaps = cluster.store.resources.find("configmaps")
    start = cluster.store.watch(configmaps, "default", None, ObjectFilter())
    for index in range(5):
        cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{index}"}}])
    assert start.watcher.closed
    assert "did not read" in start.watcher.close_reason
    assert not cluster.wait_for_watchers("configmaps", timeout=0)


def test_selector_transitions_in_translation() -> None:
    """The DELETED event for an object leaving the selector carries its previous labels."""
    cluster = DevCluster()
    configmaps = cluster.store.resources.find("configmaps")
    store = cluster.store
    selector = ObjectFilter(parse_label_selector("app=web"))
    start = store.watch(configmaps, "default", str(store.resource_version), selector)
    cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "labels": {"app": "web"}},
            }
        ]
    )
    cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "labels": {"app": "db"}},
            }
        ]
    )
    first = start.watcher.next(1)
    second = start.watcher.next(1)
    assert first is not None
    assert second is not None
    added, deleted = translate(first, selector), translate(second, selector)
    assert added is not None
    assert added.type == "ADDED"
    assert deleted is not None
    assert deleted.type == "DELETED"
    gone = json.loads(deleted.raw_object)
    assert gone["metadata"]["labels"] == {"app": "web"}
    assert gone["metadata"]["resourceVersion"] == str(store.resource_version)
    store.unwatch(start.watcher)


def test_send_initial_events_ends_with_the_initial_events_end_bookmark(
    dev_cluster: DevCluster,
) -> None:
    """API concepts (streaming lists): with sendInitialEvents=true the initial ADDED events
    are followed by a BOOKMARK annotated k8s.io/initial-events-end."""
    dev_cluster.seed([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first"}}])
    connection = http.client.HTTPConnection("127.0.0.1", dev_cluster.port, timeout=10)
    try:
        connection.request(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true"
            "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
        )
        response = connection.getresponse()
        added = json.loads(response.readline())
        end = json.loads(response.readline())
        assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "first")
        assert end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert end["object"]["metadata"]["resourceVersion"] == str(
            dev_cluster.store.resource_version
        )
    finally:
        connection.close()
