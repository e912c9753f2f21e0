"""Test helpers: render a ConfigMap, parse the output with crossplane, run the real `nginx -t`.

Shared by the golden, hostile-value and property tests so that each checks the
rendered configuration the same way.
"""

from __future__ import annotations

import difflib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import crossplane

from nginx_ingress.configmap import ParseResult, parse_configmap
from nginx_ingress.configmap.config import SecretRef
from nginx_ingress.generate import build_configuration
from nginx_ingress.generate.zonesync_tls import (
    TlsCheck,
    check_zone_sync_tls,
    zone_sync_tls_files,
    zone_sync_tls_model,
)
from nginx_ingress.nginx.binary import inspect_binary, plan_modules
from nginx_ingress.nginx.tree import write_whole
from nginx_ingress.render import render_configuration
from nginx_ingress.resources import CertificateSecret
from nginx_ingress.settings import Settings
from nginx_ingress_dev.plus_standin.emit import emit
from nginx_ingress_dev.plus_standin.plusonly import ApiRoute, strip

DEBIAN_STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")

Payload = dict[str, Any]

# `nginx -t` never connects: the API locations it keeps may point anywhere.
_CHECK_ROUTE = ApiRoute("http://127.0.0.1:9", "http://127.0.0.1:9")


@dataclass(frozen=True)
class Rendered:
    result: ParseResult
    files: dict[str, str]
    tls: TlsCheck | None = None
    """The zone-sync TLS check, when zone sync over TLS was asked for."""

    @property
    def main(self) -> str:
        return self.files["nginx.conf"]

    def problem_keys(self) -> set[str]:
        return {problem.key for problem in self.result.problems}


def render(
    data: Mapping[str, object] | None,
    settings: Settings,
    *,
    service_ready: bool = True,
    secrets: Sequence[Mapping[str, Any]] = (),
    now: float | None = None,
) -> Rendered:
    """The main files for a ConfigMap's data, with zone-sync TLS from `secrets` (Secret
    objects) checked as of `now` (default: the current time), as the controller would."""
    result = parse_configmap(data, settings)
    zone_sync, tls, files = result.config.zone_sync, None, {}
    check = None
    if zone_sync.enabled and zone_sync.tls is not None:
        views = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in secrets}

        def lookup(ref: SecretRef) -> CertificateSecret | None:
            found = views.get((ref.namespace, ref.name))
            return None if found is None else CertificateSecret.from_object(found)

        check = check_zone_sync_tls(
            zone_sync.tls, lookup, settings, time.time() if now is None else now
        )
        if check.material is not None:
            tls = zone_sync_tls_model(zone_sync.tls, check.material, settings)
            files = zone_sync_tls_files(check.material) if service_ready else {}
    configuration = build_configuration(
        result.config, settings, zone_sync_service_ready=service_ready, zone_sync_tls=tls
    )
    return Rendered(result, {**render_configuration(configuration), **files}, check)


def nginx_binary() -> str:
    binary = shutil.which("nginx")
    if binary is None:
        raise RuntimeError("nginx is not installed: run scripts/install-system-deps")
    return binary


@cache
def nginx_modules() -> tuple[PurePosixPath, ...]:
    """The modules the product finds the local NGINX needs, as `run` does at start-up
    (Debian's: its dynamic stream module). Asked once per session."""
    plan = plan_modules(inspect_binary(nginx_binary()), ())
    assert plan.stream, plan.notes
    return plan.load_modules


def fake_nginx(
    directory: Path,
    *,
    version: str = "nginx/1.22.1",
    configure: str = "--prefix=/usr/share/nginx --with-http_ssl_module",
    start_error: str | None = None,
    runs: str | None = None,
) -> Path:
    """A test double of the NGINX binary: `-V` tells the build given here, and everything
    else runs the real `nginx` (or `runs`, such as the NGINX Plus stand-in); with
    `start_error`, a start (anything but `-t`) fails the way NGINX fails, with that
    `[emerg]` line."""
    script = directory / "nginx"
    answer = f"nginx version: {version}\nbuilt by gcc 12.2.0\nconfigure arguments: {configure}\n"
    fail = ""
    if start_error is not None:
        line = shlex.quote(f"2026/01/01 00:00:00 [emerg] 1#1: {start_error}")
        fail = f'case " $* " in *" -t "*) ;; *) echo {line} >&2; exit 1 ;; esac\n'
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-V" ]; then printf %s {shlex.quote(answer)} >&2; exit 0; fi\n'
        f"{fail}"
        f'exec {shlex.quote(runs or nginx_binary())} "$@"\n'
    )
    script.chmod(0o755)
    return script


PLUS_VERSION = "nginx/1.25.3 (nginx-plus-r31-p1)"
PLUS_CONFIGURE = "--prefix=/etc/nginx --modules-path=/usr/lib/nginx/modules --with-stream"


def sandbox_settings(root: Path, base: Settings) -> Settings:
    """`base` with every path inside `root`, and the modules the local NGINX needs."""
    return replace(
        base,
        conf_dir=PurePosixPath(root / "conf"),
        run_dir=PurePosixPath(root / "run"),
        load_modules=nginx_modules(),
    )


@contextmanager
def sandbox(base: Settings) -> Iterator[tuple[Path, Settings]]:
    with tempfile.TemporaryDirectory(prefix="nginx-ingress-test-") as directory:
        root = Path(directory)
        (root / "run").mkdir()
        yield root, sandbox_settings(root, base)


def write(root: Path, files: Mapping[str, str]) -> Path:
    """Write a rendered tree into `root/conf`; returns the path of nginx.conf."""
    write_whole(root / "conf", files)
    return root / "conf" / "nginx.conf"


def parse(main: Path) -> Payload:
    """crossplane's parse with its context and argument-count analyzer, following includes."""
    payload: Payload = crossplane.parse(str(main), check_ctx=True, check_args=True)
    errors = [error for config in payload["config"] for error in config["errors"]]
    assert payload["status"] == "ok" and not errors, errors
    return payload


def nginx_t(root: Path) -> subprocess.CompletedProcess[str]:
    """The real `nginx -t` on `root/conf/nginx.conf`."""
    return subprocess.run(
        [nginx_binary(), "-t", "-q", "-p", f"{root}/run/", "-c", f"{root}/conf/nginx.conf"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_nginx_accepts(root: Path) -> None:
    completed = nginx_t(root)
    assert completed.returncode == 0, completed.stderr


def assert_tree_loads(root: Path, settings: Settings, files: Mapping[str, str]) -> None:
    """Write `files` into `root`, parse them with crossplane's analyzer, and have the real
    `nginx -t` load them (without their NGINX Plus parts when `settings` is for NGINX Plus)."""
    payload = parse(write(root, files))
    if settings.nginx_plus:
        strip_plus_only(payload)
    assert_nginx_accepts(root)


GOLDEN_UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"


def assert_golden(golden: Path, text: str) -> None:
    """`text` is exactly the golden file; with GOLDEN_UPDATE=1 it is written there first."""
    if GOLDEN_UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden}: run with GOLDEN_UPDATE=1 and review it"
    expected = golden.read_text()
    assert text == expected, "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            text.splitlines(keepends=True),
            str(golden),
            "rendered",
        )
    )


def strip_plus_only(payload: Payload) -> None:
    """Rewrite each parsed file without its NGINX Plus parts, for OSS `nginx -t`: the NGINX
    Plus stand-in's rules (`nginx_ingress_dev.plus_standin.plusonly`), so that the tests of
    rendered trees and the stand-in agree on what OSS NGINX can check."""
    for config in payload["config"]:
        stripped = strip(config["parsed"], _CHECK_ROUTE)
        config["parsed"] = stripped.directives
        Path(config["file"]).write_text(emit(stripped.directives))


def walk(payload: Payload) -> Iterator[tuple[str, list[str], tuple[str, ...]]]:
    """(directive, args, enclosing block names) for every directive of every file."""

    def visit(directives: list[Payload], parents: tuple[str, ...]) -> Iterator[Any]:
        for directive in directives:
            yield directive["directive"], directive["args"], parents
            if "block" in directive:
                yield from visit(directive["block"], (*parents, directive["directive"]))

    for config in payload["config"]:
        yield from visit(config["parsed"], ())


def shape(payload: Payload, ignore: frozenset[str] = frozenset()) -> Counter[tuple[str, ...]]:
    """Every directive as (enclosing blocks…, name), counted; `ignore` drops names anywhere."""
    return Counter((*parents, name) for name, _args, parents in walk(payload) if name not in ignore)


def directive_names(payload: Payload) -> Counter[str]:
    return Counter(name for name, _args, _parents in walk(payload))
