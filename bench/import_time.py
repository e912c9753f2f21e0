"""Start-up cost of the production entry point: importing `nginx_ingress.cli`.

Run: `.venv/bin/python bench/import_time.py [--src DIR] [--runs N]`.

Each run is a fresh interpreter that imports the CLI module and builds its parser, as
`nginx-ingress run` does before anything else; the baseline is a bare interpreter start.
It reports the median extra wall time, the modules loaded, and whether the development
tools or test libraries came along. `--src` measures another checkout's `src/` (put first
on PYTHONPATH), e.g. the commit before the development tools moved out of the product:

    git worktree add /tmp/before ed71e5f
    .venv/bin/python bench/import_time.py --src /tmp/before/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PROBE = """
import json, sys
import nginx_ingress.cli
nginx_ingress.cli.build_parser()
names = sorted(sys.modules)
print(json.dumps({
    "modules": len(names),
    "development": [n for n in names if n.split(".")[0] in (
        "nginx_ingress_dev", "pytest", "_pytest", "hypothesis")
        or n.startswith("nginx_ingress.devcluster") or n == "nginx_ingress.plusapi_stub"],
}))
"""


def _timed(arguments: list[str], environment: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(arguments, env=environment, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description="import time of nginx_ingress.cli")
    parser.add_argument("--src", help="a src/ directory to measure instead of the installed one")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    environment = dict(os.environ)
    if args.src:
        environment["PYTHONPATH"] = os.pathsep.join(
            [args.src, *filter(None, [environment.get("PYTHONPATH")])]
        )
    bare = [_timed([sys.executable, "-c", "pass"], environment)[0] for _ in range(args.runs)]
    probes = [_timed([sys.executable, "-c", PROBE], environment) for _ in range(args.runs)]
    report = json.loads(probes[-1][1])
    extra = statistics.median(t for t, _ in probes) - statistics.median(bare)
    print(f"source: {args.src or 'installed package'}")
    print(f"import nginx_ingress.cli + build_parser: {extra * 1000:.0f} ms over a bare start")
    print(f"modules loaded: {report['modules']}")
    development = report["development"]
    print(f"development or test modules loaded: {len(development)}")
    for name in development[:10]:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
