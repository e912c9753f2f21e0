"""Time and memory for the reflectors to list and cache a large cluster, and the cost per event.

Run: `.venv/bin/python bench/reflector.py [--ingresses 10000]`.

The local API server runs in its own process (so its memory and CPU are not
counted), seeded in memory with N Ingresses, N Services and 3N EndpointSlices of
realistic size (with managedFields and the last-applied annotation). A fresh
process then lists and watches all three kinds with our reflectors and reports
the wall time until all are synced and the growth of its resident memory: once
with the controller's transforms (the typed views of `nginx_ingress.resources`),
once caching the raw objects. Baseline, in the same run: the official client's
typed list of the same Ingresses (its default path), and orjson alone decoding the
same bytes. Then N/5 Ingresses are modified and the time per watch event is
reported. Targets (10,000 Ingresses, with the transforms): under 0.6 s and 120 MB.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import multiprocessing.connection
import time
from pathlib import Path
from typing import Any

import orjson
from kubernetes import client

from nginx_ingress.kube.api import ENDPOINTSLICES, INGRESSES, SERVICES, KubeApi, Resource
from nginx_ingress.kube.reflector import Reflector, WatchTiming
from nginx_ingress.resources import EndpointSlice, Ingress, Service


def ingress(n: int) -> dict[str, Any]:
    host = f"app-{n}.example.com"
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": f"app-{n}",
            "namespace": f"team-{n % 50}",
            "labels": {"app": f"app-{n}", "team": f"team-{n % 50}", "tier": "web"},
            "annotations": {
                "nginx.org/proxy-read-timeout": "120s",
                "nginx.org/client-max-body-size": "8m",
                "nginx.org/limit-req-rate": "10r/s",
                "nginx.org/lb-method": "least_conn",
                "kubectl.kubernetes.io/last-applied-configuration": "x" * 900,
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": f"app-{n}-tls"}],
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": f"/{p}",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": f"app-{n}", "port": {"number": 80}}
                                },
                            }
                            for p in ("api", "web", "static")
                        ]
                    },
                }
            ],
        },
    }


def service(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": f"app-{n}",
            "namespace": f"team-{n % 50}",
            "labels": {"app": f"app-{n}"},
        },
        "spec": {
            "selector": {"app": f"app-{n}"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "clusterIP": f"10.96.{n // 250 % 250}.{n % 250 + 1}",
        },
    }


def endpoint_slice(n: int, part: int) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"app-{n}-{part}",
            "namespace": f"team-{n % 50}",
            "labels": {"kubernetes.io/service-name": f"app-{n}"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": [f"10.{part}.{n // 250 % 250}.{n % 250 + e}"],
                "conditions": {"ready": True},
            }
            for e in range(3)
        ],
    }


def serve(size: int, connection: multiprocessing.connection.Connection) -> None:
    """The API server process: seed, report the port, apply commands until told to stop."""
    from nginx_ingress_dev.devcluster import DevCluster  # noqa: PLC0415

    cluster = DevCluster(bookmark_interval=60, watch_queue_size=100_000).start()
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{t}"}}
        for t in range(50)
    ]
    cluster.seed(namespaces)
    cluster.seed(ingress(n) for n in range(size))
    cluster.seed(service(n) for n in range(size))
    cluster.seed(endpoint_slice(n, part) for n in range(size) for part in range(3))
    connection.send(cluster.port)
    while (command := connection.recv()) != "stop":
        count = int(command)
        changed = []
        for n in range(count):
            updated = ingress(n)
            # A field the controller reads, so that the transformed cache changes too.
            updated["metadata"]["annotations"]["nginx.org/proxy-read-timeout"] = f"{command}s"
            changed.append(updated)
        cluster.seed(changed)
        connection.send("done")
    cluster.stop()


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(
    size: int, port: int, transformed: bool, connection: multiprocessing.connection.Connection
) -> None:
    """In a fresh process: list and watch the three kinds; send back what was measured."""
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = False
    api = KubeApi(client.ApiClient(configuration), timeout=60)
    gc.collect()
    before = resident_mb()
    changes = 0

    def changed(keys: frozenset[str]) -> None:
        nonlocal changes
        changes += len(keys)

    timing = WatchTiming(page_size=500)
    transforms: dict[Resource, Any] = (
        {
            INGRESSES: Ingress.from_object,
            SERVICES: Service.from_object,
            ENDPOINTSLICES: EndpointSlice.from_object,
        }
        if transformed
        else {}
    )
    reflectors: list[Reflector[Any]] = [
        Reflector(api, r, on_change=changed, timing=timing, transform=transforms.get(r))
        for r in (INGRESSES, SERVICES, ENDPOINTSLICES)
    ]
    start = time.perf_counter()
    for reflector in reflectors:
        reflector.start()
    for reflector in reflectors:
        assert reflector.synced.wait(300)
    synced = time.perf_counter() - start
    gc.collect()
    grown = resident_mb() - before
    counts = [len(r.snapshot()) for r in reflectors]
    assert counts == [size, size, 3 * size], counts
    connection.send((synced, grown))
    modified = int(connection.recv())
    seen_before = changes
    start = time.perf_counter()
    connection.send("go")
    deadline = time.monotonic() + 300
    while changes - seen_before < modified and time.monotonic() < deadline:
        time.sleep(0.005)
    per_event = (time.perf_counter() - start) / modified
    for reflector in reflectors:
        reflector.stop()
    connection.send(per_event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingresses", type=int, default=10_000)
    args = parser.parse_args()
    size = args.ingresses
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(size, theirs), daemon=True
    )
    server.start()
    port = ours.recv()
    print(f"cluster: {size} Ingresses, {size} Services, {3 * size} EndpointSlices")
    results: dict[bool, tuple[float, float]] = {}
    for transformed in (True, False):
        mine, child_end = multiprocessing.Pipe()
        child = multiprocessing.get_context("spawn").Process(
            target=measure, args=(size, port, transformed, child_end)
        )
        child.start()
        synced, grown = mine.recv()
        modified = size // 5
        mine.send(modified)
        assert mine.recv() == "go"
        ours.send(str(modified + (7 if transformed else 11)))  # a new value each round
        assert ours.recv() == "done"
        per_event = mine.recv()
        child.join(30)
        results[transformed] = (synced, grown)
        what = "typed views (the controller's transforms)" if transformed else "raw objects"
        print(
            f"list and cache all three kinds as {what}: {synced:.2f} s, +{grown:.0f} MB; "
            f"{modified} Ingress updates, {per_event * 1e6:.0f} µs per watch event"
        )

    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = False
    api = KubeApi(client.ApiClient(configuration), timeout=60)
    start = time.perf_counter()
    typed = client.NetworkingV1Api(
        api_client=client.ApiClient(configuration)
    ).list_ingress_for_all_namespaces(_request_timeout=300)
    typed_seconds = time.perf_counter() - start
    assert len(typed.items) == size
    raw = api._request("GET", INGRESSES.path()).read()  # the same bytes, for orjson alone
    start = time.perf_counter()
    orjson.loads(raw)
    decode_seconds = time.perf_counter() - start
    ours.send("stop")
    server.join(10)
    print(
        f"baseline, Ingresses only: official typed list {typed_seconds:.2f} s, "
        f"orjson decode of the same {len(raw) / 1e6:.1f} MB {decode_seconds:.2f} s"
    )
    views, raws = results[True], results[False]
    print(
        f"ratio, views / raw: time {views[0] / raws[0]:.2f}, memory {views[1] / raws[1]:.2f}; "
        f"views / official typed Ingresses alone: {views[0] / typed_seconds:.2f}"
    )


if __name__ == "__main__":
    main()
