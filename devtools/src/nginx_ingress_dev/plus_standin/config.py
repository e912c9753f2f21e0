"""Parse a configuration with crossplane, and walk it as NGINX reads it.

crossplane's analyzer knows the NGINX Plus directives (which OSS `nginx -t` calls
unknown), so it is the stand-in's check of the Plus parts: where a directive may
appear and how many arguments it takes. It knows nothing of their values beyond
that, which the real NGINX checks on the copy without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crossplane

from nginx_ingress_dev.plus_standin.plusonly import Directive

Payload = dict[str, Any]


class ConfigError(Exception):
    """The configuration is refused: crossplane's words, and the file and line it names."""

    def __init__(self, message: str, file: str | None, line: int | None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line

    @property
    def message(self) -> str:
        """The message as NGINX writes it: `… in /path/file:line` at the end."""
        text = str(self)
        where = f" in {self.file}:{self.line}"
        if self.file and self.line and not text.endswith(where):
            return text + where
        return text


@dataclass(frozen=True, slots=True)
class Config:
    """A parsed configuration: crossplane's payload, whose first file is the main one."""

    main: Path
    payload: Payload

    @property
    def root(self) -> Path:
        """The main file's directory, against which NGINX resolves relative paths in it."""
        return self.main.parent

    def files(self) -> Iterator[tuple[str, list[Directive]]]:
        for parsed in self.payload["config"]:
            yield parsed["file"], parsed["parsed"]


def parse(main: Path) -> Config:
    """The configuration at `main` with its includes; `ConfigError` for the first error
    crossplane finds (as NGINX, which stops at its first)."""
    payload: Payload = crossplane.parse(str(main), check_ctx=True, check_args=True)
    for error in payload["errors"]:
        raise ConfigError(error["error"], error.get("file"), error.get("line"))
    return Config(main, payload)


def walk(config: Config) -> Iterator[tuple[Directive, tuple[str, ...]]]:
    """Every directive with the names of the blocks around it, following `include` into the
    included files as NGINX does (a file included twice is walked twice)."""
    parsed = config.payload["config"]

    def visit(directives: list[Directive], parents: tuple[str, ...]) -> Iterator[Any]:
        for directive in directives:
            yield directive, parents
            for index in directive.get("includes", ()):
                yield from visit(parsed[index]["parsed"], parents)
            if "block" in directive:
                yield from visit(directive["block"], (*parents, directive["directive"]))

    if parsed:
        yield from visit(parsed[0]["parsed"], ())
