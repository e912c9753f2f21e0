"""The command line of `nginx-plus-standin`: NGINX's own options, those the controller uses.

`-V`, `-v`, `-t`, `-q`, `-p PREFIX`, `-c FILE`, `-e FILE` and `-g DIRECTIVES` (passed
to the real NGINX as they are, unchecked by crossplane). `-p` and `-c` are required
for a check or a run: the stand-in keeps its state under the prefix. `-s` (signal a
running master through its pid file) and `-T` (dump the configuration) are not
modelled: the controller signals its child directly and never dumps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class UsageError(ValueError):
    """The command line is not one the stand-in understands."""


@dataclass(frozen=True, slots=True)
class Invocation:
    version: bool = False
    """`-V` (or `-v`): print the version and stop."""
    test: bool = False
    quiet: bool = False
    prefix: Path | None = None
    config: Path | None = None
    error_log: str | None = None
    directives: str | None = None

    def passed_on(self) -> list[str]:
        """`-e` and `-g` as the real NGINX gets them."""
        extra = []
        if self.error_log is not None:
            extra += ["-e", self.error_log]
        if self.directives is not None:
            extra += ["-g", self.directives]
        return extra

    def required(self) -> tuple[Path, Path]:
        """The prefix and the main file (relative to the prefix when not absolute)."""
        if self.prefix is None or self.config is None:
            raise UsageError("nginx-plus-standin needs -p PREFIX and -c FILE")
        config = self.config if self.config.is_absolute() else self.prefix / self.config
        return self.prefix, config


_WITH_VALUE = {"-p": "prefix", "-c": "config", "-e": "error_log", "-g": "directives"}


def parse_invocation(arguments: Sequence[str]) -> Invocation:
    values: dict[str, object] = {}
    remaining = list(arguments)
    while remaining:
        argument = remaining.pop(0)
        if argument in ("-V", "-v"):
            values["version"] = True
        elif argument == "-t":
            values["test"] = True
        elif argument == "-q":
            values["quiet"] = True
        elif argument in _WITH_VALUE:
            if not remaining:
                raise UsageError(f'option "{argument}" requires a value')
            value = remaining.pop(0)
            name = _WITH_VALUE[argument]
            values[name] = Path(value) if name in ("prefix", "config") else value
        elif argument in ("-s", "-T"):
            raise UsageError(f'option "{argument}" is not modelled by nginx-plus-standin')
        else:
            raise UsageError(f'invalid option: "{argument}"')
    return Invocation(**values)  # type: ignore[arg-type]
