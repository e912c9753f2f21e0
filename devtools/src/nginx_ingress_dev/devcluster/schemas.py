"""Object schemas from a machine source: the official `kubernetes` client's models
(the version pinned in pyproject.toml), never typed by hand.

Each model class names its fields' types (`openapi_types`: `str`, `int`, `List[X]`,
`Dict[str, X]`, `V1ObjectMeta`, …) and their JSON names (`attribute_map`); its
pydantic fields say which are required, carry the API's descriptions, and tell
int-or-string fields (`Union[int, str]`) from free-form ones (both `object`). From
these the OpenAPI documents (openapi.py) and the unknown-field check of
`fieldValidation` (fieldvalidation.py) are derived.

Strategic-merge metadata (`x-kubernetes-patch-merge-key`, `…-strategy`) comes from
this server's own patch rules (patch.py), not from Kubernetes: kubectl computes its
patches from them, so what it sends is what this server merges.

The models are imported on first use (about 0.2 s), not when the server starts.
"""

from __future__ import annotations

import re
import threading
import typing
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import Any

from nginx_ingress_dev.devcluster.patch import PRIMITIVE_MERGE_LISTS, merge_key
from nginx_ingress_dev.devcluster.resources import ResourceType

_LIST = re.compile(r"List\[(.+)\]")
_DICT = re.compile(r"Dict\[str, (.+)\]")
_PRIMITIVES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "bytes": {"type": "string", "format": "byte"},
}
INT_OR_STRING: dict[str, Any] = {
    "type": "string",
    "format": "int-or-string",
    "x-kubernetes-int-or-string": True,
}


def _models() -> ModuleType:
    import kubernetes.client.models  # noqa: PLC0415 - costs 0.2 s, only when asked for

    return kubernetes.client.models


@dataclass(frozen=True)
class FieldType:
    """One field's type, parsed from `openapi_types`."""

    kind: str
    """`primitive`, `model`, `list`, `map`, `int-or-string` or `any`."""
    name: str = ""
    """The primitive's or model's name."""
    item: FieldType | None = None
    """The element type of a list or map."""


def parse_type(text: str, *, int_or_string: bool = False) -> FieldType:
    if text in _PRIMITIVES:
        return FieldType("primitive", text)
    if text == "object":
        return FieldType("int-or-string" if int_or_string else "any")
    found = _LIST.fullmatch(text)
    if found:
        return FieldType("list", item=parse_type(found.group(1)))
    found = _DICT.fullmatch(text)
    if found:
        return FieldType("map", item=parse_type(found.group(1)))
    return FieldType("model", text)


@dataclass(frozen=True)
class Field:
    json_name: str
    type: FieldType
    required: bool
    description: str


def _is_int_or_string(annotation: Any) -> bool:
    def flat(value: Any) -> Iterator[Any]:
        arguments = typing.get_args(value)
        if typing.get_origin(value) is typing.Annotated:
            yield from flat(arguments[0])
        elif arguments and typing.get_origin(value) in (
            typing.Union,
            getattr(typing, "UnionType", None),
        ):
            for argument in arguments:
                yield from flat(argument)
        else:
            yield value

    found = set(flat(annotation))
    return int in found and str in found


class Catalog:
    """The client's models, read on demand and cached (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fields: dict[str, dict[str, Field]] = {}

    @cached_property
    def module(self) -> ModuleType:
        return _models()

    def model_name(self, resource: ResourceType, *, list_kind: bool = False) -> str | None:
        """The model class of a served kind: `CoreV1Event`, `EventsV1Event`, `V1Ingress`."""
        kind = f"{resource.kind}List" if list_kind else resource.kind
        version = resource.version.capitalize()
        prefix = (resource.group.split(".")[0] or "core").capitalize()
        for candidate in (f"{prefix}{version}{kind}", f"{version}{kind}"):
            if hasattr(self.module, candidate):
                return candidate
        return None

    def description(self, model: str) -> str:
        text = getattr(self.module, model).__doc__ or ""
        return " ".join(text.split("Attributes:")[0].split())

    def fields(self, model: str) -> dict[str, Field]:
        """JSON name → field, for one model class."""
        with self._lock:
            cached = self._fields.get(model)
            if cached is not None:
                return cached
            cls = getattr(self.module, model)
            pydantic_fields = getattr(cls, "model_fields", {})
            fields: dict[str, Field] = {}
            for attribute, type_text in cls.openapi_types.items():
                info = pydantic_fields.get(attribute)
                json_name = cls.attribute_map.get(attribute, attribute)
                fields[json_name] = Field(
                    json_name,
                    parse_type(
                        type_text,
                        int_or_string=info is not None and _is_int_or_string(info.annotation),
                    ),
                    required=bool(info is not None and info.is_required()),
                    description=" ".join(((info and info.description) or "").split()),
                )
            self._fields[model] = fields
            return fields


CATALOG = Catalog()


def _schema(field_type: FieldType, ref_prefix: str) -> dict[str, Any]:
    if field_type.kind == "primitive":
        return dict(_PRIMITIVES[field_type.name])
    if field_type.kind == "int-or-string":
        return dict(INT_OR_STRING)
    if field_type.kind == "any":
        return {}
    if field_type.kind == "model":
        return {"$ref": f"{ref_prefix}{field_type.name}"}
    assert field_type.item is not None
    inner = _schema(field_type.item, ref_prefix)
    if field_type.kind == "list":
        return {"type": "array", "items": inner}
    return {"type": "object", "additionalProperties": inner}


def definitions(
    roots: dict[str, tuple[str, ...]], ref_prefix: str, catalog: Catalog = CATALOG
) -> dict[str, dict[str, Any]]:
    """Schemas of the `roots` (model name → the path it sits at in an object, `()` for
    a kind or a List kind) and every model they reach, with `$ref`s starting with
    `ref_prefix`."""
    result: dict[str, dict[str, Any]] = {}
    pending = deque(roots.items())  # breadth first: a model's shortest path decides
    while pending:
        model, path = pending.popleft()
        if model in result:
            continue
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in catalog.fields(model).items():
            schema = _schema(field.type, ref_prefix)
            if field.description:
                if "$ref" in schema:  # OpenAPI ignores siblings of $ref: wrap it
                    schema = {"allOf": [schema]}
                schema["description"] = field.description
            if field.type.kind == "list":
                key = merge_key((*path, name))
                if key is not None:
                    schema["x-kubernetes-patch-merge-key"] = key
                    schema["x-kubernetes-patch-strategy"] = "merge"
                elif (*path, name) in PRIMITIVE_MERGE_LISTS:
                    schema["x-kubernetes-patch-strategy"] = "merge"
            properties[name] = schema
            if field.required:
                required.append(name)
            target = field.type.item if field.type.kind in ("list", "map") else field.type
            if target is not None and target.kind == "model":
                # The items of a List kind sit where the kind's objects do.
                items = model.endswith("List") and name == "items"
                pending.append((target.name, path if items else (*path, name)))
        definition: dict[str, Any] = {"type": "object", "properties": properties}
        description = catalog.description(model)
        if description:
            definition["description"] = description
        if required:
            definition["required"] = required
        result[model] = definition
    return result
