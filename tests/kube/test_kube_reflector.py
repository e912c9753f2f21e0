"""The reflector against the local API server over HTTP: list, watch, 410, backoff, silence."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from nginx_ingress.kube.api import CONFIGMAPS, SERVICES, KubeApi, Object
from nginx_ingress.kube.reflector import Backoff, Reflector, WatchTiming
from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.pytest_plugin import api_client_for

FAST = WatchTiming(
    min_watch=30, max_watch=60, silence=5.0, page_size=50, backoff_initial=0.05, backoff_cap=0.2
)


def configmap(name: str, value: str = "1", namespace: str = "default") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"v": value},
    }


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def api(dev_cluster: DevCluster) -> KubeApi:
    return KubeApi(api_client_for(dev_cluster), timeout=5)


@pytest.fixture
def changes() -> list[float]:
    return []


@pytest.fixture
def reflector(api: KubeApi, changes: list[float]) -> Iterator[Reflector[Object]]:
    created: Reflector[Object] = Reflector(
        api,
        CONFIGMAPS,
        namespace="default",
        on_change=lambda _keys: changes.append(time.monotonic()),
        timing=FAST,
    )
    yield created
    created.stop()


def test_list_then_watch_keeps_the_cache_current(
    dev_cluster: DevCluster, api: KubeApi, reflector: Reflector[Object]
) -> None:
    dev_cluster.seed([configmap("a"), configmap("b")])
    reflector.start()
    assert reflector.synced.wait(5)
    assert sorted(reflector.snapshot()) == ["default/a", "default/b"]
    assert dev_cluster.wait_for_watchers("configmaps")
    api.create(CONFIGMAPS, configmap("c"), "default")
    api.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, namespace="default")
    api.delete(CONFIGMAPS, "b", "default")
    assert eventually(lambda: sorted(reflector.snapshot()) == ["default/a", "default/c"])
    assert eventually(lambda: (reflector.get("default/a") or {}).get("data") == {"v": "2"})


def test_the_snapshot_is_immutable_and_detached(
    dev_cluster: DevCluster, api: KubeApi, reflector: Reflector[Object]
) -> None:
    dev_cluster.seed([configmap("a")])
    reflector.start()
    assert reflector.synced.wait(5)
    snapshot = reflector.snapshot()
    with pytest.raises(TypeError):
        snapshot["x"] = {}  # type: ignore[index]
    assert dev_cluster.wait_for_watchers("configmaps")
    api.delete(CONFIGMAPS, "a", "default")
    assert eventually(lambda: not reflector.snapshot())
    assert "default/a" in snapshot


def test_a_field_selector_follows_one_object(dev_cluster: DevCluster, api: KubeApi) -> None:
    dev_cluster.seed([configmap("wanted"), configmap("other")])
    one: Reflector[Object] = Reflector(
        api, CONFIGMAPS, namespace="default", field_selector="metadata.name=wanted", timing=FAST
    )
    one.start()
    try:
        assert one.synced.wait(5)
        assert list(one.snapshot()) == ["default/wanted"]
    finally:
        one.stop()


def test_lists_are_paged(dev_cluster: DevCluster, reflector: Reflector[Object]) -> None:
    dev_cluster.seed([configmap(f"cm-{n:03}") for n in range(120)])
    reflector.start()
    assert reflector.synced.wait(10)
    assert len(reflector.snapshot()) == 120
    lists = [r for r in dev_cluster.request_log if r.verb == "list" and "configmaps" in r.path]
    assert len(lists) == 3 and all("limit=50" in r.query for r in lists)


def test_a_delete_during_a_compacted_gap_is_seen(
    dev_cluster: DevCluster, reflector: Reflector[Object]
) -> None:
    """API concepts, efficient detection of changes: a watch from a resourceVersion that is
    too old gets 410 Gone; the client must list again. A reflector that only re-watched
    would keep the deleted object for ever."""
    dev_cluster.seed([configmap("stays"), configmap("goes")])
    reflector.start()
    assert reflector.synced.wait(5)
    assert dev_cluster.wait_for_watchers("configmaps")
    dev_cluster.inject("/api/v1/namespaces/default/configmaps", 500, method="GET")
    dev_cluster.drop_watches()
    dev_cluster.delete_object("configmaps", "default", "goes")
    dev_cluster.seed([configmap("new")])
    dev_cluster.compact()
    dev_cluster.clear_faults()
    assert eventually(lambda: sorted(reflector.snapshot()) == ["default/new", "default/stays"])
    # The watch from the compacted version ends in an ERROR event (410) inside a 200 stream.
    assert sum(r.verb == "list" for r in dev_cluster.request_log) == 2


def test_retry_after_is_honoured(dev_cluster: DevCluster, reflector: Reflector[Object]) -> None:
    dev_cluster.inject("/api/v1/namespaces/default/configmaps", 429, retry_after=1, times=1)
    start = time.monotonic()
    reflector.start()
    assert reflector.synced.wait(10)
    assert time.monotonic() - start >= 1.0
    statuses = [r.status for r in dev_cluster.request_log if r.path.endswith("/configmaps")]
    assert statuses[:2] == [429, 200]


def test_a_silent_watch_is_restarted(dev_cluster_factory: Callable[..., DevCluster]) -> None:
    """No event and no bookmark for longer than the silence limit: the connection is
    presumed dead and the watch starts again from the last resourceVersion."""
    cluster = dev_cluster_factory(bookmark_interval=3600)
    api = KubeApi(api_client_for(cluster), timeout=5)
    quiet: Reflector[Object] = Reflector(
        api,
        CONFIGMAPS,
        namespace="default",
        timing=WatchTiming(silence=0.3, backoff_initial=0.05, backoff_cap=0.1),
    )
    quiet.start()
    try:
        assert quiet.synced.wait(5)
        assert eventually(lambda: sum(r.verb == "watch" for r in cluster.request_log) >= 3, 10)
        cluster.seed([configmap("late")])
        assert eventually(lambda: "default/late" in quiet.snapshot())
    finally:
        quiet.stop()


def test_bookmarks_move_the_resource_version(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    cluster = dev_cluster_factory(bookmark_interval=0.2)
    api = KubeApi(api_client_for(cluster), timeout=5)
    watching: Reflector[Object] = Reflector(api, CONFIGMAPS, namespace="default", timing=FAST)
    watching.start()
    try:
        assert watching.synced.wait(5)
        before = int(watching.resource_version)
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        }
        latest = int(api.create(SERVICES, service, "default")["metadata"]["resourceVersion"])
        assert latest > before
        assert eventually(lambda: int(watching.resource_version) >= latest, 5)
    finally:
        watching.stop()


def test_stop_ends_a_blocked_watch_at_once(
    dev_cluster: DevCluster, reflector: Reflector[Object]
) -> None:
    reflector.start()
    assert reflector.synced.wait(5)
    assert dev_cluster.wait_for_watchers("configmaps")
    start = time.monotonic()
    reflector.stop()
    assert time.monotonic() - start < 2
    assert not any(t.name == "reflector-configmaps" for t in threading.enumerate())


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(initial=0.8, cap=30)
    delays = [backoff.next_delay() for _ in range(10)]
    for n, delay in enumerate(delays):
        base = min(30, 0.8 * 2**n)
        assert base / 2 <= delay <= base
    assert backoff.next_delay(retry_after=45) == 45
    backoff.reset()
    assert backoff.next_delay() <= 0.8
