"""Benchmark of the development API server with the official client.

Prints requests per second for get, create and a small list, and the time to list
10,000 Ingresses with `_preload_content=False` + orjson, next to two baselines
measured in the same run: the same client fetching the same bytes from a static
file server, and orjson decoding the bytes alone. The servers run in their own
processes (as `nginx-ingress dev-api` and `python -m http.server`), so client and
server do not share one interpreter lock.

    .venv/bin/python bench/devcluster.py [--ingresses 10000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from kubernetes import client, config

new_client_from_config: Any = config.new_client_from_config


def ingress(index: int) -> dict[str, Any]:
    """An Ingress shaped like the ones the controller reads (about 1.5 KB)."""
    name = f"app-{index:05d}"
    namespace = f"team-{index % 20:02d}"
    host = f"{name}.{namespace}.example.com"
    paths = [
        {
            "path": f"/{segment}",
            "pathType": "Prefix",
            "backend": {"service": {"name": f"{name}-{segment}", "port": {"number": 8080}}},
        }
        for segment in ("api", "static", "ws")
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name, "team": namespace, "tier": "web"},
            "annotations": {
                "nginx.org/proxy-connect-timeout": "10s",
                "nginx.org/proxy-read-timeout": "60s",
                "nginx.org/client-max-body-size": "4m",
                "nginx.org/rewrites": f"serviceName={name}-api rewrite=/",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": f"{name}-tls"}],
            "rules": [{"host": host, "http": {"paths": paths}}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_dev_api(workdir: Path, seed: Path) -> tuple[subprocess.Popen[str], Path]:
    kubeconfig = workdir / "kubeconfig"
    executable = Path(sys.executable).with_name("nginx-ingress")
    process = subprocess.Popen(
        [str(executable), "dev-api", "--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig),
         "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    if not process.stdout.readline():
        raise SystemExit("nginx-ingress dev-api did not start")
    return process, kubeconfig


def rate(label: str, count: int, call: Callable[[int], object]) -> float:
    call(0)  # warm the connection
    started = time.perf_counter()
    for index in range(1, count + 1):
        call(index)
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"{label:<40} {per_second:8.0f} req/s  ({count} requests, {elapsed:.2f} s)")
    return per_second


def best_of(repeats: int, call: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ingresses", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="devcluster-bench-") as temporary:
        workdir = Path(temporary)
        seed = workdir / "seed"
        seed.mkdir()
        namespaces = sorted({f"team-{i % 20:02d}" for i in range(args.ingresses)} | {"bench"})
        objects: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces
        ]
        objects += [ingress(i) for i in range(args.ingresses)]
        objects += [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"small-{i}", "namespace": "bench"},
            }
            for i in range(5)
        ]
        (seed / "objects.json").write_bytes(orjson.dumps({"kind": "List", "items": objects}))

        started = time.perf_counter()
        server, kubeconfig = start_dev_api(workdir, seed)
        print(
            f"dev-api started with {len(objects)} objects in {time.perf_counter() - started:.2f} s"
        )
        try:
            with new_client_from_config(config_file=str(kubeconfig)) as api:
                core: Any = client.CoreV1Api(api)
                networking: Any = client.NetworkingV1Api(api)
                rates = {
                    "get": rate(
                        "get ConfigMap (typed)",
                        args.requests,
                        lambda _i: core.read_namespaced_config_map("small-0", "bench"),
                    ),
                    "create": rate(
                        "create ConfigMap (typed)",
                        args.requests,
                        lambda i: core.create_namespaced_config_map(
                            "default", {"metadata": {"name": f"created-{i}"}, "data": {"k": "v"}}
                        ),
                    ),
                    "list": rate(
                        "list 5 ConfigMaps (typed)",
                        args.requests,
                        lambda _i: core.list_namespaced_config_map("bench"),
                    ),
                }

                def list_ingresses() -> bytes:
                    response = networking.list_ingress_for_all_namespaces(_preload_content=False)
                    data: bytes = response.data
                    items = orjson.loads(data)["items"]
                    assert len(items) == args.ingresses
                    return data

                body = list_ingresses()
                listing = best_of(args.repeats, list_ingresses)
        finally:
            server.terminate()
            server.wait(timeout=30)

        static_root = workdir / "static"
        target = static_root / "apis" / "networking.k8s.io" / "v1" / "ingresses"
        target.parent.mkdir(parents=True)
        target.write_bytes(body)
        port = free_port()
        static = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
             "--directory", str(static_root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert static.stderr is not None
            configuration = client.Configuration()
            configuration.host = f"http://127.0.0.1:{port}"
            with client.ApiClient(configuration) as static_api:
                static_networking: Any = client.NetworkingV1Api(static_api)
                for _ in range(100):  # wait until it accepts connections
                    try:
                        static_networking.list_ingress_for_all_namespaces(_preload_content=False)
                        break
                    except Exception:
                        time.sleep(0.05)

                def fetch_static() -> None:
                    response = static_networking.list_ingress_for_all_namespaces(
                        _preload_content=False
                    )
                    orjson.loads(response.data)

                static_time = best_of(args.repeats, fetch_static)
        finally:
            static.terminate()
            static.wait(timeout=30)
        decode_time = best_of(args.repeats, lambda: orjson.loads(body))

    megabytes = len(body) / 1e6
    print(
        f"list {args.ingresses} Ingresses, raw + orjson      {listing:8.3f} s  ({megabytes:.1f} MB)"
    )
    print(f"  baseline: same bytes from a static server {static_time:8.3f} s")
    print(f"  baseline: orjson decode alone             {decode_time:8.3f} s")
    print(f"  ratio dev-api / static server             {listing / static_time:8.2f}")
    print(f"  ratio dev-api / decode alone              {listing / decode_time:8.2f}")
    slowest = min(rates.values())
    rate_verdict = "met" if slowest >= 1000 else "NOT met"
    list_verdict = "met" if listing < 1 else "NOT met"
    print(f"target >= 1000 req/s: {rate_verdict} (slowest {slowest:.0f})")
    print(f"target: {args.ingresses} Ingresses listed in under 1 s: {list_verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
