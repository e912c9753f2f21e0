"""What the NGINX binary is: OSS or Plus, and where its stream module comes from.

Read once at start-up from `nginx -V`, never per apply. The rendered `nginx.conf`
has a `stream {}` block (zone sync lives there), which NGINX refuses unless its
stream module is built in or loaded: Debian and Alpine build it as a dynamic
module (`--with-stream=dynamic`, the file in `--modules-path`), NGINX Plus and
nginx.org's packages build it in (`--with-stream`). Guessing wrong means a
controller that retries a refused configuration forever, so the binary is asked.
"""

from __future__ import annotations

import enum
import re
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nginx_ingress.nginx.process import run_command

STREAM_MODULE_FILE = "ngx_stream_module.so"
DEFAULT_PREFIX = PurePosixPath("/usr/local/nginx")  # NGINX's own default for --prefix
VERSION_TIMEOUT = 10.0
"""Seconds `nginx -V` may take: it only prints, so a binary that takes longer is broken."""

# "nginx version: nginx/1.25.3 (nginx-plus-r31-p1)" on NGINX Plus, "nginx version: nginx/1.22.1"
_VERSION = re.compile(r"^nginx version: (?P<version>\S+)(?: \((?P<release>[^)]*)\))?", re.M)
_PLUS_RELEASE = re.compile(r"nginx-plus-r\d+")


class NginxBinaryError(RuntimeError):
    """The binary could not be run, or did not answer `nginx -V` as NGINX does."""


class Stream(enum.Enum):
    """How the binary has the stream module."""

    BUILT_IN = "built in"
    DYNAMIC = "dynamic"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class NginxBuild:
    """The facts `nginx -V` states about a binary."""

    version: str
    """"nginx/1.22.1"."""
    release: str | None
    """The part in parentheses: "nginx-plus-r31-p1" on NGINX Plus."""
    stream: Stream
    modules_path: PurePosixPath

    @property
    def plus(self) -> bool:
        return self.release is not None and _PLUS_RELEASE.match(self.release) is not None

    @property
    def stream_module_file(self) -> PurePosixPath:
        """Where a dynamic stream module lives for this build."""
        return self.modules_path / STREAM_MODULE_FILE

    def describe(self) -> str:
        return f"{self.version} ({self.release})" if self.release else self.version


def parse_build(output: str) -> NginxBuild:
    """The facts in the text `nginx -V` prints (on standard error)."""
    version = _VERSION.search(output)
    if version is None:
        raise NginxBinaryError("its `-V` output has no 'nginx version:' line: is it NGINX?")
    arguments = _configure_arguments(output)
    stream = Stream.ABSENT
    if "--with-stream" in arguments:
        stream = Stream.BUILT_IN
    elif "--with-stream=dynamic" in arguments:
        stream = Stream.DYNAMIC
    prefix = PurePosixPath(_option(arguments, "--prefix") or DEFAULT_PREFIX)
    modules = PurePosixPath(_option(arguments, "--modules-path") or "modules")
    return NginxBuild(
        version=version["version"],
        release=version["release"],
        stream=stream,
        modules_path=modules if modules.is_absolute() else prefix / modules,
    )


def _configure_arguments(output: str) -> list[str]:
    for line in output.splitlines():
        if line.startswith("configure arguments:"):
            text = line.partition(":")[2]
            try:
                return shlex.split(text)
            except ValueError:  # an unbalanced quote in --with-cc-opt: the flags still split
                return text.split()
    return []


def _option(arguments: Sequence[str], name: str) -> str | None:
    for argument in arguments:
        option, equals, value = argument.partition("=")
        if option == name and equals:
            return value
    return None


def inspect_binary(binary: str, timeout: float = VERSION_TIMEOUT) -> NginxBuild:
    """Run `binary -V` (bounded by `timeout`) and read what it says."""
    try:
        completed = run_command([binary, "-V"], timeout)
    except subprocess.TimeoutExpired:
        raise NginxBinaryError(f"`{binary} -V` did not finish within {timeout:g}s") from None
    except OSError as error:
        raise NginxBinaryError(f"cannot run `{binary} -V`: {error.strerror or error}") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise NginxBinaryError(f"`{binary} -V` failed with status {completed.returncode}: {last}")
    try:
        return parse_build(completed.stderr + completed.stdout)
    except NginxBinaryError as error:
        raise NginxBinaryError(f"{binary}: {error}") from None


def mode_mismatch(build: NginxBuild, binary: str, *, plus: bool) -> str | None:
    """Why `build` cannot run in the mode the flags ask for, and what to pass; None if it fits.

    Both ways are refused, as NIC does: Plus output on OSS fails on the first Plus
    directive (`unknown directive "api"`), and OSS output on Plus hides that the
    user forgot `-nginx-plus` (zone sync would be refused without a word of why).
    """
    if plus and not build.plus:
        return (
            f"-nginx-plus is set but {binary} is NGINX OSS ({build.describe()}), not NGINX Plus: "
            "pass -nginx-binary=PATH to an NGINX Plus binary, or --render-only to write the "
            "configuration without running NGINX, or drop -nginx-plus"
        )
    if not plus and build.plus:
        return (
            f"{binary} is NGINX Plus ({build.describe()}) but -nginx-plus is not set: "
            "add -nginx-plus, or pass -nginx-binary=PATH to an NGINX OSS binary"
        )
    return None


@dataclass(frozen=True, slots=True)
class ModulePlan:
    """The `load_module` lines to render, and whether `stream {}` can be rendered at all."""

    load_modules: tuple[PurePosixPath, ...]
    stream: bool
    notes: tuple[str, ...]
    """What was decided and why, for the log (or standard error, in `render`)."""


def plan_modules(
    build: NginxBuild | None,
    requested: Sequence[PurePosixPath],
    *,
    exists: Callable[[Path], bool] = Path.is_file,
) -> ModulePlan:
    """The modules to load: `-load-module` as given, plus the stream module when the binary
    has it as a dynamic module that is installed.

    A module named twice (by path, or by `-load-module` and the detection alike) is
    loaded once: NGINX refuses a second `load_module` of the same module. The stream
    module goes first, since other stream modules (`ngx_stream_geoip_module`) need it.
    `build` None means no binary to ask: the stream module is assumed built in.
    """
    modules: list[PurePosixPath] = []
    notes: list[str] = []
    for module in requested:
        if any(m.name == module.name for m in modules):
            notes.append(f"-load-module {module}: {module.name} is already loaded; ignored")
        else:
            modules.append(module)
    stream_requested = any(m.name == STREAM_MODULE_FILE for m in modules)
    if build is None:
        if not stream_requested:
            notes.append(
                "assuming NGINX's stream module is built in (as in NGINX Plus and nginx.org's "
                "packages); pass -load-module PATH if it is a dynamic module"
            )
        return ModulePlan(tuple(modules), True, tuple(notes))
    if build.stream is Stream.BUILT_IN or stream_requested:
        return ModulePlan(tuple(modules), True, tuple(notes))
    if build.stream is Stream.DYNAMIC and exists(Path(build.stream_module_file)):
        notes.append(f"the stream module is dynamic: loading {build.stream_module_file}")
        return ModulePlan((build.stream_module_file, *modules), True, tuple(notes))
    if build.stream is Stream.DYNAMIC:
        missing = (
            f"the stream module is dynamic but {build.stream_module_file} is not installed "
            "(on Debian and Ubuntu: apt-get install libnginx-mod-stream)"
        )
    else:
        missing = "this NGINX was built without the stream module"
    notes.append(f"{missing}: the stream block is left out and zone sync is refused")
    return ModulePlan(tuple(modules), False, tuple(notes))
