"""The local run's other modes: the zone-sync example on NGINX OSS and rendered for NGINX Plus,
start-up problems as one line, and a stop in the middle of the start.

Rate limiting is being built: these tests look at zone sync and routing only, never at how
the example's `nginx.org/limit-req-*` annotations are reported."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from nginx_ingress.nginx.ownership import MARKER

from dev_run import (
    COMMAND,
    ROOT,
    copy_example,
    curl_commands,
    dev_run,
    processes_mentioning,
    run_curl,
)
from nginx_sandbox import free_port

READY = re.compile(r"ready in \d+\.\d s")


def test_zone_sync_on_nginx_oss_is_refused_with_events_and_routing_goes_on(
    tmp_path: Path,
) -> None:
    example = copy_example("zone-sync", tmp_path / "zone-sync")
    with dev_run(
        "--backends", "--manifests", str(example), "--state-dir", str(tmp_path / "state"),
        "--http-port", str(free_port()), "--https-port", str(free_port()),
    ) as run:  # fmt: skip
        started = run.until(lambda line: line.startswith("edit the files in"))
        text = "\n".join(started)
        assert re.search(r"^applied version 1: 1 Ingress, \d+ problems?$", text, re.M), text
        for key, value in (("zone-sync", "true"), ("zone-sync-port", "12345")):
            assert (
                f"  Warning InvalidValue ConfigMap nginx-ingress/nginx-config: {key}: invalid "
                f'value "{value}": requires NGINX Plus (-nginx-plus); zone sync stays off'
            ) in started, text
        assert any(
            line.startswith("  Warning UpdatedWithError ConfigMap nginx-ingress/nginx-config:")
            for line in started
        )
        assert re.search(r"^  \w+ AddedOrUpdated\w* Ingress zone-sync/web:", text, re.M), text
        (command,) = curl_commands(started)
        status, body = run_curl(command)
        assert status == 200
        assert body.startswith("web sync.example.com / 127.0.0.1:")


def test_nginx_plus_render_only_shows_the_zone_sync_server_and_its_headless_service(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    # What an earlier run left: the version file of its first configuration, version 1 too.
    (state / "conf").mkdir(parents=True)
    (state / "conf" / MARKER).write_text("")
    stale = state / "conf" / "config-version.conf"
    stale.write_text("server {\n    location = /configVersion {\n        return 200 1;\n    }\n}\n")
    os.utime(stale, (time.time() - 600, time.time() - 600))
    with dev_run(
        "--manifests", str(ROOT / "examples" / "zone-sync"), "--nginx-plus", "--render-only",
        "--state-dir", os.path.relpath(state, ROOT),  # relative, with `..`: made absolute
    ) as run:  # fmt: skip
        started = run.until(lambda line: line.startswith("edit the files in"))
        text = "\n".join(started)
        assert re.search(r"^wrote version 1: 1 Ingress, \d+ problems?$", text, re.M), text
        assert "  Normal Updated ConfigMap nginx-ingress/nginx-config: " in text
        block = started.index(f"the zone-sync server in {state / 'conf' / 'nginx.conf'}:")
        assert started[block + 1 : block + 8] == [
            "    server {",
            "        listen 12345;",
            "        listen [::]:12345;",
            "        resolver kube-dns.kube-system.svc.cluster.local valid=5s;",
            "        zone_sync;",
            "        zone_sync_server nginx-ingress-headless.nginx-ingress.svc.cluster.local:12345"
            " resolve;",
            "    }",
        ]
        assert started[block + 8] == (
            "its peers come from the headless Service nginx-ingress/nginx-ingress-headless: "
            "headless, selector app.kubernetes.io/instance=dev,app.kubernetes.io/name="
            "nginx-ingress, zone-sync 12345"
        )
        assert "curl" not in text  # no NGINX runs: nothing to send requests to
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(60) == 0
        assert run.rest()[-1] == "stopped"
    assert processes_mentioning(str(state)) == []


def _one_error_line(*arguments: str, state: Path) -> str:
    done = subprocess.run(
        [str(COMMAND), "dev", "--state-dir", str(state), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("dev: error: ")
    assert processes_mentioning(str(state)) == []
    return line.removeprefix("dev: error: ")


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert _one_error_line("--manifests", str(missing), state=tmp_path / "state") == (
        f"--manifests {missing}: no such file or directory"
    )


def test_a_port_another_program_holds_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = _one_error_line(
            "--http-port", str(port), "--https-port", str(free_port()), state=tmp_path / "state"
        )
    assert line == (
        f"--http-port {port}: cannot listen there: another program listens there; choose another"
    )


def test_a_state_directory_in_use_is_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with (state / "lock").open("ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        line = _one_error_line("--render-only", state=state)
    assert line == (
        f"another `nginx-ingress dev` uses the state directory {state}: stop it, or give this "
        "one its own --state-dir"
    )


def test_nginx_plus_with_nginx_oss_ends_with_the_controllers_reason(tmp_path: Path) -> None:
    line = _one_error_line(
        "--nginx-plus", "--http-port", str(free_port()), "--https-port", str(free_port()),
        state=tmp_path / "state",
    )  # fmt: skip
    assert line.startswith("the controller exited with status 2 before it was ready: "), line
    assert "-nginx-plus" in line


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_stops_what_started(tmp_path: Path, number: int) -> None:
    example = copy_example("cafe", tmp_path / "cafe")
    state = tmp_path / "state"
    with dev_run(
        "--backends", "--manifests", str(example), "--state-dir", str(state),
        "--http-port", str(free_port()), "--https-port", str(free_port()),
    ) as run:  # fmt: skip
        run.wait_for(lambda line: line.startswith("controller started"))
        run.process.send_signal(number)
        assert run.process.wait(60) == 0, run.text()
        rest = run.rest()
        assert rest[-1] == "stopped", run.text()
        assert not any(READY.fullmatch(line) for line in rest)
    assert processes_mentioning(str(state)) == []


def test_a_controller_killed_while_running_ends_the_run_and_nothing_stays(tmp_path: Path) -> None:
    """The controller SIGKILLed (OOM, say): the kernel stops its NGINX (death signal), and
    the run says what happened, stops the rest and exits 1."""
    state = tmp_path / "state"
    with dev_run(
        "--backends", "--manifests", str(copy_example("cafe", tmp_path / "cafe")),
        "--state-dir", str(state),
        "--http-port", str(free_port()), "--https-port", str(free_port()),
    ) as run:  # fmt: skip
        run.until(lambda line: line.startswith("edit the files in"))
        found = re.search(r"controller started \(pid (\d+)\)", run.text())
        assert found is not None
        os.kill(int(found[1]), signal.SIGKILL)
        assert run.process.wait(60) == 1, run.text()
        rest = run.rest()
    state_log = state / "controller.log"
    assert (
        f"dev: error: the controller was killed by SIGKILL while running: see {state_log}" in rest
    )
    assert "Traceback" not in run.text()
    deadline = time.monotonic() + 10
    while processes_mentioning(str(state)) and time.monotonic() < deadline:
        time.sleep(0.05)  # NGINX's master gets SIGTERM from the kernel and stops its workers
    assert processes_mentioning(str(state)) == []
