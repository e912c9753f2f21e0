"""From `nginx-ingress run` starting to `/nginx-ready` answering 200, with a big cluster.

Run: `make bench` (or `.venv/bin/python bench/startup.py [--ingresses 10000]`).

The local API server runs in its own process, seeded with N Ingresses (one host,
three paths, TLS on half, see `cluster_objects.py`), 3N Services and 3N
EndpointSlices. The controller runs as a real process with a real NGINX: it lists
everything, builds every Ingress's file, checks the tree with `nginx -t`, starts
NGINX once and confirms it serves. Baseline, in the same run: NGINX's own
`nginx -t` on the files the controller wrote. Target: under 10 s for 10,000.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cluster_objects import NAMESPACE, cluster

COMMAND = Path(sys.executable).parent / "nginx-ingress"


def serve(size: int, directory: str, connection: multiprocessing.connection.Connection) -> None:
    from nginx_ingress_dev.devcluster import DevCluster  # noqa: PLC0415

    with DevCluster(bookmark_interval=60) as api:
        made = cluster(size)
        api.seed(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                for name in (NAMESPACE, "nginx-ingress")
            ]
        )
        api.seed(made.all)
        kubeconfig = api.write_kubeconfig(Path(directory) / "kubeconfig")
        connection.send(str(kubeconfig))
        connection.recv()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/nginx-ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingresses", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as directory:
        root = Path(directory)
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.get_context("fork").Process(
            target=serve, args=(args.ingresses, directory, theirs), daemon=True
        )
        server.start()
        kubeconfig = ours.recv()
        ports = {name: free_port() for name in ("http", "https", "status", "ready", "metrics")}
        conf, run_dir = root / "conf", root / "run"
        command = [
            str(COMMAND),
            "run",
            f"--kubeconfig={kubeconfig}",
            f"--conf-dir={conf}",
            f"--run-dir={run_dir}",
            f"-default-http-listener-port={ports['http']}",
            f"-default-https-listener-port={ports['https']}",
            f"-nginx-status-port={ports['status']}",
            f"-ready-status-port={ports['ready']}",
            f"-prometheus-metrics-listen-port={ports['metrics']}",
            "-log-level=warning",
        ]
        environment = {**os.environ, "POD_NAMESPACE": "nginx-ingress", "POD_NAME": "bench"}
        log = root / "controller.log"
        with log.open("wb") as output:
            start = time.perf_counter()
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, env=environment
            )
        try:
            deadline = time.monotonic() + 3600
            while not ready(ports["ready"]):
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the controller did not become ready:\n{log.read_text()[-3000:]}")
                time.sleep(0.02)
            to_ready = time.perf_counter() - start
            files = sum(1 for p in (conf / "conf.d").glob("*.conf"))
            clock = time.perf_counter()
            check = subprocess.run(
                ["nginx", "-t", "-q", "-p", f"{run_dir}/", "-c", str(conf / "nginx.conf")],
                capture_output=True,
                check=False,
            )
            test_seconds = time.perf_counter() - clock
            assert check.returncode == 0, check.stderr.decode()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
            ours.send("stop")
            server.join(30)
    print(
        f"{args.ingresses:,} Ingresses ({files:,} files in conf.d/): ready after "
        f"{to_ready:.2f} s; NGINX's own nginx -t on the same files {test_seconds:.2f} s "
        f"(ratio {to_ready / test_seconds:.1f})"
    )


if __name__ == "__main__":
    main()
