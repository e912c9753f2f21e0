"""What `nginx-ingress run` settles once, before it watches anything.

The rule for what stops the controller: a problem only the flags or the NGINX
binary can fix ends it at start-up with a one-line error and exit status 2,
because no retry and no change in the cluster would make it work. That is:
- the binary does not answer `nginx -V`, or is NGINX Plus where the flags say OSS
  or the other way round;
- NGINX refuses the configuration the flags alone produce (the default ConfigMap,
  no resources): an unknown directive, a `-load-module` that cannot be loaded;
- the conf dir holds files the controller did not write (see `nginx.ownership`).
What the cluster decides (ConfigMap values, later Ingresses and Secrets) is
reported and retried instead, and so is a port another process holds when NGINX
starts (see `nginx.manager`): `nginx -t` never binds ports, and the holder may go.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path

from nginx_ingress.configmap import parse_configmap
from nginx_ingress.generate import build_configuration
from nginx_ingress.nginx.binary import (
    NginxBinaryError,
    inspect_binary,
    mode_mismatch,
    plan_modules,
)
from nginx_ingress.nginx.check import nginx_test
from nginx_ingress.nginx.ownership import ConfDirError, claim
from nginx_ingress.nginx.process import NginxCommand
from nginx_ingress.nginx.tree import write_whole
from nginx_ingress.render import render_configuration
from nginx_ingress.settings import Settings

log = logging.getLogger("nginx_ingress.controller")

PREFLIGHT_TIMEOUT = 60.0
"""Seconds for `nginx -t` on the flags-only configuration (a few milliseconds normally)."""


class StartupError(RuntimeError):
    """The controller cannot run with these flags and this NGINX binary."""


def prepare(settings: Settings, *, binary: str, render_only: bool, take_over: bool) -> Settings:
    """`settings` with the modules NGINX needs, once the binary, the configuration the flags
    produce and the conf dir are known to be usable; raises `StartupError` otherwise.

    With `render_only` NGINX is never run here, so its binary is not asked: the
    stream module is assumed built in, as in the NGINX Plus that will load the files.
    """
    if render_only:
        build = None
    else:
        try:
            build = inspect_binary(binary)
        except NginxBinaryError as error:
            raise StartupError(f"-nginx-binary: {error}") from None
        mismatch = mode_mismatch(build, binary, plus=settings.nginx_plus)
        if mismatch is not None:
            raise StartupError(mismatch)
        log.info("NGINX %s: %s, stream module %s", binary, build.describe(), build.stream.value)
    plan = plan_modules(build, settings.load_modules)
    for note in plan.notes:
        log.info("%s", note)
    settings = dataclasses.replace(
        settings, load_modules=plan.load_modules, stream_module=plan.stream
    )
    run_dir = Path(settings.run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartupError(f"-run-dir {run_dir}: {error.strerror or error}") from None
    if not render_only:
        preflight(settings, binary)
    try:
        claim(
            Path(settings.conf_dir),
            take_over=take_over,
            flag="-conf-dir",
            take_over_flag="-take-over-conf-dir",
        )
    except ConfDirError as error:
        raise StartupError(str(error)) from None
    return settings


def preflight(settings: Settings, binary: str, timeout: float = PREFLIGHT_TIMEOUT) -> None:
    """`nginx -t` on what the flags alone render; `StartupError` with NGINX's words if it fails.

    Written to a scratch directory under the run dir, not the conf dir: nothing is
    taken over before every check has passed.
    """
    defaults = parse_configmap({}, settings).config
    files = render_configuration(
        build_configuration(defaults, settings, zone_sync_service_ready=False)
    )
    with tempfile.TemporaryDirectory(prefix=".preflight-", dir=settings.run_dir) as scratch:
        root = Path(scratch)
        try:
            write_whole(root, files)
        except OSError as error:
            raise StartupError(f"-run-dir {settings.run_dir}: {error.strerror or error}") from None
        command = NginxCommand(binary, Path(settings.run_dir), root / "nginx.conf")
        result = nginx_test(command, timeout)
    if not result.ok:
        refusal = result.error.replace(f"{root}/", "")
        raise StartupError(
            f"NGINX ({binary}) refuses the configuration these flags produce, before any "
            f"ConfigMap is read: {refusal}. No change in the cluster can fix that: check "
            "-nginx-binary, -nginx-plus and -load-module"
        )
