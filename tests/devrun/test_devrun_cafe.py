"""`nginx-ingress dev --backends` on a copy of examples/cafe, as a new user would run it:
the printed curl commands answer 2xx, an edit is served, a broken file is reported with
its line while everything stays served, kubectl lists the Ingresses with their address,
and SIGTERM stops everything with exit status 0."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from pathlib import Path

from dev_run import copy_example, curl_commands, dev_run, processes_mentioning, run_curl
from nginx_sandbox import free_port

KUBECTL = "/usr/bin/kubectl"
LATTE = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: latte, namespace: cafe}
spec:
  ingressClassName: nginx
  rules:
  - host: latte.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: coffee, port: {number: 80}}}}
"""


def _applied(line: str) -> bool:
    return line.startswith("applied version ")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def test_the_cafe_is_served_edited_broken_and_stopped(tmp_path: Path) -> None:
    cafe = copy_example("cafe", tmp_path / "cafe")
    state = tmp_path / "state"
    http, https = free_port(), free_port()
    with dev_run(
        "--backends", "--manifests", str(cafe), "--state-dir", str(state),
        "--http-port", str(http), "--https-port", str(https),
    ) as run:  # fmt: skip
        started = run.until(lambda line: line.startswith("edit the files in"))
        assert "applied version 1: 1 Ingress, 0 problems" in started, run.text()
        assert any("Normal AddedOrUpdated Ingress cafe/cafe" in line for line in started)
        assert any(re.fullmatch(r"ready in \d+\.\d s", line) for line in started)
        found = re.search(r"controller started \(pid (\d+)\)", run.text())
        assert found is not None, run.text()
        controller_pid = int(found[1])
        # The readiness and metrics addresses it printed answer; its log opens with the
        # command line it was run with.
        urls = re.search(r"^  readiness (\S+), metrics (\S+)$", run.text(), re.M)
        assert urls is not None, run.text()
        assert run_curl(["curl", urls[1]])[0] == 200
        status, metrics = run_curl(["curl", urls[2]])
        assert status == 200 and "nginx_ingress_controller_nginx_reloads_total" in metrics
        first = (state / "controller.log").read_text().splitlines()[0]
        assert first.startswith("# ") and f"-conf-dir={state / 'conf'}" in first, first

        # The printed commands, run as printed: TLS with the local CA, and plain HTTP.
        commands = curl_commands(started)
        assert len(commands) == 3, run.text()
        answers = {}
        for command in commands:
            status, body = run_curl(command)
            assert 200 <= status < 300, (command, status, body)
            answers[command[-1]] = body
        assert answers[f"https://cafe.example.com:{https}/coffee"].startswith(
            "coffee cafe.example.com /coffee 127.0.0.1:"
        )
        assert answers[f"https://cafe.example.com:{https}/tea"].startswith("tea cafe.example.com")
        assert answers[f"http://127.0.0.1:{http}/"].startswith("tea tea.example.com / ")
        https_command = next(c for c in commands if c[-1].endswith("/tea"))

        # kubectl, with the kubeconfig the run wrote: the Ingress and its address.
        listed = subprocess.run(
            [KUBECTL, "--kubeconfig", str(state / "kubeconfig"), "get", "ingress", "-A"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        row = next(line.split() for line in listed.stdout.splitlines() if " cafe " in line)
        assert row[:5] == ["cafe", "cafe", "nginx", "cafe.example.com,tea.example.com", "127.0.0.1"]
        pods = subprocess.run(
            [KUBECTL, "--kubeconfig", str(state / "kubeconfig"), "get", "pods", "-n",
             "nginx-ingress", "--no-headers"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert pods.returncode == 0, pods.stderr
        assert pods.stdout.split()[1:3] == ["1/1", "Running"], pods.stdout  # the stand-in Pod

        # kubectl apply: an Ingress from outside the folder is served like the folder's.
        latte = tmp_path / "latte.yaml"
        latte.write_text(LATTE)
        applied = subprocess.run(
            [KUBECTL, "--kubeconfig", str(state / "kubeconfig"), "apply", "-f", str(latte)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert applied.returncode == 0, applied.stderr
        assert run.wait_for(_applied) == "applied version 2: 2 Ingresses, 0 problems"
        status, body = run_curl(
            ["curl", "-H", "Host: latte.example.com", f"http://127.0.0.1:{http}/"]
        )
        assert (status, body.split()[:3]) == (200, ["coffee", "latte.example.com", "/"])

        # An edit: /tea becomes /chai, reported and served.
        manifest = cafe / "cafe.yaml"
        manifest.write_text(manifest.read_text().replace("path: /tea", "path: /chai"))
        edited = run.until(_applied)
        assert f"{manifest}: replaced Ingress cafe/cafe" in edited, run.text()
        assert edited[-1] == "applied version 3: 2 Ingresses, 0 problems"
        chai = [*https_command[:-1], https_command[-1].replace("/tea", "/chai")]
        assert run_curl(chai)[1].startswith("tea cafe.example.com /chai ")
        # /tea is no location any more: the server's own 404, not a backend's answer.
        assert run_curl(https_command)[0] == 404

        # A broken file: reported with its path and line, and nothing stops being served.
        good = manifest.read_text()
        manifest.write_text(good.replace("  name: tea\n", "  name: [tea\n", 1))
        problem = run.wait_for(lambda line: line.startswith("warning: "))
        assert problem.startswith(f"warning: {manifest}: not valid YAML: line "), problem
        assert problem.endswith("its objects stay as they were")
        for command in (commands[0], chai):
            status, _ = run_curl(command)
            assert status == 200

        # Fixed again: only what changed is applied (the Ingress is as it was: nothing).
        manifest.write_text(good)
        assert run.wait_for(lambda line: line.startswith(str(manifest))) == (
            f"{manifest}: no object changed"
        )

        run.process.send_signal(signal.SIGTERM)
        assert run.process.wait(60) == 0, run.text()
        tail = run.rest()
        assert tail[-1] == "stopped", run.text()
    assert "Traceback" not in run.text()
    assert processes_mentioning(str(state)) == []
    try:
        Path(f"/proc/{controller_pid}").stat()
    except FileNotFoundError:
        pass
    else:
        raise AssertionError(f"the controller (pid {controller_pid}) still runs")
    assert _port_is_free(http) and _port_is_free(https)
