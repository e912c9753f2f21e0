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
import multiprocessing
import multiprocessing.connection
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cluster_objects import NAMESPACE, cluster
from controller_run import start


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
        controller = start(kubeconfig, root)
        try:
            controller.wait_ready()
            to_ready = time.perf_counter() - controller.started
            files = sum(1 for p in (controller.conf / "conf.d").glob("*.conf"))
            clock = time.perf_counter()
            check = subprocess.run(
                [
                    "nginx",
                    "-t",
                    "-q",
                    "-p",
                    f"{controller.run_dir}/",
                    "-c",
                    str(controller.conf / "nginx.conf"),
                ],
                capture_output=True,
                check=False,
            )
            test_seconds = time.perf_counter() - clock
            assert check.returncode == 0, check.stderr.decode()
        finally:
            controller.stop(60)
            ours.send("stop")
            server.join(30)
    print(
        f"{args.ingresses:,} Ingresses ({files:,} files in conf.d/): ready after "
        f"{to_ready:.2f} s; NGINX's own nginx -t on the same files {test_seconds:.2f} s "
        f"(ratio {to_ready / test_seconds:.1f})"
    )


if __name__ == "__main__":
    main()
