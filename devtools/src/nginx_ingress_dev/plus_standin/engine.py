"""The real OSS `nginx` under the stand-in, and the NGINX Plus build the stand-in claims.

The real binary is `$NGINX_PLUS_STANDIN_NGINX`, or `nginx` on the PATH. The
stand-in's `-V` answers as NGINX Plus does, so that the controller's
`nginx/binary.py` reads it as NGINX Plus with the stream module built in: the
version and release of the API stub (`nginx/1.27.4 (nginx-plus-r34-stub)`), a
line saying what it really is, and the real binary's configure arguments with
`--with-stream=dynamic` read as `--with-stream` (the shadow tree loads the
dynamic module itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nginx_ingress.nginx.binary import NginxBinaryError, NginxBuild, Stream, parse_build
from nginx_ingress_dev.plusapi_stub import NGINX_BUILD, NGINX_VERSION

NGINX_ENVIRONMENT = "NGINX_PLUS_STANDIN_NGINX"
"""Names the real `nginx` binary; `nginx` on the PATH without it."""
VERSION_TIMEOUT = 10.0


class EngineError(RuntimeError):
    """The real NGINX cannot be found or run."""


@dataclass(frozen=True, slots=True)
class Engine:
    binary: str
    build: NginxBuild
    configure_arguments: str
    """The real binary's `configure arguments:` text."""

    def version_text(self) -> str:
        """What the stand-in's `-V` prints (on standard error, as NGINX does)."""
        arguments = self.configure_arguments.replace("--with-stream=dynamic", "--with-stream")
        return (
            f"nginx version: nginx/{NGINX_VERSION} ({NGINX_BUILD})\n"
            f"built by nginx-plus-standin, a test double of NGINX Plus over "
            f"{self.build.version} ({self.binary}); not NGINX Plus\n"
            f"configure arguments: {arguments}\n"
        )

    def stream_module(self) -> PurePosixPath | None:
        """The module file the shadow must load for a `stream` block; None when built in."""
        if self.build.stream is Stream.DYNAMIC:
            return self.build.stream_module_file
        return None

    def command(self, *arguments: str) -> list[str]:
        return [self.binary, *arguments]


def find_engine() -> Engine:
    binary = os.environ.get(NGINX_ENVIRONMENT) or shutil.which("nginx")
    if not binary:
        raise EngineError(f"no real nginx: install it, or set {NGINX_ENVIRONMENT}")
    try:
        completed = subprocess.run(
            [binary, "-V"], capture_output=True, text=True, timeout=VERSION_TIMEOUT, check=True
        )
        build = parse_build(completed.stderr + completed.stdout)
    except (NginxBinaryError, OSError, subprocess.SubprocessError) as error:
        raise EngineError(f"the real nginx ({binary}): {error}") from None
    if build.plus:
        raise EngineError(f"{binary} is NGINX Plus already: run it, not the stand-in")
    configure = ""
    for line in (completed.stderr + completed.stdout).splitlines():
        if line.startswith("configure arguments:"):
            configure = line.partition(":")[2].strip()
    return Engine(str(Path(binary)), build, configure)
