"""Session checks shared by every test: the real NGINX must be installed, and no test may
leave a process running.

Leftover processes are found through the process tree. pytest makes itself a child
subreaper (`PR_SET_CHILD_SUBREAPER`), so a process whose parent dies is handed to
pytest instead of to init: NGINX workers whose master was killed, or an NGINX master
whose controller was killed, stay below pytest where the check sees them. After each
test, every descendant of pytest that was not there before it and still runs fails
the test (and is killed, so the next tests start clean).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# The local Kubernetes API server's fixtures (dev_cluster, dev_cluster_factory, kube_client).
pytest_plugins = ["nginx_ingress_dev.devcluster.pytest_plugin"]

_PR_SET_CHILD_SUBREAPER = 36
_GRACE = 5.0
"""Seconds a process may take to finish exiting after its test ended."""


def pytest_configure() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


@pytest.fixture(scope="session", autouse=True)
def _nginx_is_installed() -> None:
    """Tests run the real `nginx`; without it they must fail, not quietly pass."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: run scripts/install-system-deps (make does it)")


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    before = set(running_descendants())
    yield
    deadline = time.monotonic() + _GRACE
    while (left := running_descendants().keys() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    _reap_orphaned_nginx()
    if left:
        found = running_descendants()
        report = "; ".join(f"{pid} {found.get(pid, '?')}" for pid in sorted(left))
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the test left processes running: {report}")


def _processes() -> dict[int, tuple[str, str, int]]:
    """pid → (comm, state, ppid) for every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # exited meanwhile
            head, _, tail = stat.rpartition(")")
            fields = tail.split()
            found[int(entry.name)] = (head.partition("(")[2], fields[0], int(fields[1]))
    return found


def running_descendants() -> dict[int, str]:
    """pid → command line of every live (not zombie) descendant of this pytest process."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_comm, _state, ppid) in processes.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, str] = {}
    pending = list(children.get(os.getpid(), []))
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        comm, state, _ppid = processes[pid]
        if state != "Z":
            try:
                cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
            except OSError:
                continue
            found[pid] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip() or comm
    return found


def _reap_orphaned_nginx() -> None:
    """Reap NGINX processes handed to pytest as orphans once they have exited.

    Only zombies named `nginx`: the NGINX masters that tests start in this process
    are reaped by their own watcher before their test ends, and every other child
    (a controller, a command) belongs to a `Popen` whose status must stay its own.
    """
    for pid, (comm, state, ppid) in _processes().items():
        if ppid == os.getpid() and state == "Z" and comm == "nginx":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
