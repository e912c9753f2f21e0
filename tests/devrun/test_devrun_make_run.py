"""`make run`, the README's first command, up to the first request routed through NGINX to a
backend, then a Ctrl-C (SIGINT to make's process group, as a terminal sends it)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dev_run import ROOT, copy_example, curl_commands, dev_run, processes_mentioning, run_curl
from nginx_sandbox import free_port

SCRIPT = ROOT / "scripts" / "install-system-deps"


def test_make_run_routes_the_first_request_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    cafe = copy_example("cafe", tmp_path / "cafe")
    state = tmp_path / "state"
    flags = shlex.join(
        [
            "--manifests", str(cafe), "--state-dir", str(state),
            "--http-port", str(free_port()), "--https-port", str(free_port()),
        ]
    )  # fmt: skip
    make = ["make", "--no-print-directory", "-C", str(ROOT), "run", f"VENV={sys.prefix}"]
    with dev_run(command=[*make, f"DEV_FLAGS={flags}"]) as run:
        started = run.until(lambda line: line.startswith("edit the files in"), timeout=300)
        assert any("nginx-ingress dev --backends" in line for line in started), run.text()
        first = curl_commands(started)[0]
        status, body = run_curl(first)
        assert status == 200, body
        assert body.startswith("coffee cafe.example.com /coffee 127.0.0.1:")

        os.killpg(run.process.pid, signal.SIGINT)
        run.process.wait(60)
        assert "stopped" in run.rest(), run.text()
    assert "Traceback" not in run.text()
    assert processes_mentioning(str(state)) == []


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop root")
def test_make_run_tells_a_user_without_root_what_to_install(tmp_path: Path) -> None:
    """With NGINX missing, root installs it; anyone else is told what to install."""
    command = ["/bin/sh", str(SCRIPT), "--run"]
    if os.getuid() == 0:
        setpriv = str(shutil.which("setpriv"))
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # No nginx on this PATH (Debian's is in /usr/sbin), nor under SYSTEM_DEPS_ROOT.
        env={"PATH": "/usr/bin:/bin", "SYSTEM_DEPS_ROOT": str(tmp_path)},
    )
    assert done.returncode == 1
    assert done.stderr == (
        "install-system-deps: missing nginx-light libnginx-mod-stream; install as root: "
        "apt-get install --no-install-recommends nginx-light libnginx-mod-stream\n"
    )


def test_system_deps_are_quiet_when_present() -> None:
    done = subprocess.run(
        ["sh", str(SCRIPT), "--run"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
