"""The routing core at scale: a full cluster → files, and one change → staged files.

Run: `make bench` (or `.venv/bin/python bench/build_render.py [--sizes 1000 10000]`).

For each size: N Ingresses (one host, three paths to three Services, TLS with its
own Secret on half of them), 3N Services and 3N EndpointSlices.
- transforms: raw objects → the typed views the informers cache (done as objects
  arrive, on the reflector threads);
- full build: the routing table over every Ingress plus the main files, the work
  of the first sync;
- one Ingress changed, one EndpointSlice changed: from the changed raw object to the
  changed files written into the NGINX manager's stage (median of repeated runs);
- the baseline, measured in the same run on the same files: NGINX's own `nginx -t`
  and, for the change, `nginx -t` plus a reload (SIGHUP) of a running NGINX;
- peak memory of the process (resident set).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from nginx_ingress.configmap import parse_configmap
from nginx_ingress.generate import RoutingSummary, build_configuration
from nginx_ingress.generate.source import StaticSource
from nginx_ingress.generate.table import Changes, RoutingTable
from nginx_ingress.nginx.stage import Stage
from nginx_ingress.nginx.tree import write_whole
from nginx_ingress.render import render_configuration
from nginx_ingress.resources import EndpointSlice, Ingress, IngressClass, Secret, Service
from nginx_ingress.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from cluster_objects import cluster, endpoint_slice, ingress

STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run(count: int, repeats: int) -> None:
    made = cluster(count)
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as directory:
        root = Path(directory)
        conf, run_dir = root / "conf", root / "run"
        run_dir.mkdir()
        modules = (PurePosixPath(STREAM_MODULE),) if STREAM_MODULE.exists() else ()
        settings = Settings(
            conf_dir=PurePosixPath(conf), run_dir=PurePosixPath(run_dir), load_modules=modules
        )
        config = parse_configmap({}, settings).config

        def transform() -> StaticSource:
            return StaticSource(
                [Ingress.from_object(o) for o in made.ingresses],
                [Service.from_object(o) for o in made.services],
                [EndpointSlice.from_object(o) for o in made.slices],
                [Secret.from_object(o) for o in made.secrets],
                [IngressClass.from_object(made.ingress_class)],
            )

        transform_seconds, source = timed(transform)
        table = RoutingTable(settings, "nginx")

        def full_build() -> dict[str, str]:
            update = table.update(Changes(everything=True), source, config, time.time())
            summary = RoutingSummary(None, table.catch_all_root, table.longest_host)
            files = render_configuration(
                build_configuration(
                    config, settings, zone_sync_service_ready=False, routing=summary
                )
            )
            files.update({p: t for p, t in update.changed.items() if t is not None})
            return files

        build_seconds, files = timed(full_build)
        peak = peak_mb()
        write_whole(conf, files)
        nginx = ["nginx", "-p", f"{run_dir}/", "-c", str(conf / "nginx.conf")]
        test_seconds, completed = timed(
            lambda: subprocess.run([*nginx, "-t", "-q"], capture_output=True, check=False)
        )
        if completed.returncode != 0:
            sys.exit(f"nginx -t refused the rendered files:\n{completed.stderr.decode()[-2000:]}")
        stage = Stage(conf)
        stage.prepare(files)

        counter = iter(range(1, 1 << 30))

        def change(what: str, n: int) -> float:
            """One changed object, from raw object to staged files."""
            step = next(counter)
            start = time.perf_counter()
            if what == "ingress":
                view = Ingress.from_object(ingress(n, backend_suffix=f"-{step}"))
                source.put_ingress(view)
                changes = Changes(ingresses=frozenset({view.key}))
            else:
                service = f"app-{n}-a"
                view_slice = EndpointSlice.from_object(endpoint_slice(service, 60000 + step))
                source.put_slice(view_slice)
                changes = Changes(services=frozenset({view_slice.service_key}))
            update = table.update(changes, source, config, time.time())
            for path, text in update.changed.items():
                stage.put(path, text)
            elapsed = time.perf_counter() - start
            assert update.changed, "the change changed no file"
            for path in update.changed:
                stage.revert(path, files)
            return elapsed

        ingress_change = statistics.median(change("ingress", i % count) for i in range(repeats))
        slice_change = statistics.median(change("slice", i % count) for i in range(repeats))

        # NGINX's own cost of applying one change: nginx -t and a reload of a running NGINX.
        master = subprocess.Popen(
            [*nginx, "-e", "stderr"], stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            time.sleep(1.0)
            reload_seconds, _ = timed(lambda: _reload(master.pid, nginx))
        finally:
            os.killpg(master.pid, signal.SIGQUIT)
            master.wait(60)

    print(
        f"\n{count:,} Ingresses ({len(made.services):,} Services, {len(made.slices):,} "
        f"EndpointSlices, {len(made.secrets):,} TLS Secrets), {len(files):,} files"
    )
    print(f"  transforms (raw → views)          {transform_seconds * 1000:9.0f} ms")
    print(
        f"  full build (views → files)        {build_seconds * 1000:9.0f} ms   "
        f"nginx -t on them {test_seconds * 1000:7.0f} ms   ratio {build_seconds / test_seconds:.2f}"
    )
    nginx_change = test_seconds + reload_seconds
    for label, seconds in (
        ("one Ingress changed", ingress_change),
        ("one EndpointSlice changed", slice_change),
    ):
        print(
            f"  {label:<33} {seconds * 1000:9.2f} ms   nginx -t + reload "
            f"{nginx_change * 1000:7.0f} ms   ratio {seconds / nginx_change:.4f}"
        )
    print(f"  peak resident memory              {peak:9.0f} MB")


def _reload(pid: int, nginx: list[str]) -> None:
    """`nginx -t` then SIGHUP, waiting until a new generation of workers runs."""
    subprocess.run([*nginx, "-t", "-q"], capture_output=True, check=True)
    before = _workers(pid)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = _workers(pid)
        if now and not (now & before):
            return
        time.sleep(0.01)


def _workers(master: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[-1].split()
            if fields[1] == str(master) and b"shutting down" not in cmdline:
                found.add(int(entry.name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.repeats)


if __name__ == "__main__":
    main()
