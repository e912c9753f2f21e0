"""Label and field selectors, parsed once per request and matched per object.

Label selectors follow the Kubernetes grammar: equality (`=`, `==`, `!=`), set-based
(`in`, `notin`), existence (`key`, `!key`) and the numeric `>`/`<`. As in Kubernetes,
`!=` and `notin` also match objects that do not carry the label at all. Field
selectors support `=`, `==` and `!=` over the labels the resource table declares;
any other label is a 400, as the real API answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nginx_ingress_dev.devcluster.errors import BadRequest
from nginx_ingress_dev.devcluster.resources import ResourceType

_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]{0,315}[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_NOT_EXISTS = re.compile(rf"\s*!\s*({_KEY})\s*")
_EXISTS = re.compile(rf"\s*({_KEY})\s*")
_SET = re.compile(rf"\s*({_KEY})\s+(in|notin)\s*\(([^()]*)\)\s*")
_COMPARE = re.compile(rf"\s*({_KEY})\s*(==|=|!=|>|<)\s*({_VALUE})\s*")
_SET_VALUE = re.compile(rf"\s*({_VALUE})\s*")
_INTEGER = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    operator: str
    """One of `=`, `!=`, `in`, `notin`, `exists`, `!`, `>`, `<`."""
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.operator:
            case "exists":
                return present
            case "!":
                return not present
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case ">" | "<":
                if value is None or not _INTEGER.fullmatch(value):
                    return False
                bound = int(self.values[0])
                return int(value) > bound if self.operator == ">" else int(value) < bound
        return False


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside `( … )`."""
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise BadRequest(f"unable to parse requirement: unbalanced ')' in {text!r}")
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0:
        raise BadRequest(f"unable to parse requirement: unbalanced '(' in {text!r}")
    parts.append(text[start:])
    return parts


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a `labelSelector` query value; an empty one selects everything."""
    if text is None or not text.strip():
        return LabelSelector()
    requirements: list[LabelRequirement] = []
    for part in _split_top_level(text):
        requirements.append(_parse_label_requirement(part, text))
    return LabelSelector(tuple(requirements))


def _parse_label_requirement(part: str, whole: str) -> LabelRequirement:
    if match := _SET.fullmatch(part):
        values = []
        for raw in match.group(3).split(","):
            value_match = _SET_VALUE.fullmatch(raw)
            if value_match is None:
                raise BadRequest(f"unable to parse requirement: invalid value {raw!r} in {whole!r}")
            values.append(value_match.group(1))
        return LabelRequirement(match.group(1), match.group(2), tuple(values))
    if match := _COMPARE.fullmatch(part):
        operator = "=" if match.group(2) == "==" else match.group(2)
        value = match.group(3)
        if operator in (">", "<") and not _INTEGER.fullmatch(value):
            raise BadRequest(f"unable to parse requirement: {value!r} is not an integer")
        return LabelRequirement(match.group(1), operator, (value,))
    if match := _NOT_EXISTS.fullmatch(part):
        return LabelRequirement(match.group(1), "!")
    if match := _EXISTS.fullmatch(part):
        return LabelRequirement(match.group(1), "exists")
    raise BadRequest(f"unable to parse requirement: {part.strip()!r} in label selector {whole!r}")


@dataclass(frozen=True)
class FieldRequirement:
    label: str
    path: tuple[str, ...]
    equal: bool
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        current: Any = obj
        for step in self.path:
            current = current.get(step) if isinstance(current, Mapping) else None
        if current is None:
            actual = ""
        elif isinstance(current, bool):
            actual = "true" if current else "false"
        else:
            actual = str(current)
        return (actual == self.value) == self.equal


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(requirement.matches(obj) for requirement in self.requirements)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        raise BadRequest(f"invalid field selector {text!r}: trailing backslash")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_field_selector(text: str | None, resource: ResourceType) -> FieldSelector:
    """Parse a `fieldSelector` query value against the labels `resource` supports."""
    if text is None or not text.strip():
        return FieldSelector()
    paths = resource.field_paths()
    requirements: list[FieldRequirement] = []
    for part in _split_unescaped(text, ","):
        match = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)(.*)", part, re.DOTALL)
        if match is None:
            raise BadRequest(f"invalid selector: {part!r}; can't understand {text!r}")
        label, operator, value = match.group(1), match.group(2), match.group(3).strip()
        path = paths.get(label)
        if path is None:
            raise BadRequest(
                f'"{label}" is not a known field selector: only '
                + ", ".join(f'"{known}"' for known in paths)
            )
        requirements.append(FieldRequirement(label, path, operator != "!=", _unescape(value)))
    return FieldSelector(tuple(requirements))


@dataclass(frozen=True)
class ObjectFilter:
    """Both selectors of a list or watch request."""

    labels: LabelSelector = LabelSelector()
    fields: FieldSelector = FieldSelector()

    @property
    def selects_everything(self) -> bool:
        return not self.labels.requirements and not self.fields.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if self.selects_everything:
            return True
        metadata = obj.get("metadata") or {}
        labels = metadata.get("labels") or {}
        return self.labels.matches(labels) and self.fields.matches(obj)


EVERYTHING = ObjectFilter()
