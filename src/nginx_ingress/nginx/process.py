"""The NGINX master process, run as the controller's child.

NGINX runs in the foreground (`daemon off` in the rendered config) so that its
death is the controller's to notice: the controller then exits non-zero and
Kubernetes restarts the pod, with readiness dropping first. Its stderr is read
line by line and forwarded to our log; the lines also tell the NGINX manager when
a reload failed in the master, faster than waiting for the confirmation timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("nginx_ingress.nginx")

# "2026/11/26 20:34:53 [emerg] 8660#8660: message" → the level.
_LEVELS = {
    "[debug]": logging.DEBUG,
    "[info]": logging.INFO,
    "[notice]": logging.INFO,
    "[warn]": logging.WARNING,
    "[error]": logging.ERROR,
    "[crit]": logging.CRITICAL,
    "[alert]": logging.CRITICAL,
    "[emerg]": logging.CRITICAL,
}


class NginxProcessError(RuntimeError):
    """NGINX could not be started, or is not running when it should be."""


@dataclass(frozen=True, slots=True)
class NginxCommand:
    """How to run NGINX: the binary, its prefix (pid, temp files) and the main config."""

    binary: str
    prefix: Path
    config: Path

    def arguments(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-e",
            "stderr",
            "-p",
            f"{self.prefix}/",
            "-c",
            str(self.config),
            *extra,
        ]


class NginxProcess:
    """One NGINX master: start, signal, stop, and a watch on its exit.

    Thread-safe: `reload`, `stop` and the properties may be called from any thread.
    `on_exit` is called once, from the watcher thread, when NGINX exits on its own
    (not after `stop`).
    """

    def __init__(
        self,
        command: NginxCommand,
        *,
        on_exit: Callable[[int], None] | None = None,
        on_error_line: Callable[[str], None] | None = None,
    ) -> None:
        self._command = command
        self._on_exit = on_exit
        self._on_error_line = on_error_line
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._exited = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and not self._exited.is_set()

    @property
    def exited(self) -> threading.Event:
        return self._exited

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    def start(self) -> None:
        with self._lock:
            if self._process is not None:
                raise NginxProcessError("NGINX was already started")
            try:
                self._process = subprocess.Popen(
                    self._command.arguments(),
                    stdin=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # a Ctrl-C to the controller is ours to forward
                )
            except OSError as error:
                raise NginxProcessError(f"cannot start {self._command.binary}: {error}") from error
            log.info("started NGINX", extra={"pid": self._process.pid})
            for target, name in ((self._forward_stderr, "stderr"), (self._watch, "watch")):
                thread = threading.Thread(target=target, name=f"nginx-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def worker_pids(self) -> set[int]:
        """PIDs of the master's children that still accept connections.

        An old worker renames itself "worker process is shutting down" when it handles
        the master's QUIT, in the same step in which it closes its listening sockets;
        such workers are left out. Read from /proc (NGINX runs on Linux here).
        """
        master = self.pid
        if master is None:
            return set()
        workers = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # exited meanwhile
            # "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
            fields = stat.rsplit(")", 1)[-1].split()
            if len(fields) > 1 and fields[1] == str(master) and b"shutting down" not in cmdline:
                workers.add(int(entry.name))
        return workers

    def reload(self) -> None:
        """SIGHUP to the master: it re-reads the configuration once (`nginx -s reload`
        starts a second process that parses it an extra time first: twice as slow)."""
        self._signal(signal.SIGHUP)

    def stop(self, timeout: float) -> int | None:
        """Graceful stop: SIGQUIT lets workers finish their requests; SIGKILL after `timeout`."""
        self._stopping.set()
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            self._signal(signal.SIGQUIT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("NGINX did not stop within %.1fs; killing it", timeout)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self._exited.wait(5)
        for thread in self._threads:
            thread.join(5)
        return process.returncode

    def _signal(self, number: signal.Signals) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            raise NginxProcessError("NGINX is not running")
        process.send_signal(number)

    def _forward_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            level = next((lvl for tag, lvl in _LEVELS.items() if tag in line), logging.INFO)
            log.log(level, "nginx: %s", line)
            if level >= logging.CRITICAL and self._on_error_line is not None:
                self._on_error_line(line)

    def _watch(self) -> None:
        assert self._process is not None
        code = self._process.wait()
        self._exited.set()
        if not self._stopping.is_set():
            log.error("NGINX exited unexpectedly with status %s", code)
            if self._on_exit is not None:
                self._on_exit(code)


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    interval: float = 0.025,
    *,
    give_up: threading.Event | None = None,
) -> bool:
    """Poll `predicate` until it holds; False after `timeout`, or at once when `give_up` is set."""
    deadline = time.monotonic() + timeout
    stop = give_up or threading.Event()
    while True:
        if predicate():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stop.wait(min(interval, remaining)):
            return False
