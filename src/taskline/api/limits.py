"""Request limits of SPEC §4 as ASGI middleware: body size before reading, and the
per-client rate limit over `/api/v1` and `/admin`."""

import math
from collections.abc import Awaitable, Callable

from starlette._utils import get_route_path
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskline.api.auth import presented_key
from taskline.api.errors import error_response, taskline_error_response
from taskline.api.guard import client_identity
from taskline.errors import BackendUnavailable, PayloadTooLarge, TasklineError

TakeToken = Callable[[str], Awaitable[float]]
"""Spends one token of a client's bucket; returns 0 if allowed, else seconds to wait."""

_LIMITED_PREFIXES = ("/api/v1", "/admin")
_HEALTH_PATH = "/admin/health"


class BodyLimit:
    """413 for a body over `max_bytes`: at once from Content-Length, else as it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")  # reads the scope's list, copies nothing
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, "payload_too_large", f"the body is larger than {self.max_bytes} bytes")
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the app, so the exception handlers render it in SPEC's shape.
                raise PayloadTooLarge(f"the body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


class RateLimit:
    """429 `rate_limited` with Retry-After once a client's token bucket is empty."""

    def __init__(self, app: ASGIApp, take_token: Callable[[], TakeToken | None], *, keys_on: bool) -> None:
        self.app = app
        self.keys_on = keys_on  # whether a key names a client (see guard.client_identity)
        # Resolved per request: the bucket store is built by the lifespan, after this middleware.
        self.take_token = take_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        take = self.take_token() if scope["type"] == "http" else None
        # The router's reading of the path, as the guard's: under a root_path the raw path starts
        # with the prefix, and every request once went unlimited.
        path = get_route_path(scope) if take is not None else ""
        if take is not None and path.startswith(_LIMITED_PREFIXES):
            try:
                wait_s = await take(client_identity(scope, presented_key(Headers(scope=scope)), keys_on=self.keys_on))
            except TasklineError as exc:  # the buckets live in the backend, which may be down
                # ...and then the health route is let through, to say so in its own shape.
                if not (isinstance(exc, BackendUnavailable) and path == _HEALTH_PATH):
                    await taskline_error_response(exc)(scope, receive, send)
                    return
                wait_s = 0.0
            if wait_s > 0:
                retry_after = str(max(1, math.ceil(wait_s)))
                response = error_response(
                    429, "rate_limited", "too many requests; slow down", {"retry_after_s": wait_s},
                    {"Retry-After": retry_after},
                )  # fmt: skip
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
