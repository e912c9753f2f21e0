"""Reading raw API objects without trusting their shape.

Every accessor returns a value of the asked type or a fallback, and appends a
message to `problems` when a field is present with the wrong type; none raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Object = Mapping[str, Any]


def mapping(obj: object, field: str, problems: list[str]) -> Mapping[str, Any]:
    if type(obj) is dict:  # what JSON decodes to: skip the slower ABC check
        return obj
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return obj
    problems.append(f"{field}: must be an object")
    return {}


def sequence(obj: object, field: str, problems: list[str]) -> Sequence[Any]:
    if type(obj) is list:
        return obj
    if obj is None:
        return ()
    if isinstance(obj, list | tuple):
        return obj
    problems.append(f"{field}: must be a list")
    return ()


def string(obj: object, field: str, problems: list[str]) -> str:
    """A string field; absent reads as ""."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    problems.append(f"{field}: must be a string")
    return ""


def integer(obj: object, field: str, problems: list[str]) -> int | None:
    if obj is None:
        return None
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj
    problems.append(f"{field}: must be an integer")
    return None


def boolean(obj: object, field: str, problems: list[str]) -> bool | None:
    if obj is None:
        return None
    if isinstance(obj, bool):
        return obj
    problems.append(f"{field}: must be true or false")
    return None


def meta(obj: Object) -> tuple[str, str, str, str]:
    """(namespace, name, uid, creationTimestamp), each "" when absent or not a string."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return "", "", "", ""
    values = (metadata.get(k) for k in ("namespace", "name", "uid", "creationTimestamp"))
    namespace, name, uid, created = (v if isinstance(v, str) else "" for v in values)
    return namespace, name, uid, created


def string_map(
    obj: object, field: str, problems: list[str], keep: tuple[str, ...] = ()
) -> dict[str, str]:
    """A map of strings (labels, annotations); with `keep`, only keys starting with one of
    those prefixes (the rest is never read, so it is not kept)."""
    result: dict[str, str] = {}
    for key, value in mapping(obj, field, problems).items():
        if keep and not str(key).startswith(keep):
            continue
        if isinstance(key, str) and isinstance(value, str):
            result[key] = value
        else:
            problems.append(f"{field}.{key}: must be a string")
    return result
