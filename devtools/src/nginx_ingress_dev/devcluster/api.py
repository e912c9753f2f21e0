"""Kubernetes REST semantics over the store: routing, verbs, query flags, watch
streams and Status bodies. Independent of the HTTP transport (see server.py), which
hands it a `Request` and writes back a `Response` or a `StreamingResponse`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import yaml

from nginx_ingress_dev.devcluster import fieldvalidation
from nginx_ingress_dev.devcluster.authn import Authenticator, UserInfo
from nginx_ingress_dev.devcluster.authz import (
    RbacAuthorizer,
    RequestAttributes,
    named_by_field_selector,
)
from nginx_ingress_dev.devcluster.discovery import build_discovery
from nginx_ingress_dev.devcluster.errors import (
    ApiError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
    error_for_code,
)
from nginx_ingress_dev.devcluster.hooks import FaultInjector, RequestLog, RequestRecord
from nginx_ingress_dev.devcluster.media import YAML, Output, negotiate, request_format
from nginx_ingress_dev.devcluster.openapi import Documents
from nginx_ingress_dev.devcluster.patch import json_patch, merge_patch, strategic_merge
from nginx_ingress_dev.devcluster.resources import ResourceType
from nginx_ingress_dev.devcluster.selectors import (
    ObjectFilter,
    parse_field_selector,
    parse_label_selector,
)
from nginx_ingress_dev.devcluster.store import Store, WatchStart
from nginx_ingress_dev.devcluster.tables import include_object, partial_metadata, table
from nginx_ingress_dev.devcluster.watch import (
    ADDED,
    BOOKMARK,
    ERROR,
    StoredObject,
    WatchEvent,
    bookmark,
    error_event,
    translate,
)

log = logging.getLogger(__name__)

JSON = "application/json"
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_HEALTH = frozenset({"/healthz", "/livez", "/readyz"})
_PATCH_TYPES = frozenset(
    {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    }
)


_PLAIN_JSON = frozenset({None, "", JSON, "application/json, */*", "*/*"})
"""`Accept` values that need no negotiation (the official clients send these)."""
_READS = frozenset({"get", "list", "watch"})


def _render(response: Response, output: Output) -> Response:
    """A JSON response in the negotiated form: YAML is converted, errors stay JSON."""
    if output is not Output.YAML or response.status >= 300 or response.content_type != JSON:
        return response
    text = yaml.safe_dump(orjson.loads(response.body), sort_keys=False)
    return Response(response.status, text.encode(), YAML, response.headers)


def parse_go_bool(name: str, value: str | None) -> bool:
    """A boolean query flag as Go's `strconv.ParseBool` reads it; `?watch` alone is true.

    The spike of this server found that clients spell these differently
    (`true`, `True`, `1`), and accepting only one spelling broke kubernetes_asyncio.
    """
    if value is None:
        return False
    if value == "" or value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise BadRequest(f"invalid value {value!r} for {name}: expected a boolean")


def _parse_int(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"invalid value {value!r} for {name}: expected an integer") from None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    query_string: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes
    peer_certificate: Mapping[str, Any] | None = None
    output: Output = Output.JSON
    """The representation negotiated from `Accept` (set by `Api` before a verb runs)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamingResponse:
    """A chunked response whose body is produced as it is written (watches)."""

    status: int
    chunks: Iterator[bytes]
    content_type: str = JSON


@dataclass(frozen=True)
class Route:
    resource: ResourceType
    namespace: str | None
    """None: all namespaces (or a cluster-scoped resource)."""
    name: str | None
    subresource: str | None
    legacy_watch: bool = False


@dataclass(frozen=True)
class ApiSettings:
    bookmark_interval: float = 60.0
    """Seconds between BOOKMARK events on watches that allow them."""
    default_watch_timeout: float = 1800.0
    """A watch without `timeoutSeconds` ends after this long (kube-apiserver: 30-60 min)."""
    log_requests: bool = False
    """Log every request at INFO (the CLI's `--log-requests`)."""


class Api:
    """The Kubernetes API served from one `Store`."""

    def __init__(
        self,
        store: Store,
        *,
        settings: ApiSettings,
        authenticator: Authenticator,
        authorizer: RbacAuthorizer | None,
        faults: FaultInjector,
        request_log: RequestLog,
        stopping: threading.Event,
    ) -> None:
        self.store = store
        self.settings = settings
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.faults = faults
        self.request_log = request_log
        self.stopping = stopping
        self._discovery: dict[str, bytes] = {}
        self.openapi = Documents(store.resources)

    def set_server_address(self, address: str) -> None:
        self._discovery = build_discovery(self.store.resources, address)

    # --- entry point -------------------------------------------------------------------

    def handle(self, request: Request) -> Response | StreamingResponse:
        started = time.monotonic()
        user_name = ""
        verb_seen: list[str] = []
        try:
            user = self.authenticator.authenticate(
                request.headers.get("authorization"), request.peer_certificate
            )
            user_name = user.name
            rule = self.faults.take(request.method, request.path)
            if rule is not None:
                if rule.latency > 0 and self.stopping.wait(rule.latency):
                    raise error_for_code(503, "the server is shutting down")
                if rule.status is not None:
                    headers = (
                        {"Retry-After": str(rule.retry_after)}
                        if rule.retry_after is not None
                        else {}
                    )
                    details = (
                        {"retryAfterSeconds": rule.retry_after}
                        if rule.retry_after is not None
                        else None
                    )
                    raise error_for_code(
                        rule.status,
                        f"injected fault for {request.path}",
                        details=details,
                        headers=headers,
                    )
            response = self._dispatch(request, user, verb_seen)
        except ApiError as error:
            response = self.error_response(error)
        except Exception as error:
            log.exception("devcluster: internal error serving %s %s", request.method, request.path)
            response = self.error_response(InternalError(f"internal error: {error!r}"))
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=request.query_string,
            status=response.status,
            user=user_name,
            verb=verb_seen[0] if verb_seen else "",
            duration_seconds=time.monotonic() - started,
        )
        self.request_log.add(record)
        if self.settings.log_requests:
            log.info(
                "%s %s%s %d %s %.1fms",
                record.method,
                record.path,
                f"?{record.query}" if record.query else "",
                record.status,
                record.user,
                record.duration_seconds * 1000,
            )
        return response

    @staticmethod
    def error_response(error: ApiError) -> Response:
        return Response(error.code, orjson.dumps(error.status_body()), headers=error.headers)

    def _dispatch(
        self, request: Request, user: UserInfo, verb_seen: list[str]
    ) -> Response | StreamingResponse:
        """Serve one request; the verb is reported through `verb_seen` even on errors."""
        path = request.path
        if path in _HEALTH:
            verb_seen.append("get")
            return Response(200, b"ok", content_type="text/plain")
        accept = request.headers.get("accept")
        if path.startswith("/openapi/"):
            verb_seen.append("get")
            if request.method != "GET":
                raise MethodNotAllowed(f"{request.method} is not allowed on {path}")
            return _render(Response(200, self._openapi_document(path)), negotiate(accept))
        document = self._discovery.get(path)
        if document is not None:
            verb_seen.append("get")
            if request.method != "GET":
                raise MethodNotAllowed(f"{request.method} is not allowed on {path}")
            return _render(Response(200, document), negotiate(accept))
        route = self._route(path)
        verb = self._verb(request, route)
        verb_seen.append(verb)
        output = (
            Output.JSON
            if accept in _PLAIN_JSON
            else negotiate(accept, conversions=verb in _READS, stream=verb == "watch")
        )
        if self.authorizer is not None:
            self.authorizer.check(
                user,
                RequestAttributes(
                    verb=verb,
                    path=path,
                    api_group=route.resource.group,
                    resource=route.resource.plural,
                    subresource=route.subresource or "",
                    namespace=route.namespace or "",
                    name=route.name
                    or (
                        named_by_field_selector(request.query.get("fieldSelector"))
                        if verb in ("list", "watch")
                        else ""
                    ),
                ),
            )
        handler: Callable[[Request, Route], Response | StreamingResponse] = getattr(
            self, f"_{verb}"
        )
        if output is Output.JSON:
            return handler(request, route)
        response = handler(replace(request, output=output), route)
        return response if isinstance(response, StreamingResponse) else _render(response, output)

    def _openapi_document(self, path: str) -> bytes:
        if path.rstrip("/") == "/openapi/v2":
            return self.openapi.v2()
        if path.rstrip("/") == "/openapi/v3":
            return self.openapi.v3_root()
        document = self.openapi.v3(path.removeprefix("/openapi/v3/"))
        if document is None or not path.startswith("/openapi/v3/"):
            raise NotFound(f"the server could not find the requested resource ({path})")
        return document

    # --- routing -----------------------------------------------------------------------

    def _route(self, path: str) -> Route:
        parts = [part for part in path.split("/") if part]
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise NotFound(f"the server could not find the requested resource ({path})")
        legacy_watch = bool(rest) and rest[0] == "watch"
        if legacy_watch:
            rest = rest[1:]
        namespace: str | None = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and self.store.resources.by_path(group, version, rest[2])
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise NotFound(f"the server could not find the requested resource ({path})")
        resource = self.store.resources.by_path(group, version, rest[0])
        if resource is None:
            raise NotFound(f"the server could not find the requested resource ({path})")
        if namespace is not None and not resource.namespaced:
            raise NotFound(f"the server could not find the requested resource ({path})")
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        if subresource is not None and not (subresource == "status" and resource.has_status):
            raise NotFound(f"the server could not find the requested resource ({path})")
        return Route(resource, namespace, name, subresource, legacy_watch)

    @staticmethod
    def _verb(request: Request, route: Route) -> str:
        method = request.method
        if method == "GET":
            if route.name is not None:
                return "get"
            watching = route.legacy_watch or parse_go_bool("watch", request.query.get("watch"))
            return "watch" if watching else "list"
        if route.legacy_watch:
            raise MethodNotAllowed(f"{method} is not allowed on a watch path")
        if method == "POST" and route.name is None:
            return "create"
        if route.name is not None and method in ("PUT", "PATCH", "DELETE"):
            return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        if method == "DELETE":
            return "deletecollection"
        raise MethodNotAllowed(f"{method} is not allowed on {request.path}")

    # --- helpers -----------------------------------------------------------------------

    @staticmethod
    def _decode_body(request: Request, content_type: str | None = None) -> Any:
        """The body of a create, update or delete (`request_format`: JSON or YAML, 415
        otherwise), or of a patch whose `content_type` was checked."""
        if content_type is None:
            content_type = request_format(request.headers.get("content-type"))
        if not request.body:
            raise BadRequest("the request has no body")
        try:
            if content_type in (YAML, "application/apply-patch+yaml"):
                # Clients usually send JSON even for apply; it is YAML too, but slower to read so.
                if request.body.lstrip()[:1] in (b"{", b"["):
                    return orjson.loads(request.body)
                return yaml.safe_load(request.body)
            return orjson.loads(request.body)
        except (orjson.JSONDecodeError, yaml.YAMLError) as error:
            raise BadRequest(f"the request body is not valid {content_type}: {error}") from None

    @staticmethod
    def _dry_run(request: Request) -> bool:
        value = request.query.get("dryRun")
        if value is None:
            return False
        if value != "All":
            raise BadRequest(f"unsupported dryRun value {value!r}; only 'All' is valid")
        return True

    @staticmethod
    def _object(
        stored: StoredObject, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response(status, stored.raw, headers=headers or {})

    def _filter(self, request: Request, resource: ResourceType) -> ObjectFilter:
        return ObjectFilter(
            parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(request.query.get("fieldSelector"), resource),
        )

    # --- verbs -------------------------------------------------------------------------

    def _get(self, request: Request, route: Route) -> Response:
        assert route.name is not None
        stored = self.store.get(route.resource, route.namespace or "", route.name)
        if request.output is Output.TABLE:
            metadata = {"resourceVersion": stored.obj["metadata"]["resourceVersion"]}
            include = include_object(request.query.get("includeObject"))
            return Response(
                200, orjson.dumps(table(route.resource, [stored.obj], metadata, include=include))
            )
        if request.output is Output.METADATA:
            return Response(200, orjson.dumps(partial_metadata(stored.obj)))
        return self._object(stored)

    def _list(self, request: Request, route: Route) -> Response:
        limit = _parse_int("limit", request.query.get("limit"))
        page = self.store.list(
            route.resource,
            route.namespace,
            self._filter(request, route.resource),
            limit=limit if limit and limit > 0 else None,
            continue_token=request.query.get("continue") or None,
        )
        metadata: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        if page.remaining is not None:
            metadata["remainingItemCount"] = page.remaining
        resource = route.resource
        if request.output is Output.TABLE:
            include = include_object(request.query.get("includeObject"))
            objects = [stored.obj for stored in page.items]
            return Response(200, orjson.dumps(table(resource, objects, metadata, include=include)))
        if request.output is Output.METADATA:
            items = [partial_metadata(stored.obj) for stored in page.items]
            body_object = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1"}
            return Response(
                200, orjson.dumps({**body_object, "metadata": metadata, "items": items})
            )
        head = orjson.dumps(
            {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": metadata}
        )
        items_bytes = b",".join([stored.raw for stored in page.items])
        body = b"".join((head[:-1], b',"items":[', items_bytes, b"]}"))
        return Response(200, body)

    def _create(self, request: Request, route: Route) -> Response:
        validation = fieldvalidation.mode(request.query.get("fieldValidation"))
        body = self._decode_body(request)
        warnings = fieldvalidation.check(route.resource, body, validation)
        stored = self.store.create(
            route.resource,
            route.namespace or "",
            body,
            dry_run=self._dry_run(request),
            field_manager=request.query.get("fieldManager"),
        )
        return self._object(stored, 201, warnings)

    def _update(self, request: Request, route: Route) -> Response:
        assert route.name is not None
        validation = fieldvalidation.mode(request.query.get("fieldValidation"))
        body = self._decode_body(request)
        warnings = fieldvalidation.check(route.resource, body, validation)
        stored = self.store.update(
            route.resource,
            route.namespace or "",
            route.name,
            body,
            subresource=route.subresource,
            dry_run=self._dry_run(request),
            field_manager=request.query.get("fieldManager"),
        )
        return self._object(stored, 200, warnings)

    def _patch(self, request: Request, route: Route) -> Response:
        assert route.name is not None
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in _PATCH_TYPES:
            raise UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(sorted(_PATCH_TYPES))}"
            )
        validation = fieldvalidation.mode(request.query.get("fieldValidation"))
        patch = self._decode_body(request, content_type)
        apply = content_type == "application/apply-patch+yaml"
        field_manager = request.query.get("fieldManager")
        warnings: dict[str, str] = {}
        if apply:
            if not field_manager:
                raise BadRequest("fieldManager is required for apply requests")
            # `force` is accepted and checked, but field ownership conflicts are not tracked.
            parse_go_bool("force", request.query.get("force"))
            if not isinstance(patch, dict):
                raise BadRequest("an apply patch must be an object")
            self._check_applied(patch, route)

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            if current is None:  # only apply creates
                result: Any = dict(patch)
            elif content_type == "application/json-patch+json":
                result = json_patch(current, patch)
            elif content_type == "application/merge-patch+json":
                result = merge_patch(current, patch)
            else:
                result = strategic_merge(current, patch)
            if not isinstance(result, dict):
                raise BadRequest("the patch did not produce an object")
            warnings.update(fieldvalidation.check(route.resource, result, validation, patch=True))
            return result

        stored, created = self.store.modify(
            route.resource,
            route.namespace or "",
            route.name,
            change,
            subresource=route.subresource,
            create_missing=apply and route.subresource is None,
            dry_run=self._dry_run(request),
            field_manager=field_manager,
            operation="Apply" if apply else "Update",
        )
        return self._object(stored, 201 if created else 200, warnings)

    @staticmethod
    def _check_applied(patch: dict[str, Any], route: Route) -> None:
        resource = route.resource
        if patch.get("apiVersion") != resource.api_version or patch.get("kind") != resource.kind:
            raise BadRequest(
                f"an apply patch must name apiVersion {resource.api_version} "
                f"and kind {resource.kind}"
            )
        metadata = patch.get("metadata") or {}
        if metadata.get("name") not in (None, route.name):
            raise BadRequest("the name in the apply patch does not match the name on the URL")

    def _delete_options(self, request: Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.body:
            decoded = self._decode_body(request)
            if isinstance(decoded, dict):
                options = decoded
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        if "orphanDependents" in request.query:
            options["orphanDependents"] = parse_go_bool(
                "orphanDependents", request.query["orphanDependents"]
            )
        return options

    def _delete(self, request: Request, route: Route) -> Response:
        assert route.name is not None
        options = self._delete_options(request)
        preconditions = options.get("preconditions") or {}
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise BadRequest(f"unknown propagationPolicy {policy!r}")
        dry_run = self._dry_run(request) or "All" in (options.get("dryRun") or [])
        result = self.store.delete(
            route.resource,
            route.namespace or "",
            route.name,
            precondition_uid=preconditions.get("uid"),
            precondition_resource_version=preconditions.get("resourceVersion"),
            orphan=policy == "Orphan" or options.get("orphanDependents") is True,
            dry_run=dry_run,
        )
        if not result.removed:
            return self._object(result.obj, 202)
        if route.resource.returns_deleted_object:
            return self._object(result.obj)
        return Response(200, orjson.dumps(self._success(route.resource, result.obj)))

    @staticmethod
    def _success(resource: ResourceType, stored: StoredObject) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": stored.name,
                "group": resource.group,
                "kind": resource.plural,
                "uid": stored.uid,
            },
        }

    def _deletecollection(self, request: Request, route: Route) -> Response:
        object_filter = self._filter(request, route.resource)
        dry_run = self._dry_run(request)
        for stored in self.store.snapshot(route.resource, route.namespace):
            if not object_filter.matches(stored.obj):
                continue
            try:
                self.store.delete(route.resource, stored.namespace, stored.name, dry_run=dry_run)
            except NotFound:
                continue  # collected meanwhile
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
        return Response(200, orjson.dumps(body))

    # --- watch -------------------------------------------------------------------------

    def _watch(self, request: Request, route: Route) -> StreamingResponse:
        query = request.query
        timeout = _parse_int("timeoutSeconds", query.get("timeoutSeconds"))
        bookmarks = parse_go_bool("allowWatchBookmarks", query.get("allowWatchBookmarks"))
        send_initial = parse_go_bool("sendInitialEvents", query.get("sendInitialEvents"))
        object_filter = self._filter(request, route.resource)
        resource_version = query.get("resourceVersion")
        if send_initial and resource_version not in (None, "", "0"):
            raise BadRequest("sendInitialEvents is only supported from an unset resourceVersion")
        if route.name is not None:  # legacy /watch/.../name
            requirement = f"metadata.name={route.name}"
            object_filter = ObjectFilter(
                object_filter.labels, parse_field_selector(requirement, route.resource)
            )
        try:
            start = self.store.watch(
                route.resource,
                route.namespace,
                resource_version,
                object_filter,
                description=f"{request.path}?{request.query_string}",
            )
        except ApiError as error:
            # API concepts: a watch from a compacted resourceVersion gets 200 and one
            # ERROR event carrying a 410 Status, then the stream ends.
            return StreamingResponse(200, iter([error_event(error.status_body()).line()]))
        encode: Callable[[WatchEvent], bytes] = WatchEvent.line
        if request.output in (Output.TABLE, Output.METADATA):
            include = include_object(query.get("includeObject"))
            encode = ConvertedEvents(route.resource, request.output, include)
        seconds = (
            float(timeout)
            if timeout is not None and timeout > 0
            else self.settings.default_watch_timeout
        )
        return StreamingResponse(
            200,
            self._stream(
                route.resource,
                start,
                object_filter,
                seconds=seconds,
                bookmarks=bookmarks,
                send_initial=send_initial,
                encode=encode,
            ),
        )

    def _stream(
        self,
        resource: ResourceType,
        start: WatchStart,
        object_filter: ObjectFilter,
        *,
        seconds: float,
        bookmarks: bool,
        send_initial: bool,
        encode: Callable[[WatchEvent], bytes],
    ) -> Iterator[bytes]:
        watcher = start.watcher
        try:
            for stored in start.initial:
                if object_filter.matches(stored.obj):
                    yield encode(WatchEvent(ADDED, stored.raw))
            if send_initial:
                yield encode(
                    bookmark(
                        start.resource_version,
                        resource.api_version,
                        resource.kind,
                        initial_end=True,
                    )
                )
            for change in start.replay:
                event = translate(change, object_filter)
                if event is not None:
                    yield encode(event)
            now = time.monotonic()
            deadline = now + seconds
            interval = self.settings.bookmark_interval
            next_bookmark = now + interval
            while not self.stopping.is_set():
                now = time.monotonic()
                if now >= deadline:
                    return
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(next_bookmark - now, 0.0))
                live = watcher.next(wait)
                if live is not None:
                    event = translate(live, object_filter)
                    if event is not None:
                        yield encode(event)
                    continue
                if watcher.closed:
                    return
                if bookmarks and time.monotonic() >= next_bookmark:
                    version = self.store.bookmark_version(watcher)
                    if version is not None:
                        yield encode(bookmark(version, resource.api_version, resource.kind))
                        next_bookmark = time.monotonic() + interval
        finally:
            self.store.unwatch(watcher)


class ConvertedEvents:
    """Encodes watch events whose objects the client asked to see as Tables (only the
    first carries the column definitions, as kube-apiserver sends them) or as
    PartialObjectMetadata. Errors pass unchanged; a BOOKMARK becomes an empty Table."""

    def __init__(self, resource: ResourceType, output: Output, include: str) -> None:
        self.resource = resource
        self.output = output
        self.include = include
        self.columns_sent = False

    def __call__(self, event: WatchEvent) -> bytes:
        if event.type == ERROR:
            return event.line()
        obj = orjson.loads(event.raw_object)
        converted: dict[str, Any]
        if self.output is Output.METADATA:
            converted = partial_metadata(obj)
        else:
            metadata = {"resourceVersion": obj["metadata"]["resourceVersion"]}
            objects = [] if event.type == BOOKMARK else [obj]
            columns = not self.columns_sent and bool(objects)
            converted = table(
                self.resource, objects, metadata, include=self.include, columns=columns
            )
            self.columns_sent = self.columns_sent or columns
        return WatchEvent(event.type, orjson.dumps(converted)).line()
