"""Every non-2xx response in SPEC's shape: `{"error": {"code", "message", "details"}}`.

Our own errors carry their code; the framework's (unknown route 404, 405, malformed
request 422) are translated here too, so a client parses one shape everywhere.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from taskline.api.render import JSONResponse
from taskline.errors import BackendUnavailable, RetryLater, TasklineError

log = logging.getLogger("taskline.api")
# How soon a client should try again when the backend is down: soon, since the server
# reconnects by itself, but not in a tight loop.
BACKEND_RETRY_AFTER_S = 2

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def taskline_error_response(exc: TasklineError) -> Response:
    """An error of ours in SPEC's shape, with Retry-After where coming back later helps.
    A 500 is logged with its cause and answered without it."""
    if exc.status >= 500 and not isinstance(exc, (RetryLater, BackendUnavailable)):
        log.error("internal error: %s", exc.message, exc_info=exc)
        return error_response(exc.status, exc.code, "an internal error occurred; the server log has the cause")
    headers = None
    if isinstance(exc, RetryLater):
        headers = {"Retry-After": str(exc.retry_after_s)}
    elif isinstance(exc, BackendUnavailable):
        headers = {"Retry-After": str(BACKEND_RETRY_AFTER_S)}
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def _taskline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TasklineError)
    return taskline_error_response(exc)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware calls this, then re-raises so the server logs the traceback.
    return error_response(500, "internal_error", "an internal error occurred; the server log has the cause")


async def http_error(request: Request, exc: Exception) -> Response:
    """An HTTPException (Starlette's or a route's) in SPEC's error shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"there is no route {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Roles were checked before validation began (guard.RoleGuard): who first, then what.
    details = [
        {"field": ".".join(str(part) for part in err["loc"][1:]) or str(err["loc"][0]), "message": err["msg"]}
        for err in exc.errors()
    ]
    return error_response(422, "validation_error", "the request is not valid", details)


def install(app: FastAPI) -> None:
    app.add_exception_handler(TasklineError, _taskline_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
