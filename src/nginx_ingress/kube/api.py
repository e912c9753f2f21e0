"""Raw access to the Kubernetes API, with objects as plain dicts and errors as types.

It rides on the official client's transport (configuration, authentication,
TLS, connection pool) but skips its typed models: decoding 10,000 Ingresses into
them costs about 3 s and 255 MB, the raw path with orjson a fraction of that, and
the controller reads only a few fields. Every call has a timeout; every failure
is one of the exceptions below, so callers never see urllib3 or the client's
`ApiException`.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

Object = dict[str, Any]


# --- errors -------------------------------------------------------------------------------


class KubeError(Exception):
    """Base of every error talking to the Kubernetes API."""


class KubeUnavailable(KubeError):
    """The API server could not be reached, or did not answer in time."""


class ApiStatusError(KubeError):
    """The API server answered with an error Status."""

    status = 0

    def __init__(self, status: int, reason: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


class BadRequest(ApiStatusError): ...


class Unauthorized(ApiStatusError): ...


class Forbidden(ApiStatusError): ...


class NotFound(ApiStatusError): ...


class Conflict(ApiStatusError):
    """409 with reason Conflict: the object changed since it was read."""


class AlreadyExists(ApiStatusError): ...


class Gone(ApiStatusError):
    """410: the resourceVersion asked for is too old; list again."""


class Invalid(ApiStatusError): ...


class TooManyRequests(ApiStatusError): ...


class ServerError(ApiStatusError): ...


_BY_STATUS: dict[int, type[ApiStatusError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def status_error(status: int, body: bytes, headers: Mapping[str, str]) -> ApiStatusError:
    """The typed error for an error response (or a watch ERROR event's Status)."""
    try:
        decoded = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        decoded = {}
    reason = str(decoded.get("reason", "")) if isinstance(decoded, dict) else ""
    message = str(decoded.get("message", "")) if isinstance(decoded, dict) else ""
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiStatusError)
    if status == 409 and reason == "AlreadyExists":
        kind = AlreadyExists
    return kind(
        status,
        reason or "Error",
        message or body[:200].decode(errors="replace"),
        _retry_after(headers.get("Retry-After")),
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    return None


# --- resources ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, sub: str | None = None
    ) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
        if sub is not None:
            base += f"/{sub}"
        return base


CONFIGMAPS = Resource("", "v1", "ConfigMap", "configmaps")
SERVICES = Resource("", "v1", "Service", "services")
PODS = Resource("", "v1", "Pod", "pods")
SECRETS = Resource("", "v1", "Secret", "secrets")
EVENTS = Resource("", "v1", "Event", "events")
INGRESSES = Resource("networking.k8s.io", "v1", "Ingress", "ingresses")
INGRESSCLASSES = Resource(
    "networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False
)
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")
REPLICASETS = Resource("apps", "v1", "ReplicaSet", "replicasets")
DEPLOYMENTS = Resource("apps", "v1", "Deployment", "deployments")
DAEMONSETS = Resource("apps", "v1", "DaemonSet", "daemonsets")
STATEFULSETS = Resource("apps", "v1", "StatefulSet", "statefulsets")
LEASES = Resource("coordination.k8s.io", "v1", "Lease", "leases")
WORKLOADS = {r.kind: r for r in (REPLICASETS, DEPLOYMENTS, DAEMONSETS, STATEFULSETS)}


# --- the API ------------------------------------------------------------------------------

Query = Sequence[tuple[str, str]]
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


class KubeApi:
    """Requests as dicts in and dicts out, with a timeout on each: `timeout` by default,
    or the call's own (the leader elector's calls must end before its renew deadline)."""

    def __init__(self, client: ApiClient, *, timeout: float = 10.0) -> None:
        self._client = client
        self.timeout = timeout

    def get(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Object:
        return self._json("GET", resource.path(namespace, name), timeout=timeout)

    def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        timeout: float | None = None,
    ) -> Object:
        query = _selectors(label_selector, field_selector)
        if limit:
            query.append(("limit", str(limit)))
        if continue_token:
            query.append(("continue", continue_token))
        return self._json("GET", resource.path(namespace), query, timeout=timeout)

    def create(
        self,
        resource: Resource,
        body: Object,
        namespace: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Object:
        return self._json("POST", resource.path(namespace), body=body, timeout=timeout)

    def replace(self, resource: Resource, body: Object, *, timeout: float | None = None) -> Object:
        """PUT the whole object; with `metadata.resourceVersion` set, a Conflict (409) says
        someone changed it since it was read (optimistic concurrency)."""
        metadata = body["metadata"]
        path = resource.path(metadata.get("namespace"), metadata["name"])
        return self._json("PUT", path, body=body, timeout=timeout)

    def replace_status(
        self, resource: Resource, body: Object, *, timeout: float | None = None
    ) -> Object:
        """PUT to the status subresource: only `status` changes (RBAC `<plural>/status`
        update). The body is the whole object as last read, metadata included: the API
        server reads metadata from it, so a partial body could drop labels or annotations."""
        metadata = body["metadata"]
        path = resource.path(metadata.get("namespace"), metadata["name"], "status")
        return self._json("PUT", path, body=body, timeout=timeout)

    def patch(
        self,
        resource: Resource,
        name: str,
        patch: Object | Sequence[Object],
        *,
        namespace: str | None = None,
        content_type: str = MERGE_PATCH,
        timeout: float | None = None,
    ) -> Object:
        return self._json(
            "PATCH",
            resource.path(namespace, name),
            body=patch,
            content_type=content_type,
            timeout=timeout,
        )

    def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Delete; with `uid`, only that very object (a precondition, not a race)."""
        body: Object = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid is not None:
            body["preconditions"] = {"uid": uid}
        self._json("DELETE", resource.path(namespace, name), body=body, timeout=timeout)

    def watch(
        self,
        resource: Resource,
        *,
        resource_version: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        silence: float = 90.0,
    ) -> WatchStream:
        """A watch from `resource_version`; reading blocks at most `silence` seconds.

        Bookmarks are asked for, so a healthy watch is never silent for long: a
        read that times out means the connection died without telling us.
        """
        query = _selectors(label_selector, field_selector)
        query += [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        response = self._request(
            "GET", resource.path(namespace), query, timeout=(self.timeout, silence)
        )
        return WatchStream(response)

    # --- transport ---

    def _json(
        self,
        method: str,
        path: str,
        query: Query = (),
        *,
        body: object = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Object:
        response = self._request(
            method, path, query, body=body, content_type=content_type, timeout=timeout
        )
        data = _body(response, f"{method} {path}")
        if not data:
            return {}
        decoded = orjson.loads(data)
        return decoded if isinstance(decoded, dict) else {"items": decoded}

    def _request(
        self,
        method: str,
        path: str,
        query: Query = (),
        *,
        body: object = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            serialized = self._client.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._client.call_api(
                *serialized, _request_timeout=timeout if timeout is not None else self.timeout
            )
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KubeUnavailable(f"{method} {path}: {error}") from error
        except ApiException as error:  # the client's wrapping of TLS failures (status 0)
            raise KubeUnavailable(f"{method} {path}: {error.reason or error}") from error
        raw: urllib3.BaseHTTPResponse = response.response
        if not 200 <= raw.status <= 299:
            try:
                data = _body(raw, f"{method} {path}")
            except KubeUnavailable:
                data = b""  # the status alone still says what went wrong
            raise status_error(raw.status, data, raw.headers)
        return raw


def _body(response: urllib3.BaseHTTPResponse, what: str) -> bytes:
    """The whole body; the connection goes back to the pool either way."""
    try:
        return response.read()
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise KubeUnavailable(f"{what}: {error}") from error
    finally:
        response.release_conn()


def _selectors(label_selector: str | None, field_selector: str | None) -> list[tuple[str, str]]:
    query = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    return query


class WatchStream:
    """The events of one watch, decoded; `close()` from another thread ends the read at once."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response
        self._closed = False

    def __iter__(self) -> Iterator[tuple[str, Object]]:
        buffer = b""
        try:
            for chunk in self._response.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield _event(line)
            if buffer.strip():
                yield _event(buffer)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if not self._closed:
                raise KubeUnavailable(f"watch interrupted: {error}") from error
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._response.shutdown()
        with contextlib.suppress(Exception):
            self._response.release_conn()

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _event(line: bytes) -> tuple[str, Object]:
    event = orjson.loads(line)
    kind, obj = event.get("type", ""), event.get("object") or {}
    if kind == "ERROR":
        code = int(obj.get("code", 0) or 0)
        raise status_error(code, orjson.dumps(obj), {})
    return kind, obj
