"""Helm's own Go library (the `helm-sdkpy` package) behind a line protocol, run by the
test-tools environment's Python (.venv-tools), which is the only place helm-sdkpy is installed.

One request per line on standard input, one answer per line on standard output, both JSON:
    {"action": "install", "release": "r", "chart": "charts/x", "namespace": "ns", "values": {}}
    -> {"ok": true, "result": {...}}   or   {"ok": false, "error": "...", "type": "InstallError"}
Actions: lint, install, upgrade, uninstall, list. One process keeps one Helm configuration
per namespace for its whole life, because the memory storage driver (HELM_DRIVER=memory,
which the caller sets) keeps releases inside that configuration.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import helm_sdkpy  # type: ignore[import-not-found]

TIMEOUT = 60


class Driver:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.configurations: dict[str, Any] = {}

    def configuration(self, namespace: str) -> Any:
        if namespace not in self.configurations:
            self.configurations[namespace] = helm_sdkpy.Configuration(
                namespace=namespace, kubeconfig=self.kubeconfig
            )
        return self.configurations[namespace]

    def handle(self, request: dict[str, Any]) -> Any:
        action = request["action"]
        config = self.configuration(request.get("namespace", "default"))
        if action == "lint":
            return asyncio.run(helm_sdkpy.Lint(config).run(request["chart"]))
        if action in ("install", "upgrade"):
            run = (helm_sdkpy.Install if action == "install" else helm_sdkpy.Upgrade)(config).run
            return asyncio.run(
                run(
                    request["release"],
                    request["chart"],
                    values=request.get("values") or None,
                    wait=False,
                    timeout=TIMEOUT,
                )
            )
        if action == "uninstall":
            return asyncio.run(
                helm_sdkpy.Uninstall(config).run(request["release"], wait=False, timeout=TIMEOUT)
            )
        if action == "list":
            return asyncio.run(helm_sdkpy.List(config).run(all=True))
        raise ValueError(f"unknown action {action!r}")


def main() -> int:
    driver = Driver(sys.argv[1])
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"ok": True, "result": driver.handle(request)}
        except Exception as error:
            answer = {"ok": False, "error": str(error), "type": type(error).__name__}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
