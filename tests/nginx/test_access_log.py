"""The log format as NGINX writes it: a real request through a real NGINX, and its access-log line.

The golden files show what `log_format` says; only NGINX shows what it means. Each
case renders a ConfigMap, starts NGINX on the rendered files (ports from the OS, its
standard output, where the access log goes, in a file), sends one request and reads
the line back.
"""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml

from nginx_ingress.settings import Listeners, Settings

from nginx_check import nginx_binary, render, sandbox, write
from nginx_sandbox import free_port

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "configmap.yaml"


@contextmanager
def running_nginx(data: Mapping[str, str]) -> Iterator[tuple[int, Path]]:
    """NGINX serving the render of `data`: (its HTTP port, the file its access log goes to)."""
    port = free_port()
    base = Settings(
        listeners=Listeners(
            http=port,
            https=free_port(),
            nginx_status_enabled=False,
            ready_status_enabled=False,
            prometheus_metrics_enabled=False,
        ),
        disable_ipv6=True,
    )
    with sandbox(base) as (root, settings):
        rendered = render(data, settings)
        assert not rendered.result.problems, rendered.result.problems
        main = write(root, rendered.files)
        log = root / "stdout.log"
        with log.open("wb") as stdout:
            process = subprocess.Popen(
                [nginx_binary(), "-e", "stderr", "-p", f"{root}/run/", "-c", str(main)],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.PIPE,
            )
        try:
            _wait_for_port(port, process)
            yield port, log
        finally:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            assert process.stderr is not None
            process.stderr.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stderr is not None
            raise AssertionError(f"NGINX exited: {process.stderr.read().decode()}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("NGINX did not listen in time")


def logged_request(data: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """The access-log line of one `GET /x` with `headers`, through NGINX rendered from `data`."""
    with running_nginx(data) as (port, log):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/x", headers=dict(headers))
            connection.getresponse().read()
        finally:
            connection.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines()
            if lines:
                (line,) = lines
                return line
            time.sleep(0.02)
    raise AssertionError("NGINX logged nothing")


def test_the_example_multi_line_format_keeps_its_fields_apart() -> None:
    """examples/configmap.yaml's format, two YAML lines: the line break is one space."""
    data = yaml.safe_load(EXAMPLE.read_text())["data"]
    line = logged_request(data, {"Referer": "REF", "User-Agent": "UA"})
    assert re.fullmatch(
        r'127\.0\.0\.1 - - \[[^]]+\] "GET /x HTTP/1\.1" 404 \d+ "REF" "UA" rt=\d+\.\d{3} uct=-',
        line,
    ), line


def test_each_line_break_is_one_space_and_spaces_in_a_line_are_kept() -> None:
    data = {"log-format": "[$status]\n  $request_method  \n$uri\n"}
    assert logged_request(data, {}) == "[404]   GET   /x"


def test_json_escaping() -> None:
    data = {
        "log-format": '{"status":$status,\n"ua":"$http_user_agent"}',
        "log-format-escaping": "json",
    }
    line = logged_request(data, {"User-Agent": 'say "hi"'})
    assert line == '{"status":404, "ua":"say \\"hi\\""}'


def test_default_escaping_without_a_log_format_key() -> None:
    """The built-in format, with NGINX's default escaping of a quote in a header."""
    line = logged_request({}, {"User-Agent": 'say "hi"'})
    assert line.endswith('"say \\x22hi\\x22" "-"'), line
