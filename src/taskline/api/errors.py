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
from starlette.routing import Match

from taskline.api.render import JSONResponse
from taskline.errors import BackendUnavailable, RetryLater, TasklineError

log = logging.getLogger("taskline.api")
# How soon a client should try again when the backend is down: soon, since the server
# reconnects by itself, but not in a tight loop.
BACKEND_RETRY_AFTER_S = 2

_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
_HTTP_CODES = {
    # Our routes take JSON bodies only: FastAPI's one 400 is a body its parser gave up on
    # (nested past Python's recursion limit); malformed JSON is `invalid_json` (SPEC §1).
    400: "invalid_json",
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
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, code, message, None, headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path takes (RFC 9110: a 405 lists them in Allow). Starlette names only
    the first route that matched the path, so GET-and-POST /tasks said `Allow: POST` alone.
    Asked of the router itself, method by method, however its routes are nested."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Roles were checked before validation began (guard.RoleGuard): who first, then what.
    malformed = [err for err in exc.errors() if err["type"] == "json_invalid"]
    if malformed:  # SPEC §1: malformed JSON is 400 invalid_json, on every route, not a 422
        reason = malformed[0].get("ctx", {}).get("error", "malformed")
        return error_response(400, "invalid_json", f"the body is not valid JSON: {reason}")
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
