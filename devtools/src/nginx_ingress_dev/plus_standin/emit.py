"""Write a parsed file back with every directive on its original line.

The stand-in runs the real NGINX on rewritten copies of the configuration, and
NGINX names the file and line of an error; the NGINX manager holds back the file
it names. With each directive at its original line number, an error in a copy
names the line of the original (only the directory has to be put back), without
a table from one to the other. Directives are written by crossplane's builder,
one at a time, so quoting and escaping are crossplane's; what the layout loses is
comments and blank lines (crossplane does not parse them) and line breaks inside a
directive (a `log_format` over three lines is written on its first).
"""

from __future__ import annotations

from collections.abc import Sequence

import crossplane

from nginx_ingress_dev.plus_standin.plusonly import Directive


def emit(directives: Sequence[Directive]) -> str:
    """The text of one file whose directives start on the lines they were parsed from."""
    writer = _Writer()
    writer.block(directives)
    return "".join(writer.parts) + "\n"


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.line = 1

    def put(self, text: str, line: int) -> None:
        if line > self.line:
            self.parts.append("\n" * (line - self.line))
            self.line = line
        elif self.parts:
            self.parts.append(" ")
        self.parts.append(text)
        self.line += text.count("\n")

    def block(self, directives: Sequence[Directive]) -> None:
        for directive in directives:
            line = int(directive.get("line") or self.line)
            # crossplane writes a directive without "block" as `name args;`.
            head: str = crossplane.build(
                [{"directive": directive["directive"], "args": directive["args"]}]
            )
            if "block" not in directive:
                self.put(head, line)
                continue
            self.put(head.removesuffix(";") + " {", line)
            self.block(directive["block"])
            self.put("}", self.line)
