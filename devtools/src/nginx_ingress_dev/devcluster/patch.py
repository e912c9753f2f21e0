"""The PATCH formats the API accepts: JSON merge patch, JSON patch, strategic merge.

All functions are pure: they never mutate their inputs and return a new document.
Strategic merge knows the merge keys of the lists the controller patches (Service
`ports` by `port`, container `ports` by `containerPort`, containers and env by
`name`, ownerReferences by `uid`, conditions by `type`); every other list is
replaced whole, which is what Kubernetes does for lists marked atomic. Server-side
apply is served as a strategic merge of the applied configuration (see server.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from nginx_ingress_dev.devcluster.errors import BadRequest, Invalid

JsonValue = Any


def deep_copy(value: JsonValue) -> JsonValue:
    """A deep copy of a JSON document (orjson's round trip beats `copy.deepcopy`)."""
    return orjson.loads(orjson.dumps(value))


# --- RFC 7386 JSON merge patch ---------------------------------------------------------


def merge_patch(target: JsonValue, patch: JsonValue) -> JsonValue:
    """RFC 7386: objects merge recursively, `null` deletes, everything else replaces."""
    if not isinstance(patch, Mapping):
        return deep_copy(patch)
    result: dict[str, JsonValue] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 JSON patch -----------------------------------------------------------------


def _pointer(text: Any) -> list[str]:
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise BadRequest(f"invalid JSON pointer {text!r}")
    if text == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _index(container: list[Any], token: str, *, for_insert: bool) -> int:
    if for_insert and token == "-":
        return len(container)
    if not token.isdigit() or (token.startswith("0") and token != "0"):
        raise Invalid(f"invalid array index {token!r} in JSON patch")
    index = int(token)
    limit = len(container) if for_insert else len(container) - 1
    if index > limit:
        raise Invalid(f"array index {index} out of range in JSON patch")
    return index


def _parent(document: JsonValue, tokens: list[str]) -> JsonValue:
    current = document
    for token in tokens[:-1]:
        if isinstance(current, dict):
            if token not in current:
                raise Invalid(f"JSON patch path /{'/'.join(tokens)}: {token!r} does not exist")
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, for_insert=False)]
        else:
            raise Invalid(f"JSON patch path /{'/'.join(tokens)} goes through a scalar")
    return current


def _get(document: JsonValue, tokens: list[str]) -> JsonValue:
    if not tokens:
        return document
    parent = _parent(document, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise Invalid(f"JSON patch path /{'/'.join(tokens)} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, for_insert=False)]
    raise Invalid(f"JSON patch path /{'/'.join(tokens)} goes through a scalar")


def _add(document: JsonValue, tokens: list[str], value: JsonValue) -> JsonValue:
    if not tokens:
        return value
    parent = _parent(document, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, for_insert=True), value)
    else:
        raise Invalid(f"JSON patch path /{'/'.join(tokens)} goes through a scalar")
    return document


def _remove(document: JsonValue, tokens: list[str]) -> tuple[JsonValue, JsonValue]:
    if not tokens:
        raise Invalid("JSON patch cannot remove the whole document")
    parent = _parent(document, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise Invalid(f"JSON patch remove: /{'/'.join(tokens)} does not exist")
        return document, parent.pop(last)
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, last, for_insert=False))
    raise Invalid(f"JSON patch path /{'/'.join(tokens)} goes through a scalar")


def json_patch(document: JsonValue, operations: JsonValue) -> JsonValue:
    """RFC 6902: apply `operations` in order; any failure rejects the whole patch."""
    if not isinstance(operations, list):
        raise BadRequest("a JSON patch must be a list of operations")
    result = deep_copy(document)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise BadRequest(f"invalid JSON patch operation {operation!r}")
        op = operation["op"]
        tokens = _pointer(operation.get("path"))
        if op in ("add", "replace", "test") and "value" not in operation:
            raise BadRequest(f"JSON patch {op} needs a value")
        if op == "add":
            result = _add(result, tokens, deep_copy(operation["value"]))
        elif op == "remove":
            result, _ = _remove(result, tokens)
        elif op == "replace":
            _get(result, tokens)  # must exist
            if tokens:
                result, _ = _remove(result, tokens)
            result = _add(result, tokens, deep_copy(operation["value"]))
        elif op in ("move", "copy"):
            source = _pointer(operation.get("from"))
            if op == "move":
                if tokens[: len(source)] == source and tokens != source:
                    raise Invalid("JSON patch cannot move a value into one of its children")
                result, value = _remove(result, source)
            else:
                value = deep_copy(_get(result, source))
            result = _add(result, tokens, value)
        elif op == "test":
            if _get(result, tokens) != operation["value"]:
                raise Invalid(f"JSON patch test failed at {operation.get('path')}")
        else:
            raise BadRequest(f"unknown JSON patch operation {op!r}")
    return result


# --- strategic merge patch -----------------------------------------------------------------

_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_MERGE_KEYS: Mapping[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
}
PRIMITIVE_MERGE_LISTS = frozenset({("metadata", "finalizers")})


def merge_key(path: Sequence[str]) -> str | None:
    """The merge key of the list at `path` (field names, list positions left out)."""
    if not path:
        return None
    last = path[-1]
    if last == "ports":
        if any(step in _CONTAINER_LISTS for step in path):
            return "containerPort"
        if tuple(path) == ("spec", "ports"):
            return "port"  # Service ports; EndpointSlice ports are atomic
        return None
    return _MERGE_KEYS.get(last)


def _strip_directives(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return {
            key: _strip_directives(item)
            for key, item in value.items()
            if not key.startswith("$") and item is not None
        }
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value


def strategic_merge(original: JsonValue, patch: JsonValue, path: tuple[str, ...] = ()) -> JsonValue:
    """Kubernetes strategic merge patch for the lists we know, merge patch elsewhere."""
    if not isinstance(patch, Mapping):
        return _strip_directives(deep_copy(patch))
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(deep_copy({k: v for k, v in patch.items() if k != "$patch"}))
    if directive == "delete":
        return None
    if directive is not None:
        raise BadRequest(f"unknown $patch directive {directive!r}")
    result: dict[str, JsonValue] = dict(original) if isinstance(original, Mapping) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list) and isinstance(value, list):
                result[name] = [item for item in result[name] if item not in value]
            continue
        if key.startswith("$"):
            continue  # $setElementOrder, $retainKeys: ordering and pruning hints only
        if value is None:
            result.pop(key, None)
            continue
        child_path = (*path, key)
        current = result.get(key)
        if isinstance(value, list):
            merged: JsonValue = _merge_list(
                current if isinstance(current, list) else [], value, child_path
            )
        else:
            merged = strategic_merge(current, value, child_path)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def _merge_list(original: list[Any], patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [
            _strip_directives(deep_copy(item))
            for item in patch
            if not (isinstance(item, dict) and item.get("$patch") == "replace")
        ]
    if path in PRIMITIVE_MERGE_LISTS:
        merged = list(original)
        merged.extend(item for item in patch if item not in merged)
        return merged
    key = merge_key(path)
    if key is None:
        return _strip_directives(deep_copy(patch))  # type: ignore[no-any-return]
    result = [deep_copy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise BadRequest(f"list {'.'.join(path)} is merged by {key!r}; an element lacks it")
        position = next(
            (
                index
                for index, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
            continue
        if position is None:
            result.append(_strip_directives(deep_copy(item)))
        else:
            result[position] = strategic_merge(result[position], item, path)
    return result
