"""`nginx-plus-standin -t`: crossplane's analyzer on the original, then the real `nginx -t`
on its shadow; either refusal is a refusal, named in the original's file and line.

The shadow of a check lives in a scratch directory under the stand-in's state
directory and goes when the check ends. `api` locations that the real NGINX keeps
are pointed at a placeholder address: `nginx -t` never connects anywhere.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from nginx_ingress_dev.plus_standin import shadow
from nginx_ingress_dev.plus_standin.config import ConfigError, parse
from nginx_ingress_dev.plus_standin.control import state_directory
from nginx_ingress_dev.plus_standin.engine import Engine
from nginx_ingress_dev.plus_standin.invocation import Invocation
from nginx_ingress_dev.plus_standin.logline import ErrorOutput, early
from nginx_ingress_dev.plus_standin.plusonly import ApiRoute

CHECK_TIMEOUT = 300.0
"""The real `nginx -t` at 5,000 servers takes seconds; the controller's own timeout, which
kills this whole process group, is the one that matters."""
_PLACEHOLDER = ApiRoute("http://127.0.0.1:9", "http://127.0.0.1:9")


def check(invocation: Invocation, engine: Engine, output: ErrorOutput) -> int:
    prefix, main = invocation.required()
    try:
        config = parse(main)
    except ConfigError as error:
        output.line(early("emerg", error.message))
        output.line(f"nginx: configuration file {main} test failed")
        return 1
    state = state_directory(prefix)
    state.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="check-", dir=state) as scratch:
        planned = shadow.plan(config, Path(scratch) / "conf", _PLACEHOLDER, engine.stream_module())
        shadow.write(planned)
        arguments = ["-p", f"{prefix}/", "-c", str(planned.main), *invocation.passed_on(), "-t"]
        if invocation.quiet:
            arguments.append("-q")
        try:
            completed = subprocess.run(
                engine.command(*arguments),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=CHECK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            output.line(early("emerg", f"nginx -t did not finish within {CHECK_TIMEOUT:g}s"))
            return 1
    for line in (completed.stdout + completed.stderr).splitlines():
        output.line(planned.original(line))
    return completed.returncode
