"""`nginx-plus-standin` as an NGINX Plus master: a real OSS master underneath, on the shadow
tree, and the Plus API stub beside it.

What the controller sees is a master process: it stays in the foreground, takes
SIGHUP (reload), SIGQUIT (graceful stop), SIGTERM and SIGINT (fast stop), SIGUSR1
(reopen logs; the binary upgrade's SIGUSR2 and SIGWINCH are logged and ignored), and
writes NGINX's lines on standard error. Underneath:

- Start: crossplane parses the original (a refusal is NGINX's `nginx: [emerg] …` and
  exit 1), the API listeners start and are seeded, the shadow is written, and the
  real master starts on it as our child, in our process group (so the controller's
  kill of the group reaches it and its workers) and with a death signal (SIGTERM
  when the stand-in dies).
- Reload: the original is parsed again; a refusal is logged as the master logs it
  (`… [emerg] …: message in /original/file:line`) and nothing changes, as a Plus
  master keeps its configuration. Otherwise the shadow is rewritten, the API loads
  the upstreams anew, and the real master gets SIGHUP. If it then logs `[emerg]`
  before a new worker appears, the API's data goes back before the line is passed
  on, so the controller, reacting to the line, finds the old data.
- Every line of the real master has the shadow's directory replaced by the
  original's; line numbers already agree (see `emit`).
- When the real master exits, for whatever reason, the stand-in stops its
  listeners and exits with the master's status: nothing of it outlives NGINX.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nginx_ingress.deathsignal import death_signal_setter
from nginx_ingress_dev.plus_standin import shadow
from nginx_ingress_dev.plus_standin.api import StandinApi, Undo
from nginx_ingress_dev.plus_standin.config import Config, ConfigError, parse
from nginx_ingress_dev.plus_standin.control import ControlServer, control_socket, state_directory
from nginx_ingress_dev.plus_standin.declared import declared
from nginx_ingress_dev.plus_standin.engine import Engine
from nginx_ingress_dev.plus_standin.invocation import Invocation
from nginx_ingress_dev.plus_standin.logline import ErrorOutput, early, running

SHADOW_DIRECTORY = "shadow"
RELOAD_WATCH = 60.0
"""Seconds after a SIGHUP during which an `[emerg]` of the real master undoes the API's
reload, unless a new worker appeared first."""
_JOIN_TIMEOUT = 10.0
_FORWARDED = {
    signal.SIGQUIT: signal.SIGQUIT,
    signal.SIGTERM: signal.SIGTERM,
    signal.SIGINT: signal.SIGTERM,  # NGINX: TERM and INT are both a fast shutdown
    signal.SIGUSR1: signal.SIGUSR1,
}
_NOT_MODELLED = (signal.SIGUSR2, signal.SIGWINCH)
"""The binary upgrade: logged and ignored (SIGUSR2 would otherwise end the stand-in)."""
_WORKER_TITLE = b"nginx: worker process"


@dataclass(frozen=True, slots=True)
class _Pending:
    """A reload sent to the real master, not yet seen to succeed or fail."""

    undo: Undo
    old_workers: frozenset[int]
    until: float


class Master:
    def __init__(self, invocation: Invocation, engine: Engine, output: ErrorOutput) -> None:
        self._invocation = invocation
        self._engine = engine
        self._output = output
        self._prefix, self._main = invocation.required()
        self._state = state_directory(self._prefix)
        self._events: queue.SimpleQueue[signal.Signals | str] = queue.SimpleQueue()
        self._api = StandinApi()
        self._shadow: shadow.Shadow | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: _Pending | None = None
        self._lock = threading.Lock()  # _pending and _shadow, between the main and stderr threads

    def run(self) -> int:
        for number in (signal.SIGHUP, *_FORWARDED, *_NOT_MODELLED):
            signal.signal(number, self._signalled)
        try:
            config = parse(self._main)
        except ConfigError as error:
            self._output.line(early("emerg", error.message))
            return 1
        self._state.mkdir(parents=True, exist_ok=True)
        self._api.start()
        control: ControlServer | None = None
        try:
            planned = self._prepare(config)
            for problem in self._api.load(declared(config))[1]:
                self._output.line(early("warn", f"plus-standin: {problem}"))
            control = ControlServer(control_socket(self._prefix), self._api)
            control.start()
            process = self._start(planned)
            return self._serve(process)
        except OSError as error:
            self._output.line(early("emerg", f"plus-standin: {error}"))
            return 1
        finally:
            if control is not None:
                control.stop()
            self._api.stop()

    # --- start and reload ----------------------------------------------------------------

    def _prepare(self, config: Config) -> shadow.Shadow:
        planned = shadow.plan(
            config,
            self._state / SHADOW_DIRECTORY,
            self._api.route,
            self._engine.stream_module(),
        )
        shadow.write(planned)
        self._api.serve_sockets(planned.api_sockets)
        with self._lock:
            self._shadow = planned
        return planned

    def _start(self, planned: shadow.Shadow) -> subprocess.Popen[bytes]:
        arguments = ["-p", f"{self._prefix}/", "-c", str(planned.main)]
        process = subprocess.Popen(
            self._engine.command(*arguments, *self._invocation.passed_on()),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Safe with threads here: the function takes no lock (see its docstring).
            preexec_fn=death_signal_setter(),  # noqa: PLW1509
        )
        self._process = process
        return process

    def _reload(self, process: subprocess.Popen[bytes]) -> None:
        try:
            config = parse(self._main)
        except ConfigError as error:
            self._output.line(running("emerg", error.message))  # and keep the old one
            return
        try:
            self._prepare(config)
        except OSError as error:
            self._output.line(running("alert", f"plus-standin: cannot write the shadow: {error}"))
            return
        undo, problems = self._api.load(declared(config))
        for problem in problems:
            self._output.line(running("warn", f"plus-standin: {problem}"))
        with self._lock:
            self._pending = _Pending(
                undo, frozenset(_workers(process.pid)), time.monotonic() + RELOAD_WATCH
            )
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGHUP)

    # --- the loop ------------------------------------------------------------------------

    def _serve(self, process: subprocess.Popen[bytes]) -> int:
        forwarder = threading.Thread(
            target=self._forward_stderr, args=(process,), name="standin-stderr"
        )
        forwarder.start()
        waiter = threading.Thread(target=self._wait, args=(process,), name="standin-wait")
        waiter.start()
        while True:
            try:
                event = self._events.get(timeout=0.02 if self._pending else 1.0)
            except queue.Empty:
                self._settle(process)
                continue
            if event == "exited":
                break
            if event == signal.SIGHUP:
                self._reload(process)
            elif isinstance(event, signal.Signals) and event in _FORWARDED:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, _FORWARDED[event])
            elif isinstance(event, signal.Signals):
                message = f"plus-standin: {event.name} (binary upgrade) is not modelled; ignored"
                self._output.line(running("notice", message))
        waiter.join(_JOIN_TIMEOUT)
        forwarder.join(_JOIN_TIMEOUT)  # its pipe closes once the last worker is gone
        code = process.returncode
        return code if code is not None and code >= 0 else 1

    def _wait(self, process: subprocess.Popen[bytes]) -> None:
        process.wait()
        self._events.put("exited")

    def _signalled(self, number: int, _frame: object) -> None:
        self._events.put(signal.Signals(number))  # SimpleQueue.put is safe in a handler

    def _settle(self, process: subprocess.Popen[bytes]) -> None:
        """A pending reload has succeeded once a new worker runs (or the watch has ended)."""
        with self._lock:
            pending = self._pending
            if pending is None:
                return
            if time.monotonic() > pending.until or _workers(process.pid) - pending.old_workers:
                self._pending = None

    def _forward_stderr(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                if self._shadow is not None:
                    line = self._shadow.original(line)
                pending = self._pending
                if pending is not None and "[emerg]" in line:
                    self._pending = None
                    self._api.undo(pending.undo)  # before the controller reads the line
            self._output.line(line)


def _workers(master: int) -> set[int]:
    """The real master's worker processes that still accept connections."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        worker = title.startswith(_WORKER_TITLE) and b"shutting down" not in title
        if worker and fields[1] == str(master):
            found.add(int(entry.name))
    return found
