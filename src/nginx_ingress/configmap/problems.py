"""What went wrong with a ConfigMap value, in a form safe to print, log and post as an event."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

MAX_SHOWN_VALUE = 64
"""Characters of an offending value shown in a message (escaped), as the spec asks."""


class Reason(enum.StrEnum):
    """Kubernetes event reasons, NIC's names where NIC has one."""

    INVALID_VALUE = "InvalidValue"
    UNKNOWN_KEY = "UnknownKey"
    MISSING = "Missing"
    """An Ingress refers to something the cluster does not have (yet): a Service, its
    ready endpoints, a Secret. A state of the cluster, not a fault of the manifest:
    `validate` does not count it."""
    ZONE_SYNC_TLS_INVALID = "ZoneSyncTLSInvalid"
    """Zone sync over TLS was asked for and cannot run: it stays off, never clear text."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad key or value.

    `value` is the offending value already escaped and cut (see `show`); `used` says
    what applies instead, when something does.
    """

    key: str
    message: str
    value: str | None = None
    used: str | None = None
    reason: Reason = Reason.INVALID_VALUE

    def __str__(self) -> str:
        text = (
            self.message if self.value is None else f'invalid value "{self.value}": {self.message}'
        )
        if self.used is not None:
            text += f"; using {self.used}"
        return text

    @property
    def line(self) -> str:
        """`key: message`, the form `validate` prints and events carry."""
        return f"{show(self.key)}: {self}"


def show(text: str, limit: int = MAX_SHOWN_VALUE) -> str:
    """Escape `text` for a message and cut it to `limit` characters of output.

    Printable characters stay as they are; backslash, double quote and everything
    invisible or control-like (NUL, CR, LF, U+2028, U+0085, BOM, zero-width space …)
    become backslash escapes, so a message is always one honest line. An escape
    sequence is never cut in half; a cut value ends with `…`.
    """
    pieces: list[str] = []
    length = 0
    for character in text:
        piece = _escape_character(character)
        if length + len(piece) > limit:
            pieces.append("…")
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _escape_character(character: str) -> str:
    if character in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[character]
    if character == " " or (
        character.isprintable() and unicodedata.category(character) not in {"Zs", "Cf"}
    ):
        return character
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
