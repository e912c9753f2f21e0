"""The controller, run as `nginx-ingress run` in a child process: the production entry
point, talking to the local API server over HTTP with a kubeconfig, as in a cluster.

A child rather than a thread because that is the code path a cluster runs (its own
signal handling, its own NGINX child, its exit codes), and because a crash of the
controller must show as a crash, not take the API server down with it. It runs in
a session of its own with a death signal (see processes.py); its output goes to a
log file in the state directory, and the run reports what it did from the API
(events) and from NGINX (the configuration version), not from that log.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nginx_ingress.deathsignal import death_signal_setter
from nginx_ingress_dev.localrun.standins import CONFIGMAP, ControllerIdentity
from nginx_ingress_dev.localrun.state import StateDir

NGINX_LOG_LINE = "nginx_ingress.nginx: nginx: "
"""How the controller's log forwards a line of NGINX's error log."""
STOP_TIMEOUT = 30.0
"""Seconds the controller may take to stop NGINX gracefully before it is killed."""


@dataclass(frozen=True)
class ControllerPorts:
    http: int
    https: int
    nginx_status: int
    ready: int
    metrics: int


@dataclass(frozen=True)
class ControllerLaunch:
    kubeconfig: Path
    state: StateDir
    identity: ControllerIdentity
    ports: ControllerPorts
    nginx_binary: str | None
    """None with `render_only`: NGINX is never run."""
    nginx_plus: bool
    render_only: bool

    def arguments(self) -> list[str]:
        ports = self.ports
        arguments = [
            sys.executable,
            "-m",
            "nginx_ingress",
            "run",
            f"--kubeconfig={self.kubeconfig}",
            f"-nginx-configmaps={self.identity.namespace}/{CONFIGMAP}",
            f"-conf-dir={self.state.conf_dir}",
            f"-run-dir={self.state.run_dir}",
            f"-default-http-listener-port={ports.http}",
            f"-default-https-listener-port={ports.https}",
            f"-nginx-status-port={ports.nginx_status}",
            f"-ready-status-port={ports.ready}",
            f"-prometheus-metrics-listen-port={ports.metrics}",
            "-log-format=text",
        ]
        if self.nginx_binary is not None:
            arguments.append(f"-nginx-binary={self.nginx_binary}")
        if self.nginx_plus:
            arguments.append("-nginx-plus")
        if self.render_only:
            arguments.append("-render-only")
        return arguments

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "POD_NAMESPACE": self.identity.namespace,
            "POD_NAME": self.identity.pod,
            "PYTHONUNBUFFERED": "1",
        }


class ControllerProcess:
    def __init__(self, launch: ControllerLaunch) -> None:
        self.launch = launch
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start it from the calling thread, which must outlive it (the death signal
        follows the thread that started the child)."""
        log = self.launch.state.controller_log
        arguments = self.launch.arguments()
        with log.open("wb") as output:
            # The command line first, so the log says how the controller was run.
            output.write(f"# {shlex.join(arguments)}\n".encode())
            output.flush()
            self._process = subprocess.Popen(
                arguments,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.launch.environment(),
                start_new_session=True,  # a Ctrl-C is the run's to turn into an orderly stop
                preexec_fn=death_signal_setter(),  # noqa: PLW1509 - takes no lock
            )

    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def ready(self) -> bool:
        """`/nginx-ready` answers 200: the first configuration is applied and served."""
        connection = http.client.HTTPConnection("127.0.0.1", self.launch.ports.ready, timeout=1)
        try:
            connection.request("GET", "/nginx-ready")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> int | None:
        """SIGTERM (the controller stops NGINX gracefully, then exits 0); its whole process
        group is killed if it takes longer than `STOP_TIMEOUT`. Returns its exit status."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def last_error(self) -> str | None:
        """The controller's own reason for stopping: its last `error:` line, or its last
        line at error level that is its own (NGINX's error log, forwarded into the same
        log, tells about requests, not about the controller). None when it was killed:
        then it said nothing."""
        code = self.returncode()
        if code is not None and code < 0:
            return None
        try:
            lines = self.launch.state.controller_log.read_text(errors="replace").splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            if line.startswith("error: "):
                return line.removeprefix("error: ")
        for line in reversed(lines):
            if (" ERROR " in line or " CRITICAL " in line) and NGINX_LOG_LINE not in line:
                return line
        return None
