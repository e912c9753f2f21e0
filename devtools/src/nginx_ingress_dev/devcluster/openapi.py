"""OpenAPI documents for the served kinds: `/openapi/v2` (Swagger 2.0, JSON) and
`/openapi/v3` with one document per group-version, as kubectl reads them.

kubectl needs them for `apply`, `create -f` and `explain`: its default
`--validate=strict` looks in the v3 document for a PATCH operation of the kind that
takes a `fieldValidation` parameter, and if it finds one leaves validation to the
server (see fieldvalidation.py); `apply` computes its patch from the schemas'
strategic-merge metadata. The schemas come from schemas.py (the official client's
models); the paths, from the resource table.

Generated on first request and cached (thread-safe): the models and all documents
take about a second to build, which a server that starts in tests many times a run
should not pay unless a client asks.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from typing import Any

import orjson

from nginx_ingress_dev.devcluster.discovery import KUBERNETES_VERSION
from nginx_ingress_dev.devcluster.resources import GroupVersion, ResourceTable, ResourceType
from nginx_ingress_dev.devcluster.schemas import CATALOG, Catalog, definitions

V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
_WRITE_PARAMETERS = (
    ("dryRun", "When present (All), the request is checked but not persisted."),
    ("fieldManager", "The name of the actor making the change."),
    (
        "fieldValidation",
        "Ignore, Warn or Strict: what to do with fields the schema does not know.",
    ),
)
_META = ("V1Status", "V1DeleteOptions")


def _path_prefix(group_version: GroupVersion) -> str:
    if group_version.group:
        return f"/apis/{group_version.group}/{group_version.version}"
    return f"/api/{group_version.version}"


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": kind}}


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


class Documents:
    """The OpenAPI documents of one resource table."""

    def __init__(self, table: ResourceTable, catalog: Catalog = CATALOG) -> None:
        self._table = table
        self._catalog = catalog
        self._lock = threading.Lock()
        self._v3: dict[str, bytes] | None = None
        self._v3_root: bytes | None = None
        self._v2: bytes | None = None

    # --- schemas --------------------------------------------------------------------------

    def _roots(self, resources: Iterable[ResourceType]) -> dict[str, tuple[str, ...]]:
        roots: dict[str, tuple[str, ...]] = dict.fromkeys(_META, ())
        for resource in resources:
            for list_kind in (False, True):
                model = self._catalog.model_name(resource, list_kind=list_kind)
                if model is not None:
                    roots[model] = ()
        return roots

    def _schemas(self, resources: list[ResourceType], prefix: str) -> dict[str, Any]:
        schemas = definitions(self._roots(resources), prefix, self._catalog)
        for resource in resources:
            for list_kind in (False, True):
                model = self._catalog.model_name(resource, list_kind=list_kind)
                if model is None:
                    continue
                kind = f"{resource.kind}List" if list_kind else resource.kind
                schemas[model]["x-kubernetes-group-version-kind"] = [
                    {"group": resource.group, "version": resource.version, "kind": kind}
                ]
        return dict(sorted(schemas.items()))

    # --- paths --------------------------------------------------------------------------

    def _operation(
        self,
        resource: ResourceType,
        action: str,
        *,
        list_kind: bool = False,
        subresource: str = "",
    ) -> dict[str, Any]:
        model = self._catalog.model_name(resource, list_kind=list_kind) or "V1Status"
        returned = {"$ref": f"{V3_PREFIX}{model}"}
        if action in ("delete", "deletecollection") and not resource.returns_deleted_object:
            returned = {"$ref": f"{V3_PREFIX}V1Status"}
        scope = "Namespaced" if resource.namespaced else ""
        suffix = "Status" if subresource else ""
        operation: dict[str, Any] = {
            "operationId": f"{action}{scope}{resource.kind}{suffix}",
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {
                "group": resource.group,
                "version": resource.version,
                "kind": resource.kind,
            },
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": returned}}}
            },
        }
        parameters: list[dict[str, Any]] = []
        if action in ("post", "put", "patch"):
            parameters = [_query(name, text) for name, text in _WRITE_PARAMETERS]
            body = {"$ref": f"{V3_PREFIX}{model}"}
            types: tuple[str, ...] = ("application/json", "application/yaml")
            if action == "patch":
                parameters.append(_query("force", "Take over fields (apply only).", "boolean"))
                body = {"type": "object"}
                types = PATCH_TYPES
            operation["requestBody"] = {
                "required": True,
                "content": {media: {"schema": body} for media in types},
            }
        elif action in ("list", "watch"):
            parameters = [
                _query("labelSelector", "Select objects by label."),
                _query("fieldSelector", "Select objects by field."),
                _query("limit", "Most objects in one page.", "integer"),
                _query("continue", "The token of the next page."),
                _query("watch", "Watch for changes instead of listing.", "boolean"),
                _query("resourceVersion", "Where a watch starts."),
            ]
        if parameters:
            operation["parameters"] = parameters
        return operation

    def _paths(self, resource: ResourceType, prefix: str) -> dict[str, Any]:
        plural = resource.plural
        collection = (
            f"{prefix}/namespaces/{{namespace}}/{plural}"
            if resource.namespaced
            else f"{prefix}/{plural}"
        )
        scope = [_path_parameter("namespace")] if resource.namespaced else []
        named = [*scope, _path_parameter("name")]
        paths: dict[str, Any] = {
            collection: {
                "parameters": scope,
                "get": self._operation(resource, "list", list_kind=True),
                "post": self._operation(resource, "post"),
                "delete": self._operation(resource, "deletecollection"),
            },
            f"{collection}/{{name}}": {
                "parameters": named,
                **{
                    method: self._operation(resource, action)
                    for method, action in (
                        ("get", "get"),
                        ("put", "put"),
                        ("patch", "patch"),
                        ("delete", "delete"),
                    )
                },
            },
        }
        if resource.namespaced:
            paths[f"{prefix}/{plural}"] = {"get": self._operation(resource, "list", list_kind=True)}
        if resource.has_status:
            paths[f"{collection}/{{name}}/status"] = {
                "parameters": named,
                **{
                    method: self._operation(resource, method, subresource="status")
                    for method in ("get", "put", "patch")
                },
            }
        for item in paths.values():
            if not item.get("parameters"):
                item.pop("parameters", None)
        return paths

    # --- documents --------------------------------------------------------------------------

    def _group_version_document(self, group_version: GroupVersion) -> dict[str, Any]:
        resources = list(self._table.in_group_version(group_version.group, group_version.version))
        prefix = _path_prefix(group_version)
        paths: dict[str, Any] = {}
        for resource in resources:
            paths.update(self._paths(resource, prefix))
        major, minor = KUBERNETES_VERSION
        return {
            "openapi": "3.0.0",
            "info": {
                "title": "Kubernetes (development API server)",
                "version": f"v{major}.{minor}.0",
            },
            "paths": paths,
            "components": {"schemas": self._schemas(resources, V3_PREFIX)},
        }

    def _build_v3(self) -> None:
        documents: dict[str, bytes] = {}
        for group_version in self._table.group_versions():
            key = _path_prefix(group_version).lstrip("/")
            documents[key] = orjson.dumps(self._group_version_document(group_version))
        root = {
            "paths": {
                key: {
                    "serverRelativeURL": (
                        f"/openapi/v3/{key}?hash={hashlib.sha512(body).hexdigest()[:32].upper()}"
                    )
                }
                for key, body in documents.items()
            }
        }
        self._v3, self._v3_root = documents, orjson.dumps(root)

    def v3_root(self) -> bytes:
        with self._lock:
            if self._v3_root is None:
                self._build_v3()
            assert self._v3_root is not None
            return self._v3_root

    def v3(self, key: str) -> bytes | None:
        """The document of `api/v1` or `apis/<group>/<version>`; None if not served."""
        with self._lock:
            if self._v3 is None:
                self._build_v3()
            assert self._v3 is not None
            return self._v3.get(key.strip("/"))

    def v2(self) -> bytes:
        with self._lock:
            if self._v2 is None:
                self._v2 = orjson.dumps(self._v2_document())
            return self._v2

    def _v2_document(self) -> dict[str, Any]:
        resources = list(self._table.resources)
        paths: dict[str, Any] = {}
        for group_version in self._table.group_versions():
            prefix = _path_prefix(group_version)
            for resource in self._table.in_group_version(
                group_version.group, group_version.version
            ):
                for path, item in self._paths(resource, prefix).items():
                    paths[path] = _swagger_path_item(item)
        major, minor = KUBERNETES_VERSION
        return {
            "swagger": "2.0",
            "info": {
                "title": "Kubernetes (development API server)",
                "version": f"v{major}.{minor}.0",
            },
            "paths": paths,
            "definitions": self._schemas(resources, V2_PREFIX),
        }


def _v2_ref(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return {"$ref": ref.replace(V3_PREFIX, V2_PREFIX)}
    return schema


def _swagger_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    converted = {key: value for key, value in parameter.items() if key != "schema"}
    converted["type"] = parameter.get("schema", {}).get("type", "string")
    return converted


def _swagger_path_item(item: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3 path item in Swagger 2.0 form (body parameters, `consumes`)."""
    converted: dict[str, Any] = {}
    for key, value in item.items():
        if key == "parameters":
            converted[key] = [_swagger_parameter(p) for p in value]
            continue
        operation = {k: v for k, v in value.items() if k not in ("requestBody", "responses")}
        parameters = [_swagger_parameter(p) for p in value.get("parameters", [])]
        body = value.get("requestBody")
        if body is not None:
            schema = next(iter(body["content"].values()))["schema"]  # one schema for all types
            parameters.append(
                {"name": "body", "in": "body", "required": True, "schema": _v2_ref(schema)}
            )
            operation["consumes"] = list(body["content"])
        if parameters:
            operation["parameters"] = parameters
        operation["produces"] = ["application/json", "application/yaml"]
        response = value["responses"]["200"]["content"]["application/json"]["schema"]
        operation["responses"] = {"200": {"description": "OK", "schema": _v2_ref(response)}}
        converted[key] = operation
    return converted
