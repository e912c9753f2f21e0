"""`nginx-ingress dev` as a user runs it: a process whose output is read line by line.

A reader thread queues every line of standard output (standard error is merged in), so
a test waits for the line it expects instead of sleeping, and a failing test shows the
whole output. The examples are copied with their backend ports replaced by free ones,
so a run never depends on 9081 and its neighbours being free.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nginx_sandbox import free_port

ROOT = Path(__file__).resolve().parent.parent
COMMAND = Path(sys.executable).parent / "nginx-ingress"
EXAMPLE_PORTS = re.compile(r"127\.0\.0\.1:(908\d)")


def copy_example(name: str, destination: Path) -> Path:
    """`examples/<name>` copied to `destination`, each backend port replaced by a free one."""
    shutil.copytree(ROOT / "examples" / name, destination)
    chosen: dict[str, int] = {}
    for path in destination.rglob("*.yaml"):
        text = EXAMPLE_PORTS.sub(
            lambda m: f"127.0.0.1:{chosen.setdefault(m[1], free_port())}", path.read_text()
        )
        path.write_text(text)
    return destination


@dataclass
class DevOutput:
    """The lines a process printed, and a way to wait for the next ones."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _next(self, deadline: float) -> str | None:
        """The next line, recorded; None once the output ended or `deadline` passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            line = self._queue.get(timeout=left)
        except queue.Empty:
            return None
        if line is None:
            self._queue.put(None)  # the end stays for the next reader
            return None
        self.lines.append(line)
        return line

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60.0) -> str:
        """The first line from now on that satisfies `predicate`; fails with everything
        printed so far after `timeout` or when the output ends."""
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline)) is not None:
            if predicate(line):
                return line
        raise AssertionError(f"the line did not come; the output so far:\n{self.text()}")

    def until(self, predicate: Callable[[str], bool], timeout: float = 60.0) -> list[str]:
        """Every line up to and including the first that satisfies `predicate`."""
        start = len(self.lines)
        self.wait_for(predicate, timeout)
        return self.lines[start:]

    def rest(self, timeout: float = 30.0) -> list[str]:
        """Every line until the output ends."""
        start = len(self.lines)
        deadline = time.monotonic() + timeout
        while self._next(deadline) is not None:
            pass
        return self.lines[start:]

    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def dev_run(*arguments: str, command: list[str] | None = None) -> Iterator[DevOutput]:
    """Run `nginx-ingress dev ARGUMENTS` (or `command`), stopping it with SIGTERM if the
    test did not."""
    process = subprocess.Popen(
        command or [str(COMMAND), "dev", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=command is not None,  # `make`: its whole group gets the signal
    )
    output = DevOutput(process)
    try:
        yield output
    finally:
        if process.poll() is None:
            if command is not None:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
            process.wait(60)


def curl_commands(lines: list[str]) -> list[list[str]]:
    """The `curl …` commands of the output's "try:" block, as argument lists."""
    return [shlex.split(line.strip()) for line in lines if line.startswith("  curl ")]


def run_curl(arguments: list[str]) -> tuple[int, str]:
    """(HTTP status, body) of a printed `curl` command, run as printed (plus output flags)."""
    done = subprocess.run(
        [*arguments, "-sS", "--max-time", "10", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"{shlex.join(arguments)}: {done.stderr}"
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention `text` (a state directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found
