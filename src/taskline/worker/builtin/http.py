"""The `http` handler: the HTTP request a payload describes, its answer as the result."""

import asyncio
import contextlib
import re
import ssl
from typing import Any

import httpx
import orjson

from taskline.webhooks.targets import TargetRefused, TargetUnresolvable, target_transport
from taskline.worker.builtin.payload import HandlerError, fields_of, seconds_of, string_map
from taskline.worker.outcomes import Fail

MAX_HTTP_BODY_BYTES = 64 * 1024
_HTTP_FIELDS = frozenset({"method", "url", "headers", "body", "timeout"})
_HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: methods and header names


async def http_request(payload: Any, *, allow_private: bool, tls: ssl.SSLContext) -> dict[str, Any]:
    """Make the HTTP request the payload describes; return `{"status", "headers", "body", "truncated"}`.

    Payload: `url` (http or https, required), `method` (GET), `headers` (object of strings),
    `body` (a string is sent as is, any other JSON value as JSON), `timeout` (seconds for the
    whole exchange, 30). Redirects are not followed and proxies from the environment are not used.

    Only the first `MAX_HTTP_BODY_BYTES` (64 KiB) of the answer are kept: the rest is not read
    and `truncated` is true. A JSON answer that fits is parsed; any other is text. A non-2xx
    status fails the attempt with an error naming the status.

    Targets on private, loopback or link-local addresses are refused (SPEC §6, the webhook rule)
    unless `allow_private` (`TASKLINE_WEBHOOK_ALLOW_PRIVATE`): the name is resolved once and
    the connection made to the address checked (`webhooks.targets`), so DNS rebinding misses.
    """
    request, timeout_s = _http_request_of(payload)
    target = f"{request.method} {request.url}"
    try:
        async with asyncio.timeout(timeout_s):
            transport = target_transport(allow_private=allow_private, tls=tls)
            async with httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False) as client:
                response = await client.send(request, stream=True)
                try:
                    content, truncated = await _read_bounded(response)
                finally:
                    await response.aclose()
    except TargetRefused as exc:
        raise Fail(f"http: {exc}") from exc
    except TargetUnresolvable as exc:
        raise HandlerError(f"http: {exc}") from exc
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise HandlerError(f"http: {target}: no answer within {timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise HandlerError(f"http: {target}: {str(exc) or type(exc).__name__}") from exc
    body = _decoded_body(response, content, truncated)
    if not response.is_success:
        snippet = (body if isinstance(body, str) else orjson.dumps(body).decode())[:200]
        raise HandlerError(f"http: {target} answered {response.status_code} {response.reason_phrase}: {snippet}")
    return {
        "status": response.status_code,
        "headers": dict(response.headers.items()),
        "body": body,
        "truncated": truncated,
    }


def _http_request_of(payload: Any) -> tuple[httpx.Request, float]:
    fields = fields_of("http", payload, allowed=_HTTP_FIELDS, required=("url",))
    url = fields["url"]
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise Fail(f"http: url must be an http:// or https:// URL, not {url!r}")
    method = fields.get("method", "GET")
    if not isinstance(method, str) or not _HTTP_TOKEN.fullmatch(method):
        raise Fail(f"http: method must be an HTTP method name, not {method!r}")
    headers = string_map("http", "headers", fields.get("headers", {}), _HTTP_TOKEN)
    timeout_s = seconds_of("http", "timeout", fields.get("timeout", 30.0), zero_ok=False)
    body = fields.get("body")
    content = {"content": body.encode()} if isinstance(body, str) else {} if body is None else {"json": body}
    try:
        request = httpx.Request(method.upper(), url, headers=headers, **content)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:  # a bad host or port, a non-ASCII header
        raise Fail(f"http: {exc}") from exc
    if not request.url.host or not 0 < (request.url.port or 80) < 65536:
        raise Fail(f"http: url needs a host and a port from 1 to 65535: {url!r}")
    return request, timeout_s


async def _read_bounded(response: httpx.Response) -> tuple[bytes, bool]:
    """The body up to `MAX_HTTP_BODY_BYTES`, and whether there was more (left unread)."""
    content = bytearray()
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) > MAX_HTTP_BODY_BYTES:
            return bytes(content[:MAX_HTTP_BODY_BYTES]), True
    return bytes(content), False


def _decoded_body(response: httpx.Response, content: bytes, truncated: bool) -> Any:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not truncated and (media_type == "application/json" or media_type.endswith("+json")):
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(content)
    return content.decode(response.encoding or "utf-8", errors="replace")
