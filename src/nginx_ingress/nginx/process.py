"""The NGINX master process, run as the controller's child.

NGINX runs in the foreground (`daemon off` in the rendered config) so that its
death is the controller's to notice: the controller then exits non-zero and
Kubernetes restarts the pod, with readiness dropping first. Its stderr is read
line by line and forwarded to our log; the lines also tell the NGINX manager when
a reload failed in the master, faster than waiting for the confirmation timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nginx_ingress.deathsignal import death_signal_setter

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
    """One NGINX master and its workers: start, signal, stop, and a watch on its exit.

    Thread-safe: `reload`, `stop` and the properties may be called from any thread.
    `on_exit` is called once, from the watcher thread, when NGINX exits on its own
    (not after `stop`).

    Nothing outlives the master. NGINX runs in a session of its own (a Ctrl-C to
    the controller is ours to forward), so its process group holds the master and
    every worker. When the master is gone (killed, OOM) its workers would live on,
    holding the listening ports and the config-version socket, and the next start
    would fail with "Address already in use": the watcher kills the whole group as
    soon as the master exits, before it reaps the master, so that the group ID
    cannot have been reused. If the controller itself dies (SIGKILL, OOM), the
    kernel sends the master SIGTERM (`PR_SET_PDEATHSIG`), and the master ends its
    workers as on any fast shutdown. The death signal follows the thread that
    started NGINX, not the process, so the watcher thread, which lives exactly as
    long as the master, is the one that starts it.
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
        self._reap_lock = threading.Lock()  # signalling the master versus reaping it
        self._spawn_lock = threading.Lock()  # a start that gives up versus a late spawn

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
            if self._threads:
                raise NginxProcessError("NGINX was already started")
            started = threading.Event()
            failure: list[OSError] = []
            watcher = threading.Thread(
                target=self._spawn_and_watch,
                args=(started, failure),
                name="nginx-watch",
                daemon=True,
            )
            self._threads.append(watcher)
            watcher.start()
            # Popen returns once the exec succeeded or failed; it never waits for NGINX.
            if not started.wait(_SPAWN_TIMEOUT):
                with self._spawn_lock:
                    if not started.is_set():
                        self._stopping.set()  # the watcher ends NGINX should it start after all
                        raise NginxProcessError(f"{self._command.binary} did not start")
            if failure:
                raise NginxProcessError(f"cannot start {self._command.binary}: {failure[0]}")
            assert self._process is not None
            log.info("started NGINX", extra={"pid": self._process.pid})

    def worker_pids(self) -> set[int]:
        """PIDs of NGINX's worker processes that still accept connections.

        Found by process group, not by parent: NGINX is started in a session, hence a
        group, of its own whose ID is the started process's PID, and every process
        of NGINX stays in it. That holds also when the binary runs the real master as
        its child (a wrapper, or the NGINX Plus stand-in of the tests), where the
        workers are grandchildren. Workers are told from the master, the cache
        manager and the cache loader by the title NGINX gives them, "nginx: worker
        process"; an old worker renames itself "worker process is shutting down" when
        it handles the master's QUIT, in the same step in which it closes its
        listening sockets, and is left out. Read from /proc (NGINX runs on Linux here).
        """
        group = self.pid
        if group is None:
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
            # "pid (comm) state ppid pgrp …": comm may hold spaces, so split after the last ')'.
            fields = stat.rsplit(")", 1)[-1].split()
            if (
                len(fields) > 2
                and fields[2] == str(group)
                and cmdline.startswith(_WORKER_TITLE)
                and b"shutting down" not in cmdline
            ):
                workers.add(int(entry.name))
        return workers

    def reload(self) -> None:
        """SIGHUP to the master: it re-reads the configuration once (`nginx -s reload`
        starts a second process that parses it an extra time first: twice as slow)."""
        self._signal(signal.SIGHUP)

    def stop(self, timeout: float) -> int | None:
        """Graceful stop: SIGQUIT lets workers finish their requests; after `timeout`, SIGKILL
        to the master and every worker. Returns once the master is reaped."""
        self._stopping.set()
        process = self._process
        if process is None:
            return None
        with contextlib.suppress(NginxProcessError):  # exited already
            self._signal(signal.SIGQUIT)
        if not self._exited.wait(timeout):
            log.warning("NGINX did not stop within %.1fs; killing it", timeout)
            _kill_group(process.pid)
            self._exited.wait(_SPAWN_TIMEOUT)
        for thread in self._threads:
            thread.join(_SPAWN_TIMEOUT)
        return process.returncode

    def _signal(self, number: signal.Signals) -> None:
        # os.kill, not Popen.send_signal: that one polls, and a poll would reap the master
        # before the watcher has killed the rest of its group.
        with self._reap_lock:
            process = self._process
            if process is None or process.returncode is not None or self._exited.is_set():
                raise NginxProcessError("NGINX is not running")
            os.kill(process.pid, number)

    def _spawn_and_watch(self, started: threading.Event, failure: list[OSError]) -> None:
        try:
            process = subprocess.Popen(
                self._command.arguments(),
                stdin=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, and Ctrl-C is ours to forward
                # Safe with threads here: the function takes no lock (see its docstring).
                preexec_fn=death_signal_setter(DEATH_SIGNAL),  # noqa: PLW1509
            )
        except (OSError, subprocess.SubprocessError) as error:
            failure.append(error if isinstance(error, OSError) else OSError(str(error)))
            self._exited.set()
            started.set()
            return
        self._process = process
        forwarder = threading.Thread(target=self._forward_stderr, name="nginx-stderr", daemon=True)
        forwarder.start()
        with self._spawn_lock:
            started.set()
            abandoned = self._stopping.is_set()  # start() gave up waiting, or stop() came first
        if abandoned:
            os.kill(process.pid, signal.SIGTERM)
        _wait_without_reaping(process.pid)
        # The master is gone but not reaped: its PID, which is the group's ID, cannot have
        # been given to anyone else, so killing the group reaches only what it left behind.
        _kill_group(process.pid)
        with self._reap_lock:
            code = process.wait()
        forwarder.join(_SPAWN_TIMEOUT)  # its pipe closes once every worker is gone
        self._exited.set()
        if not self._stopping.is_set():
            log.error("NGINX exited unexpectedly with status %s", code)
            if self._on_exit is not None:
                self._on_exit(code)

    def _forward_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            level = next((lvl for tag, lvl in _LEVELS.items() if tag in line), logging.INFO)
            log.log(level, "nginx: %s", line)
            if level >= logging.CRITICAL and self._on_error_line is not None:
                self._on_error_line(line)


_SPAWN_TIMEOUT = 10.0
_WORKER_TITLE = b"nginx: worker process"
DEATH_SIGNAL = signal.SIGTERM
"""What the master gets when the controller dies: a fast shutdown, which ends its workers too
(SIGKILL would leave them running; SIGQUIT could wait on a long request for ever)."""


def _wait_without_reaping(pid: int) -> None:
    """Block until `pid` has exited, leaving it a zombie (so its PID stays taken)."""
    with contextlib.suppress(ChildProcessError):  # reaped by someone else already
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def _kill_group(group: int) -> None:
    """SIGKILL every process left in `group`; nothing to do when it is empty."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError as error:  # a worker that changed user stays ours to kill as root
        log.warning("cannot kill what is left of NGINX's process group %d: %s", group, error)


def run_command(arguments: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a short command (`nginx -t`, `nginx -V`) and capture its text output.

    In a session of its own, so that on timeout everything it started dies with it
    (`subprocess.run` kills only the direct child: a wrapper script's children would
    live on, holding the output pipes). Raises `subprocess.TimeoutExpired` and `OSError`.
    """
    with subprocess.Popen(
        arguments,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)  # not reaped yet: the group ID is still its own
            process.communicate()
            raise
    return subprocess.CompletedProcess(arguments, process.returncode, stdout, stderr)


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
