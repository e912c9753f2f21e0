"""Real Helm for the tests: a client of `helm_driver.py`, which runs in the test-tools
environment (`.venv-tools`, made by `make`) where helm-sdkpy and its Go library live.

helm-sdkpy is kept out of the project's own environment on purpose: it is a 120 MB test
tool that declares Python 3.12, and nothing in the product may come to depend on it.
Helm runs with HELM_DRIVER=memory: its default storage writes release Secrets with a
protobuf body, and the memory driver keeps releases inside the driver process instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "nginx-ingress"
TOOLS_PYTHON = Path(os.environ.get("NGINX_INGRESS_TOOLS_VENV", ROOT / ".venv-tools")) / "bin/python"
DRIVER = Path(__file__).resolve().parent / "helm_driver.py"


class HelmFailed(RuntimeError):
    """Helm refused or failed; the message is Helm's."""


class Helm:
    """One driver process, so releases stored by the memory driver live as long as it."""

    def __init__(self, kubeconfig: Path) -> None:
        if not TOOLS_PYTHON.exists():
            raise RuntimeError(f"{TOOLS_PYTHON} is missing: run `make` (it installs .venv-tools)")
        environment = {**os.environ, "HELM_DRIVER": "memory", "HOME": str(kubeconfig.parent)}
        environment.pop("KUBECONFIG", None)
        self._process = subprocess.Popen(
            [str(TOOLS_PYTHON), str(DRIVER), str(kubeconfig)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            text=True,
        )

    def _call(self, **request: Any) -> Any:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the Helm driver exited with {self._process.wait()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise HelmFailed(f"{answer['type']}: {answer['error']}")
        return answer["result"]

    def lint(self, chart: Path = CHART) -> dict[str, Any]:
        result: dict[str, Any] = self._call(action="lint", chart=str(chart))
        return result

    def install(
        self, release: str, namespace: str, values: dict[str, Any], chart: Path = CHART
    ) -> dict[str, Any]:
        return self._release("install", release, namespace, values, chart)

    def upgrade(
        self, release: str, namespace: str, values: dict[str, Any], chart: Path = CHART
    ) -> dict[str, Any]:
        return self._release("upgrade", release, namespace, values, chart)

    def _release(
        self, action: str, release: str, namespace: str, values: dict[str, Any], chart: Path
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            action=action, release=release, namespace=namespace, chart=str(chart), values=values
        )
        return result

    def uninstall(self, release: str, namespace: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            action="uninstall", release=release, namespace=namespace
        )
        return result

    def releases(self, namespace: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] | None = self._call(action="list", namespace=namespace)
        return result or []  # Helm answers null for none

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
