"""The one escaping function: every `{{ … }}` in every template goes through `nginx_arg`.

It is the Jinja2 environment's `finalize` hook, so a template cannot print a value
any other way. It knows the typed values of `nginx_ingress.values` and turns
each into one NGINX argument; anything it does not know, including a plain `str`
that could only be raw text, is refused unless it is a safe bare token.

A bare token may not hold `;`, `{`, `}`, quotes, `#`, `$`, `\\`, whitespace or any
non-ASCII or control character (U+2028, U+0085, NUL …): each of those could end
the token, the directive or the block in NGINX's tokenizer, start a comment or a
variable, or be read differently by a person and by NGINX. Free text is always
double-quoted, with `\\` and `"` escaped, and may hold no control or invisible
character at all.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from nginx_ingress.values import Buffers, HostPort, Network, NginxString, Rate, Size, Time

# Printable ASCII except space and ; { } " ' # $ \ — and nothing else.
_BARE_TOKEN = re.compile(r"[!%&()*+,\-./0-9:<=>?@A-Z\[\]^_`a-z|~]+", re.ASCII)

MAX_ARGUMENT_BYTES = 4000
"""NGINX reads a configuration in 4 KiB buffers and refuses a longer token."""


class Rendered(str):
    """Directives one of our own templates produced, to be printed as they are.

    Only `render.files` makes one, from a template's output (a location's proxy
    settings, rendered once per Ingress and printed in each of its locations). A
    template cannot make one: the type is not in its namespace, and no model field
    holds one, so user text still cannot reach a file unescaped.
    """


class UnsafeValue(ValueError):
    """A value reached a template that cannot be written as one safe NGINX argument.

    Parsers are meant to make this impossible, so it signals a bug, not bad input.
    """


def bare(token: str) -> str:
    if not _BARE_TOKEN.fullmatch(token) or len(token) > MAX_ARGUMENT_BYTES:
        raise UnsafeValue(f"not a safe bare NGINX token: {token[:80]!r}")
    return token


def quoted(text: str) -> str:
    """`text` as one double-quoted NGINX string; `$variables` in it stay variables."""
    if not text.isprintable():
        raise UnsafeValue(f"unprintable character in quoted NGINX text: {text[:80]!r}")
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    if len(body.encode()) + 2 > MAX_ARGUMENT_BYTES:
        raise UnsafeValue("quoted NGINX text longer than NGINX reads in one argument")
    return f'"{body}"'


def nginx_arg(value: object) -> str:
    """One NGINX argument for a typed value (the Jinja2 `finalize` hook)."""
    kind = type(value)
    if kind is str:  # the most common case first: a name or keyword our code chose
        return bare(value)  # type: ignore[arg-type]
    if kind is Rendered:
        return value  # type: ignore[return-value]
    if isinstance(value, bool):  # before int: bool is an int
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, NginxString):
        return quoted(value.text)
    if isinstance(value, (Time, Size, HostPort, Network, Rate)):
        return bare(str(value))
    if isinstance(value, Buffers):
        raise UnsafeValue("Buffers are two arguments: render .number and .size")
    if isinstance(value, PurePosixPath):
        return bare(str(value))
    if isinstance(value, str):
        return bare(value)
    raise UnsafeValue(f"{type(value).__name__} cannot be rendered as an NGINX argument")
