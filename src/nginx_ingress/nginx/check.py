"""`nginx -t` on a staged tree, and which file NGINX blamed when it failed."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nginx_ingress.nginx.process import NginxCommand, run_command

# "… [emerg] 8660#8660: unknown directive "bogus" in /conf/.staging/conf.d/a.conf:1"
_BLAME = re.compile(r"\[(?:emerg|alert|crit)\] .*? in (?P<file>/\S+?):(?P<line>\d+)\s*$")


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    output: str
    """NGINX's own words, for logs and events."""
    file: Path | None = None
    line: int | None = None

    @property
    def error(self) -> str:
        """The line that says what is wrong, without NGINX's timestamp and pid."""
        for line in self.output.splitlines():
            if "[emerg]" in line or "[alert]" in line or "[crit]" in line:
                return line.split(": ", 1)[-1].strip()
        return self.output.strip().splitlines()[-1] if self.output.strip() else "nginx -t failed"


def nginx_test(command: NginxCommand, timeout: float) -> CheckResult:
    """Run `nginx -t` on `command.config`; never raises for a bad configuration."""
    try:
        completed = run_command(command.arguments("-t", "-q"), timeout)
    except subprocess.TimeoutExpired:
        return CheckResult(False, f"nginx -t did not finish within {timeout:.0f}s")
    except OSError as error:
        return CheckResult(False, f"cannot run {command.binary}: {error}")
    if completed.returncode == 0:
        return CheckResult(True, completed.stderr)
    for line in reversed(completed.stderr.splitlines()):
        match = _BLAME.search(line)
        if match:
            return CheckResult(False, completed.stderr, Path(match["file"]), int(match["line"]))
    return CheckResult(False, completed.stderr)


def crossplane_test(config: Path) -> CheckResult:
    """The `--render-only` check: crossplane's parser and analyzer, which know the NGINX Plus
    directives, for a machine without the NGINX that will load the files."""
    import crossplane  # noqa: PLC0415 - only this mode needs it

    payload = crossplane.parse(str(config), check_ctx=True, check_args=True)
    for parsed in payload["config"]:
        for error in parsed["errors"]:
            message = f"[emerg] {error['error']}"
            return CheckResult(False, message, Path(parsed["file"]), error.get("line"))
    return CheckResult(True, "")
