"""The built-in task handlers: `echo`, `sleep`, `http` and `email`.

Each is an `async def handler(payload) -> result` with a JSON-able result. A payload that
can never succeed raises `Fail` (no retry); an attempt that failed for a reason that may
pass (a refused connection, a 503) raises `HandlerError` and is retried with backoff.
Cancelled (task timeout or cancel), each stops at its next await and closes what it opened.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from taskline.config import Settings
from taskline.worker.builtin.http import MAX_HTTP_BODY_BYTES, http_request
from taskline.worker.builtin.mail import send_email
from taskline.worker.builtin.payload import HandlerError, fields_of, seconds_of

Handler = Callable[[Any], Awaitable[Any]]

__all__ = ["MAX_HTTP_BODY_BYTES", "Handler", "HandlerError", "builtin_handlers", "echo", "sleep"]


def builtin_handlers(settings: Settings) -> dict[str, Handler]:
    """The built-in handlers by task type, `http` and `email` bound to `settings`."""
    tls = httpx.create_ssl_context(trust_env=False)  # built once: loading the CA bundle is the slow part

    async def http(payload: Any) -> dict[str, Any]:
        return await http_request(payload, allow_private=settings.webhook_allow_private, tls=tls)

    async def email(payload: Any) -> dict[str, Any]:
        return await send_email(payload, settings)

    return {"echo": echo, "sleep": sleep, "http": http, "email": email}


async def echo(payload: Any) -> Any:
    """Return the payload unchanged."""
    return payload


async def sleep(payload: Any) -> dict[str, float]:
    """`{"seconds": n}`: sleep n ≥ 0 seconds, return `{"slept": n}`."""
    fields = fields_of("sleep", payload, allowed=frozenset({"seconds"}), required=("seconds",))
    seconds = seconds_of("sleep", "seconds", fields["seconds"], zero_ok=True)
    await asyncio.sleep(seconds)
    return {"slept": seconds}
