"""`nginx-ingress dev-api` as a real process, used through the kubeconfig it writes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

new_client_from_config: Any = config.new_client_from_config


def _start(*arguments: str) -> tuple[subprocess.Popen[str], str]:
    executable = Path(sys.executable).with_name("nginx-ingress")
    process = subprocess.Popen(
        [str(executable), "dev-api", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once the server answers
    if not line:
        process.kill()
        _, errors = process.communicate(timeout=10)
        raise AssertionError(f"dev-api did not start: {errors}")
    return process, line


def _stop(process: subprocess.Popen[str], sig: int) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_dev_api_serves_seeds_and_writes_a_usable_kubeconfig(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "objects.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: demo}\n"
        "spec: {ingressClassName: nginx}\n"
    )
    kubeconfig = tmp_path / "kubeconfig"
    process, line = _start(
        "--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig), "--seed", str(seed)
    )
    try:
        assert line.startswith("dev-api: serving http://127.0.0.1:")
        document = yaml.safe_load(kubeconfig.read_text())
        assert document["current-context"] == "devcluster"
        assert document["clusters"][0]["cluster"]["server"] in line
        with new_client_from_config(config_file=str(kubeconfig)) as api:
            networking: Any = client.NetworkingV1Api(api)
            assert [i.metadata.name for i in networking.list_namespaced_ingress("demo").items] == [
                "web"
            ]
    finally:
        code = _stop(process, signal.SIGTERM)
    assert code == 0


def test_dev_api_accepts_nic_style_flags_and_stops_on_sigint(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('t0ken,alice,1,"developers"\n')
    kubeconfig = tmp_path / "kubeconfig"
    process, _ = _start(
        "-listen=127.0.0.1:0",
        f"-kubeconfig-out={kubeconfig}",
        f"-token-auth-file={tokens}",
        "-log-requests=true",
    )
    try:
        document = yaml.safe_load(kubeconfig.read_text())
        assert document["users"][0]["user"] == {"token": "t0ken"}
        with new_client_from_config(config_file=str(kubeconfig)) as api:
            core: Any = client.CoreV1Api(api)
            assert "default" in {n.metadata.name for n in core.list_namespace().items}
    finally:
        code = _stop(process, signal.SIGINT)
    assert code == 0
