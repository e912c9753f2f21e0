"""The NGINX manager's cost per apply, against NGINX's `nginx -t` and reload, at 100–5,000 servers.

Run: `.venv/bin/python bench/reload.py [--sizes 100 1000 5000]`.

For each size it starts a real NGINX through the manager with N server blocks (one
file each, one location, one upstream with two servers and keepalive), then applies
a series of trees that each change one server, as a single Ingress edit would.
Per apply it records the manager's phases. As the baseline, in the same run and on
the same files, it times `nginx -t` alone and a bare reload (SIGHUP to the master
until every old worker has stopped accepting). Our overhead is the apply time minus
the time spent in `nginx -t` and minus the bare reload; the ratio divides it by
NGINX's own `nginx -t` + reload. Target: below 0.25 at 1,000 servers.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

from nginx_ingress.configmap import parse_configmap
from nginx_ingress.generate import build_configuration
from nginx_ingress.nginx.manager import ManagerSettings, NginxManager
from nginx_ingress.nginx.process import NginxProcess, wait_for
from nginx_ingress.render import config_version_files, render_configuration
from nginx_ingress.settings import Listeners, Settings

STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
RUNS = {100: 12, 1000: 6, 5000: 3}


def server_file(index: int, port: int, generation: int) -> str:
    return (
        f"upstream default-app-{index} {{\n"
        f"    server 127.0.0.1:{20000 + index % 1000};\n"
        f"    server 127.0.0.1:{21000 + index % 1000};\n"
        "    keepalive 16;\n}\n"
        f"server {{\n    listen {port};\n    server_name app-{index}.example;\n"
        f"    location / {{\n        proxy_pass http://default-app-{index};  # {generation}\n"
        "    }\n}\n"
    )


def bench(size: int, runs: int, nginx: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ngx-bench-", dir="/tmp") as directory:
        root = Path(directory)
        (root / "run").mkdir()
        (root / "conf").mkdir()
        settings = Settings(
            conf_dir=PurePosixPath(root / "conf"),
            run_dir=PurePosixPath(root / "run"),
            load_modules=(PurePosixPath(STREAM_MODULE),) if STREAM_MODULE.exists() else (),
            listeners=Listeners(http=18480, https=18443, nginx_status=18490, ready_status=18491),
        )
        data = {"server-names-hash-max-size": "65536", "worker-processes": "2"}
        config = parse_configmap(data, settings).config
        main = render_configuration(
            build_configuration(config, settings, zone_sync_service_ready=True)
        )

        def tree(changed: int, generation: int) -> dict[str, str]:
            files = {
                f"conf.d/default-app-{i}.conf": server_file(
                    i, 18480, generation if i == changed else 0
                )
                for i in range(size)
            }
            return {**main, **files}

        manager = NginxManager(
            ManagerSettings(
                conf_dir=root / "conf",
                run_dir=root / "run",
                version_socket=Path(settings.config_version_socket),
                binary=nginx,
                reload_timeout=120,
            ),
            config_version_files(settings.config_version_socket),
        )
        try:
            start = time.perf_counter()
            manager.apply(tree(-1, 0))
            first = time.perf_counter() - start
            applies, tests, phases = [], [], []
            for generation in range(1, runs + 1):
                candidate = tree(generation % size, generation)
                start = time.perf_counter()
                result = manager.apply(candidate)
                applies.append(time.perf_counter() - start)
                tests.append(result.phases["test"])
                phases.append(result.phases)
            nginx_t = median_nginx_t(nginx, root, runs)
            reload = median_bare_reload(manager.process, runs)
        finally:
            manager.stop()
    apply_s = statistics.median(applies)
    test_s = statistics.median(tests)
    ours = max(0.0, apply_s - test_s - reload)
    theirs = nginx_t + reload
    stage = statistics.median(p["stage"] for p in phases)
    swap = statistics.median(p["swap"] for p in phases)
    confirm = statistics.median(p["confirm"] for p in phases)
    print(
        f"{size:>5} servers: apply {apply_s * 1e3:7.1f} ms (stage {stage * 1e3:6.1f}, "
        f"nginx -t {test_s * 1e3:6.1f}, swap {swap * 1e3:5.1f}, confirm {confirm * 1e3:6.1f})  "
        f"| NGINX alone: nginx -t {nginx_t * 1e3:6.1f} + reload {reload * 1e3:6.1f} ms  "
        f"| our overhead {ours * 1e3:6.1f} ms, ratio {ours / theirs:.3f}  "
        f"| first start {first * 1e3:.0f} ms"
    )


def median_nginx_t(nginx: str, root: Path, runs: int) -> float:
    command = [nginx, "-t", "-q", "-p", f"{root}/run/", "-c", f"{root}/conf/nginx.conf"]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def median_bare_reload(process: NginxProcess | None, runs: int) -> float:
    """SIGHUP, then wait until none of the old workers accepts any more."""
    assert process is not None
    samples = []
    for _ in range(runs):
        old = process.worker_pids()
        start = time.perf_counter()
        process.reload()
        assert wait_for(functools.partial(_replaced, process, old), 120, 0.002)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _replaced(process: NginxProcess, old: set[int]) -> bool:
    workers = process.worker_pids()
    return bool(workers) and not old & workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    args = parser.parse_args()
    nginx = shutil.which("nginx")
    if nginx is None:
        sys.exit("nginx is not installed: run scripts/install-system-deps")
    for size in args.sizes:
        bench(size, RUNS.get(size, 3), nginx)


if __name__ == "__main__":
    main()
