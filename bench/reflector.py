"""Time and memory for the reflectors to list and cache a large cluster, and the cost per event.

Run: `.venv/bin/python bench/reflector.py [--ingresses 10000]`.

The local API server runs in its own process (so its memory and CPU are not
counted), seeded in memory with N Ingresses, N Services and 3N EndpointSlices of
realistic size. This process then lists and watches all three kinds with our
reflectors and reports the wall time until all are synced and the growth of its
resident memory. Baseline, in the same run: the official client's typed list of
the same Ingresses (its default path), and orjson alone decoding the same bytes.
Then N/5 Ingresses are modified and the time per watch event is reported.
Targets: the whole set under 2 s and 300 MB.
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

from nginx_ingress.kube.api import ENDPOINTSLICES, INGRESSES, SERVICES, KubeApi
from nginx_ingress.kube.reflector import Reflector, WatchTiming


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
            updated["metadata"]["labels"]["generation"] = "2"
            changed.append(updated)
        cluster.seed(changed)
        connection.send("done")
    cluster.stop()


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


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
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = False
    api = KubeApi(client.ApiClient(configuration), timeout=60)

    gc.collect()
    before = resident_mb()
    changes = 0

    def changed(_keys: frozenset[str]) -> None:
        nonlocal changes
        changes += 1

    timing = WatchTiming(page_size=500)
    reflectors: list[Reflector[Any]] = [
        Reflector(api, r, on_change=changed, timing=timing)
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

    modified = size // 5
    seen_before = changes
    start = time.perf_counter()
    ours.send(str(modified))
    assert ours.recv() == "done"
    deadline = time.monotonic() + 300
    while changes - seen_before < modified and time.monotonic() < deadline:
        time.sleep(0.005)
    per_event = (time.perf_counter() - start) / modified

    for reflector in reflectors:
        reflector.stop()
    ours.send("stop")
    server.join(10)

    print(f"cluster: {size} Ingresses, {size} Services, {3 * size} EndpointSlices")
    print(f"list and cache all three kinds: {synced:.2f} s, resident memory +{grown:.0f} MB")
    print(
        f"baseline, Ingresses only: official typed list {typed_seconds:.2f} s, "
        f"orjson decode of the same {len(raw) / 1e6:.1f} MB {decode_seconds:.2f} s"
    )
    print(f"ratio, our three kinds / official typed Ingresses alone: {synced / typed_seconds:.2f}")
    print(f"watch: {modified} Ingress updates, {per_event * 1e6:.0f} µs per event end to end")


if __name__ == "__main__":
    main()
