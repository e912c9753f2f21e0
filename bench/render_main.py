"""Parse + build + render time of the main configuration, against `nginx -t` on the same files.

Run: `make bench` (or `.venv/bin/python bench/render_main.py [--runs N]`).

Prints the median of many runs for each stage, for an empty ConfigMap and for one
that sets every key, and as a baseline measured in the same run the median time
the real `nginx -t` takes to check the rendered files. The ratio says how much
of an apply's configuration work is ours.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from nginx_ingress.configmap import parse_configmap
from nginx_ingress.generate import build_configuration
from nginx_ingress.nginx.tree import write_whole
from nginx_ingress.render import render_configuration
from nginx_ingress.settings import Settings

STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")

EVERY_KEY = {
    "proxy-connect-timeout": "5s",
    "proxy-read-timeout": "2m",
    "proxy-send-timeout": "90s",
    "client-max-body-size": "16m",
    "proxy-buffering": "false",
    "proxy-buffers": "16 8k",
    "proxy-buffer-size": "16k",
    "worker-processes": "4",
    "worker-connections": "4096",
    "worker-shutdown-timeout": "4m",
    "keepalive-timeout": "30s 25",
    "keepalive-requests": "500",
    "server-names-hash-bucket-size": "128",
    "server-names-hash-max-size": "2048",
    "error-log-level": "warn",
    "access-log-off": "false",
    "log-format": '{"addr":"$remote_addr","time":"$time_iso8601","status":$status}',
    "ssl-protocols": "TLSv1.2 TLSv1.3",
    "ssl-ciphers": "HIGH:!aNULL:!MD5",
    "ssl-prefer-server-ciphers": "True",
    "http2": "true",
    "hsts": "true",
    "hsts-max-age": "31536000",
    "hsts-include-subdomains": "true",
    "hsts-behind-proxy": "false",
    "ssl-redirect": "true",
    "real-ip-header": "X-Forwarded-For",
    "set-real-ip-from": "10.0.0.0/8, 192.168.0.1, fd00::/8",
    "real-ip-recursive": "1",
    "proxy-protocol": "false",
    "lb-method": "least_conn",
    "max-fails": "3",
    "fail-timeout": "30s",
    "keepalive": "32",
    "upstream-zone-size": "1m",
    "default-server-return": "302 https://example.com/not-found",
    "server-tokens": "false",
    "external-status-address": "203.0.113.10",
    "resolver-addresses": "127.0.0.1",
    "resolver-valid": "30s",
    "resolver-timeout": "10s",
    "zone-sync": "true",
    "zone-sync-port": "34100",
    "zone-sync-resolver-addresses": "10.96.0.10",
    "zone-sync-resolver-valid": "10s",
    "zone-sync-interval": "1s",
    "zone-sync-buffers": "16 8k",
}


def median_seconds(function: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(name: str, data: Mapping[str, str], settings: Settings, runs: int) -> None:
    result = parse_configmap(data, settings)
    assert not result.problems, result.problems
    configuration = build_configuration(result.config, settings, zone_sync_service_ready=True)

    parse_s = median_seconds(lambda: parse_configmap(data, settings), runs)
    build_s = median_seconds(
        lambda: build_configuration(result.config, settings, zone_sync_service_ready=True), runs
    )
    render_s = median_seconds(lambda: render_configuration(configuration), runs)
    total_s = median_seconds(
        lambda: render_configuration(
            build_configuration(
                parse_configmap(data, settings).config, settings, zone_sync_service_ready=True
            )
        ),
        runs,
    )
    nginx_s = nginx_t_seconds(data, runs=max(5, runs // 100))
    print(
        f"{name:<22} parse {parse_s * 1e6:7.1f} µs  build {build_s * 1e6:6.1f} µs  "
        f"render {render_s * 1e6:7.1f} µs  total {total_s * 1e6:7.1f} µs  |  "
        f"nginx -t {nginx_s * 1e3:6.2f} ms  ratio {total_s / nginx_s:.3f}"
    )


def nginx_t_seconds(data: Mapping[str, str], runs: int) -> float:
    """`nginx -t` on the same keys, rendered for OSS NGINX (the Plus-only keys left out)."""
    nginx = shutil.which("nginx")
    if nginx is None:
        sys.exit("nginx is not installed: run scripts/install-system-deps")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "run").mkdir()
        oss = Settings(
            conf_dir=PurePosixPath(root / "conf"),
            run_dir=PurePosixPath(root / "run"),
            load_modules=(PurePosixPath(STREAM_MODULE),) if STREAM_MODULE.exists() else (),
        )
        oss_data = {k: v for k, v in data.items() if not k.startswith(("zone-sync", "resolver"))}
        result = parse_configmap(oss_data, oss)
        assert not result.problems, result.problems
        configuration = build_configuration(result.config, oss, zone_sync_service_ready=False)
        write_whole(root / "conf", render_configuration(configuration))
        command = [nginx, "-t", "-q", "-p", f"{root}/run/", "-c", f"{root}/conf/nginx.conf"]
        subprocess.run(command, check=True, capture_output=True)
        return median_seconds(
            lambda: subprocess.run(command, check=True, capture_output=True), runs
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    render_configuration(
        build_configuration(
            parse_configmap({}, Settings()).config, Settings(), zone_sync_service_ready=True
        )
    )
    print(f"first render (templates compiled): {(time.perf_counter() - start) * 1e3:.1f} ms")
    measure("empty ConfigMap (OSS)", {}, Settings(), args.runs)
    measure("every key (Plus)", EVERY_KEY, Settings(nginx_plus=True), args.runs)


if __name__ == "__main__":
    main()
