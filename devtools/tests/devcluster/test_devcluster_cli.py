"""`nginx-ingress dev-api` as a real process, used through the kubeconfig it writes."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
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


REPOSITORY = Path(__file__).resolve().parents[3]


def _run_to_exit(*arguments: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("nginx-ingress")
    return subprocess.run(
        [str(executable), "dev-api", *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_documented_seed_of_examples_starts_and_warns_about_the_duplicate(
    tmp_path: Path,
) -> None:
    """docs/devcluster.md: `--seed examples/` once crashed on the missing namespace."""
    kubeconfig = tmp_path / "kubeconfig"
    process, line = _start(
        "--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig),
        "--seed", str(REPOSITORY / "examples"),
    )  # fmt: skip
    try:
        assert line.startswith("dev-api: serving http://127.0.0.1:")
        with new_client_from_config(config_file=str(kubeconfig)) as api:
            core: Any = client.CoreV1Api(api)
            configmap = core.read_namespaced_config_map("nginx-config", "nginx-ingress")
            assert configmap.data["zone-sync"] == "true"
    finally:
        code = _stop(process, signal.SIGTERM)
    assert code == 0


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dev-api: error: ")
    return lines[0]


@pytest.mark.parametrize(
    "arguments,expected",
    [
        (["--seed", "{tmp}/missing"], "--seed {tmp}/missing: cannot read: No such file"),
        (["--seed", "{tmp}/broken.yaml"], "{tmp}/broken.yaml: not valid YAML: line 4, column 1"),
        (["--listen", "0.0.0.0:0"], "refusing to listen on 0.0.0.0 without authentication"),
        (["--listen", "nonsense"], "--listen wants HOST:PORT"),
        (["--token-auth-file", "{tmp}/missing.csv"], "--token-auth-file {tmp}/missing.csv"),
        (["--rbac", "{tmp}/missing"], "--rbac {tmp}/missing: cannot read"),
        (["--client-ca-file", "{tmp}/ca.crt"], "--client-ca-file needs --tls-cert-file"),
        (
            ["--tls-cert-file", "{tmp}/broken.yaml", "--tls-private-key-file", "{tmp}/broken.yaml"],
            "cannot use the TLS files ({tmp}/broken.yaml, {tmp}/broken.yaml)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, arguments: list[str], expected: str
) -> None:
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n")
    result = _run_to_exit("--listen", "127.0.0.1:0", *(a.format(tmp=tmp_path) for a in arguments))
    assert expected.format(tmp=tmp_path) in _one_error_line(result)


def test_a_port_in_use_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_to_exit(
            "--listen", f"127.0.0.1:{port}", "--kubeconfig-out", str(tmp_path / "k")
        )
    line = _one_error_line(result)
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line
    assert not (tmp_path / "k").exists()


def test_a_duplicate_seed_object_is_a_warning_naming_both_files() -> None:
    process, _ = _start("--listen", "127.0.0.1:0", "--seed", str(REPOSITORY / "examples"))
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0
    (warning,) = [line for line in errors.splitlines() if "warning" in line]
    assert warning.startswith("dev-api: warning: ConfigMap nginx-ingress/nginx-config is defined 2")
    assert "examples/configmap.yaml" in warning
    assert "examples/zone-sync/configmap.yaml" in warning
    assert "creating namespace nginx-ingress" in errors


def test_a_non_loopback_listen_with_tokens_starts_with_a_warning(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("t0ken,alice,1\n")
    kubeconfig = tmp_path / "kubeconfig"
    process, line = _start(
        "--listen", "0.0.0.0:0", "--token-auth-file", str(tokens),
        "--kubeconfig-out", str(kubeconfig),
    )  # fmt: skip
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)
    assert line.startswith("dev-api: serving http://0.0.0.0:")
    assert "dev-api: warning: listening on 0.0.0.0, beyond the loopback interface" in errors
    assert "without TLS, credentials cross the network" in errors


def test_insecure_listen_anywhere_starts_with_a_warning() -> None:
    process, line = _start("--listen", "0.0.0.0:0", "--insecure-listen-anywhere")
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)
    assert line.startswith("dev-api: serving http://0.0.0.0:")
    assert "listening on 0.0.0.0 without authentication: anyone who can reach" in errors
