"""API errors that become Kubernetes `Status` bodies.

Clients branch on `code` and `reason` (the official client's leader election,
for one, only creates its Lease after a 404 whose body says `code: 404`), so
every failure the server reports is one of these classes and is rendered by
`status_body`, never as a bare HTTP error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ApiError(Exception):
    """An error the API reports as a `Status` object with `code` and `reason`."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.headers: dict[str, str] = dict(headers or {})

    def status_body(self) -> dict[str, Any]:
        """The `Status` object the real API server sends for this failure."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    code = 401
    reason = "Unauthorized"


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"


class NotFound(ApiError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class NotAcceptable(ApiError):
    """406: no representation in the `Accept` header can be served."""

    code = 406
    reason = "NotAcceptable"


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"


class Conflict(ApiError):
    code = 409
    reason = "Conflict"


class Gone(ApiError):
    code = 410
    reason = "Gone"


class Expired(ApiError):
    """410 with reason `Expired`: what a watch or continue token past compaction gets."""

    code = 410
    reason = "Expired"


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):
    code = 422
    reason = "Invalid"


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"


class InternalError(ApiError):
    code = 500
    reason = "InternalError"


class ServiceUnavailable(ApiError):
    code = 503
    reason = "ServiceUnavailable"


ERROR_CLASSES_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    410: Gone,
    415: UnsupportedMediaType,
    422: Invalid,
    429: TooManyRequests,
    500: InternalError,
    503: ServiceUnavailable,
}
"""The class used when a test hook asks for a bare status code (fault injection)."""


def error_for_code(code: int, message: str, **kwargs: Any) -> ApiError:
    """An `ApiError` carrying `code`, with the conventional reason for it."""
    cls = ERROR_CLASSES_BY_CODE.get(code)
    if cls is not None:
        return cls(message, **kwargs)
    generic: type[ApiError] = type(
        f"Http{code}Error", (ApiError,), {"code": code, "reason": "Unknown"}
    )
    return generic(message, **kwargs)
