"""Ingress status at scale: from a new leader to every status written, and the write rate.

Run: `.venv/bin/python bench/status.py [--ingresses 10000] [--rate 50]`.

The local API server runs in its own process, seeded with N Ingresses of our class (each
routed to one shared Service), the controller's ConfigMap with an
`external-status-address`, and a Lease held by another replica that never renews (a
leader that just died). `nginx-ingress run -render-only` starts as a follower, lists
everything and renders every Ingress once; when it is ready the benchmark releases the
dead holder's Lease, the controller takes it over, and from that moment (the Lease naming
it) every Ingress needs a status write. The benchmark watches the Ingresses itself and
records when each one shows the address.

Printed: the time from the new leader to every status written, the mean writes/s, and
the most writes seen in any one-second window, next to `-status-update-rate`: the
bound the flag sets. With the default 50/s, 10,000 Ingresses take 200 s: slower than
the API server could take them, on purpose.
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from nginx_ingress.kube.api import INGRESSES, LEASES, KubeApi
from nginx_ingress.kube.reflector import Reflector, WatchTiming
from nginx_ingress.resources.status import IngressStatus, LoadBalancerIngress

NS, APP, POD, LOCK = (
    "nginx-ingress",
    "bench",
    "nginx-ingress-bench-0",
    "nginx-ingress-leader-election",
)
ADDRESS = "192.0.2.10"


def ingress(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": f"app-{n:05d}",
            "namespace": APP,
            "labels": {"app": f"app-{n:05d}", "tier": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x" * 600},
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": f"app-{n:05d}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def serve(size: int, connection: multiprocessing.connection.Connection) -> None:
    """The API server process: seed, report the port, run until told to stop."""
    from nginx_ingress_dev.devcluster import DevCluster  # noqa: PLC0415

    cluster = DevCluster(watch_queue_size=100_000, request_log_size=100).start()
    cluster.seed([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": "nginx.org/ingress-controller"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"namespace": NS, "name": "nginx-config"},
            "data": {"external-status-address": ADDRESS},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"namespace": APP, "name": "web"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        },
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"namespace": NS, "name": LOCK},
            "spec": {"holderIdentity": "nginx-ingress-dead", "leaseDurationSeconds": 3600},
        },
    ])  # fmt: skip
    cluster.publish_endpoints(APP, "web", ["127.0.0.1"], {"http": 8080})
    cluster.seed(ingress(n) for n in range(size))
    connection.send(cluster.port)
    connection.recv()
    cluster.stop()


def kubeconfig(port: int, directory: Path) -> Path:
    path = directory / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: bench\n"
        f"clusters: [{{name: bench, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: bench, user: {token: bench}}]\n"
        "contexts: [{name: bench, context: {cluster: bench, user: bench}}]\n"
    )
    return path


def start_controller(port: int, directory: Path, rate: float) -> subprocess.Popen[bytes]:
    command = Path(sys.executable).parent / "nginx-ingress"
    with (directory / "controller.log").open("wb") as log:
        return subprocess.Popen(
            [
                str(command),
                "run",
                f"--kubeconfig={kubeconfig(port, directory)}",
                f"-nginx-configmaps={NS}/nginx-config",
                f"--conf-dir={directory / 'conf'}",
                f"--run-dir={directory / 'run'}",
                "-render-only",
                "-ready-status=false",
                "-enable-prometheus-metrics=false",
                f"-status-update-rate={rate:g}",
                "-log-level=warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "POD_NAMESPACE": NS, "POD_NAME": POD},
        )


class Observer:
    """Watches the Ingresses from outside and notes when each first shows the address."""

    def __init__(self, api: KubeApi, size: int) -> None:
        self.size = size
        self.shown: dict[str, float] = {}
        self.done = threading.Event()
        self._wanted = (LoadBalancerIngress(ip=ADDRESS),)
        self._reflector: Reflector[IngressStatus] = Reflector(
            api,
            INGRESSES,
            namespace=APP,
            on_change=self._changed,
            timing=WatchTiming(page_size=1000),
            transform=IngressStatus.from_object,
        )

    def _changed(self, keys: frozenset[str]) -> None:
        now = time.monotonic()
        for key in keys:
            item = self._reflector.get(key)
            if item is not None and item.load_balancer == self._wanted:
                self.shown.setdefault(key, now)
        if len(self.shown) >= self.size:
            self.done.set()

    def start(self) -> None:
        self._reflector.start()
        assert self._reflector.synced.wait(300)

    def stop(self) -> None:
        self._reflector.stop()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)), default=0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingresses", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="-status-update-rate")
    args = parser.parse_args()
    size = args.ingresses
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(size, theirs))
    server.start()
    port = ours.recv()
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = False
    api = KubeApi(client.ApiClient(configuration), timeout=60)
    observer = Observer(api, size)
    observer.start()
    with tempfile.TemporaryDirectory(prefix="bench-status-") as directory:
        controller = start_controller(port, Path(directory), args.rate)
        try:
            # Ready: every Ingress rendered once, its outcome handed to the status writer.
            deadline = time.monotonic() + 600
            conf = Path(directory) / "conf" / "conf.d"
            while len(list(conf.glob("bench-*.conf"))) < size and time.monotonic() < deadline:
                assert controller.poll() is None, (Path(directory) / "controller.log").read_text()
                time.sleep(0.5)
            time.sleep(2.0)
            assert not observer.shown, "a follower wrote status"
            lease = api.get(LEASES, LOCK, NS)
            lease["spec"] = {
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
            }  # the dead leader's release
            api.replace(LEASES, lease)
            released = time.monotonic()
            while (api.get(LEASES, LOCK, NS).get("spec") or {}).get("holderIdentity") != POD:
                assert time.monotonic() - released < 60, "the controller did not take the Lease"
                time.sleep(0.01)
            leading = time.monotonic()
            assert observer.done.wait(size / args.rate * 3 + 120), (
                f"{len(observer.shown)} of {size} written"
            )
        finally:
            controller.send_signal(signal.SIGTERM)
            controller.wait(60)
            observer.stop()
            ours.send("stop")
            server.join(30)
    times = list(observer.shown.values())
    first, last = min(times), max(times)
    mean = (size - 1) / (last - first) if last > first else float("inf")
    print(f"{size} Ingresses, -status-update-rate={args.rate:g}")
    print(f"Lease released → the controller leads: {(leading - released) * 1000:.0f} ms")
    print(
        f"new leader → every status written: {last - leading:.1f} s "
        f"(first write after {max(0.0, first - leading) * 1000:.0f} ms; "
        f"{size / args.rate:.0f} s at the rate)"
    )
    print(
        f"writes/s: mean {mean:.1f}, most in any 1 s window {max_in_window(times)}, "
        f"bound {args.rate:g} (ratio {mean / args.rate:.2f})"
    )


if __name__ == "__main__":
    main()
