"""An endpoint change, from the EndpointSlice written to NGINX using its servers: NGINX Plus
(through its API, no reload) against NGINX OSS (a reload), with N Ingresses served.

Run: `.venv/bin/python bench/endpoints.py [--ingresses 1000] [--changes 100]`.

The local API server runs in its own process, seeded as for `startup.py` (N Ingresses, three
paths each, 3N Services and EndpointSlices). Each mode runs the real controller
(`nginx-ingress run`, with a 1 ms quiet period so that coalescing does not hide the cost):
NGINX Plus is the NGINX Plus stand-in (docs/plus-standin.md: real NGINX underneath, the
Plus API stub on the API socket), NGINX OSS the real `nginx`. Then one Service's
EndpointSlice changes `--changes` times (pods scaled up and down), and each change is timed
from the write until NGINX has it: for NGINX Plus until the API lists the new servers, for
NGINX OSS until the reload has finished (its reload counter moved). The reloads each mode
made are counted from the controller's metrics. Target: NGINX Plus under 20 ms per change and
no reload; the baseline is the same change on NGINX OSS, in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from nginx_ingress.kube.api import ENDPOINTSLICES
from nginx_ingress.kube.client import connect
from nginx_ingress.nginx.plusapi import PlusApiClient, PlusApiError

sys.path.insert(0, str(Path(__file__).parent))
from cluster_objects import NAMESPACE, endpoint_slice
from controller_run import start
from startup import serve

STANDIN = Path(sys.executable).parent / "nginx-plus-standin"
SERVICE = "app-0-a"
RELOADS = "nginx_ingress_controller_nginx_reloads_total"
API_UPDATES = "nginx_ingress_controller_upstream_server_updates_total"


def metric(port: int, name: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def addresses(step: int) -> list[str]:
    """Two to five pods: the next change always differs from the last."""
    return [f"10.9.{step % 250}.{pod}" for pod in range(2 + step % 4)]


def wait_until(condition: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the change did not reach NGINX")
        time.sleep(0.0005)


def run_mode(plus: bool, kubeconfig: str, root: Path, changes: int) -> tuple[list[float], float]:
    """Latencies of each change (seconds), and the reloads they caused."""
    flags = ["--reload-quiet-period=1ms", "--reload-max-delay=5ms"]
    if plus:
        flags += ["-nginx-plus", f"-nginx-binary={STANDIN}"]
    controller = start(kubeconfig, root, *flags)
    ports = controller.ports
    api = connect(kubeconfig)
    plus_api = PlusApiClient(
        "http://nginx-plus-api/api",
        unix_socket=str(controller.run_dir / "nginx-plus-api.sock"),
        timeout=5,
    )
    try:
        controller.wait_ready()
        upstream = ""
        if plus:
            text = (controller.conf / "conf.d" / f"{NAMESPACE}-app-0.conf").read_text()
            upstream = re.findall(r"upstream (\S+) \{", text)[0]
            assert upstream.endswith(f"-{SERVICE}-80"), upstream
        reloads = metric(ports["metrics"], RELOADS)
        latencies = []
        for step in range(changes):
            wanted = addresses(step)
            changed = endpoint_slice(SERVICE, 0)
            changed["endpoints"] = [
                {"addresses": [address], "conditions": {"ready": True}} for address in wanted
            ]
            current = api.get(ENDPOINTSLICES, changed["metadata"]["name"], NAMESPACE)
            changed["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            servers = {f"{address}:8080" for address in wanted}
            before = metric(ports["metrics"], RELOADS)
            clock = time.perf_counter()
            api.replace(ENDPOINTSLICES, changed)
            if plus:

                def applied(servers: set[str] = servers, name: str = upstream) -> bool:
                    try:
                        return {s.server for s in plus_api.upstream_servers(name)} == servers
                    except PlusApiError:
                        return False

                wait_until(applied)
            else:

                def reloaded(before: float = before) -> bool:
                    return metric(ports["metrics"], RELOADS) > before

                wait_until(reloaded)
            latencies.append(time.perf_counter() - clock)
            time.sleep(0.05)  # let the metrics settle before the next change
        if plus:
            updates = metric(ports["metrics"], API_UPDATES)
            assert updates >= changes, f"{updates} upstream updates through the API"
        return latencies, metric(ports["metrics"], RELOADS) - reloads
    finally:
        controller.stop(120)


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(latencies) * 1000:,.1f} ms, p90 {p90 * 1000:,.1f} ms, "
        f"max {ordered[-1] * 1000:,.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingresses", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    results = {}
    for plus in (True, False):
        with tempfile.TemporaryDirectory(prefix="bench-endpoints-") as directory:
            ours, theirs = multiprocessing.Pipe()
            server = multiprocessing.get_context("fork").Process(
                target=serve, args=(args.ingresses, directory, theirs), daemon=True
            )
            server.start()
            try:
                kubeconfig = ours.recv()
                results[plus] = run_mode(plus, kubeconfig, Path(directory), args.changes)
            finally:
                ours.send("stop")
                server.join(30)
    (plus_latencies, plus_reloads), (oss_latencies, oss_reloads) = results[True], results[False]
    print(f"{args.ingresses:,} Ingresses, {args.changes} endpoint changes of one Service:")
    print(f"  NGINX Plus, through the API: {summary(plus_latencies)}; {plus_reloads:.0f} reloads")
    print(f"  NGINX OSS, by reload (baseline): {summary(oss_latencies)}; {oss_reloads:.0f} reloads")
    ratio = statistics.median(plus_latencies) / statistics.median(oss_latencies)
    print(f"  ratio Plus/OSS (median): {ratio:.3f}")


if __name__ == "__main__":
    main()
