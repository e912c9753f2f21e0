"""`nginx-ingress run` as the benchmarks run it: a real process on free ports, with its conf
and run directories under one root and its output in `controller.log` there."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

COMMAND = Path(sys.executable).parent / "nginx-ingress"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ready(port: int) -> bool:
    """`/nginx-ready` answers 200: the first configuration is applied and served."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/nginx-ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass
class Controller:
    process: subprocess.Popen[bytes]
    root: Path
    ports: dict[str, int]
    started: float
    """`time.perf_counter()` just before the process started."""

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "controller.log"

    def wait_ready(self, timeout: float = 3600) -> None:
        """Until `/nginx-ready` answers 200; exits with the log's end if it never does."""
        deadline = time.monotonic() + timeout
        while not ready(self.ports["ready"]):
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the controller did not become ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.02)

    def stop(self, timeout: float = 120) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)


def start(kubeconfig: str, root: Path, *flags: str) -> Controller:
    """The controller against `kubeconfig`, with `flags` after the common ones."""
    ports = {name: free_port() for name in ("http", "https", "status", "ready", "metrics")}
    command = [
        str(COMMAND),
        "run",
        f"--kubeconfig={kubeconfig}",
        f"--conf-dir={root / 'conf'}",
        f"--run-dir={root / 'run'}",
        f"-default-http-listener-port={ports['http']}",
        f"-default-https-listener-port={ports['https']}",
        f"-nginx-status-port={ports['status']}",
        f"-ready-status-port={ports['ready']}",
        f"-prometheus-metrics-listen-port={ports['metrics']}",
        "-log-level=warning",
        *flags,
    ]
    environment = {**os.environ, "POD_NAMESPACE": "nginx-ingress", "POD_NAME": "bench"}
    with (root / "controller.log").open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    return Controller(process, root, ports, started)
