"""`fieldValidation`: fields of a written object that its schema does not know.

kubectl sends `fieldValidation=Strict` on every create, update and patch (its default
`--validate=strict`, once the OpenAPI document says the server supports it), and
skips its own checks: a server that ignored the parameter would accept typos such
as `spec.rulez` silently, where kube-apiserver rejects them. So this server checks
object fields against the official client's models (schemas.py):

- `Strict`: 400 BadRequest, `strict decoding error: unknown field "spec.rulez"`.
- `Warn`: the write succeeds with a `Warning` header per unknown field.
- `Ignore`, or no parameter: no check (kube-apiserver's default is Warn; skipping it
  keeps the official client's writes, which never send the parameter, as fast as
  before). Unknown fields are stored as sent, where kube-apiserver would drop them.

Only unknown fields are reported; types, required fields and duplicate JSON keys are
not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nginx_ingress_dev.devcluster.errors import BadRequest
from nginx_ingress_dev.devcluster.resources import ResourceType
from nginx_ingress_dev.devcluster.schemas import CATALOG, Catalog, FieldType

MODES = ("Ignore", "Warn", "Strict")


def mode(value: str | None) -> str:
    """The `fieldValidation` query parameter; 400 for a value kube-apiserver rejects."""
    if value in (None, ""):
        return "Ignore"
    if value not in MODES:
        raise BadRequest(
            f'fieldValidation: invalid value "{value}": must be one of Ignore, Warn or Strict'
        )
    return str(value)


def _walk(value: Any, field_type: FieldType, path: str, catalog: Catalog, found: list[str]) -> None:
    if field_type.kind == "model" and isinstance(value, Mapping):
        fields = catalog.fields(field_type.name)
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            known = fields.get(key)
            if known is None:
                found.append(child)
            else:
                _walk(item, known.type, child, catalog, found)
    elif field_type.kind == "list" and isinstance(value, list) and field_type.item is not None:
        for index, item in enumerate(value):
            _walk(item, field_type.item, f"{path}[{index}]", catalog, found)
    elif field_type.kind == "map" and isinstance(value, Mapping) and field_type.item is not None:
        for key, item in value.items():
            _walk(item, field_type.item, f"{path}.{key}", catalog, found)


def unknown_fields(
    resource: ResourceType, obj: Mapping[str, Any], catalog: Catalog = CATALOG
) -> list[str]:
    """Dotted paths (`spec.rules[0].htp`) of the fields the kind's schema lacks; none
    for a kind the client has no model of."""
    model = catalog.model_name(resource)
    if model is None:
        return []
    found: list[str] = []
    _walk(obj, FieldType("model", model), "", catalog, found)
    return found


def check(
    resource: ResourceType, obj: Any, validation: str, *, patch: bool = False
) -> dict[str, str]:
    """Apply `validation` (from `mode`) to a written object: raises for Strict, returns
    the `Warning` header for Warn, nothing otherwise."""
    if validation == "Ignore" or not isinstance(obj, Mapping):
        return {}
    unknown = unknown_fields(resource, obj)
    if not unknown:
        return {}
    if validation == "Strict":
        problems = ", ".join(f'unknown field "{path}"' for path in unknown)
        where = (
            ""
            if patch
            else f'{resource.kind} in version "{resource.version}" cannot be handled as a '
            f"{resource.kind}: "
        )
        raise BadRequest(f"{where}strict decoding error: {problems}")
    warnings = ", ".join(f'299 - "unknown field \\"{path}\\""' for path in unknown)
    return {"Warning": warnings}
