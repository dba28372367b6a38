"""The built-in task handlers: `echo`, `sleep`, `http` and `email`.

Each is an `async def handler(payload) -> result` with a JSON-able result. A payload that
can never succeed raises `Fail` (no retry); an attempt that failed for a reason that may
pass (a refused connection, a 503) raises `HandlerError` and is retried with backoff.
Cancelled (task timeout or cancel), each stops at its next await and closes what it opened.
"""

import asyncio
import contextlib
import ipaddress
import math
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, cast

import aiosmtplib
import httpx
import orjson

from taskline.config import Settings
from taskline.worker.outcomes import Fail

Handler = Callable[[Any], Awaitable[Any]]

MAX_HTTP_BODY_BYTES = 64 * 1024
SMTP_TIMEOUT_S = 60.0

_HTTP_FIELDS = frozenset({"method", "url", "headers", "body", "timeout"})
_EMAIL_FIELDS = frozenset({"to", "subject", "text", "html", "cc", "bcc", "reply_to", "headers"})
# Headers the email handler writes itself: a payload may not override them.
_MANAGED_EMAIL_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id"}
    | {"mime-version", "content-type", "content-transfer-encoding"}
)
_HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: methods and header names
_EMAIL_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322: printable ASCII but the colon


class HandlerError(Exception):
    """An attempt failed for a reason that may pass: the task is retried while `max_retries` allows."""


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
    fields = _fields("sleep", payload, allowed=frozenset({"seconds"}), required=("seconds",))
    seconds = _seconds("sleep", "seconds", fields["seconds"], zero_ok=True)
    await asyncio.sleep(seconds)
    return {"slept": seconds}


async def http_request(payload: Any, *, allow_private: bool, tls: ssl.SSLContext) -> dict[str, Any]:
    """Make the HTTP request the payload describes; return `{"status", "headers", "body", "truncated"}`.

    Payload: `url` (http or https, required), `method` (GET), `headers` (object of strings),
    `body` (a string is sent as is, any other JSON value as JSON), `timeout` (seconds for the
    whole exchange, 30). Redirects are not followed and proxies from the environment are not used.

    Only the first `MAX_HTTP_BODY_BYTES` (64 KiB) of the answer are kept: the rest is not read
    and `truncated` is true. A JSON answer that fits is parsed; any other is text. A non-2xx
    status fails the attempt with an error naming the status.

    Targets on private, loopback or link-local addresses are refused (SPEC §6, the webhook rule)
    unless `allow_private` (`TASKLINE_WEBHOOK_ALLOW_PRIVATE`). The check resolves the name
    before httpx does, so a DNS answer that changes in between (rebinding) is not caught.
    """
    request, timeout_s = _http_request_of(payload)
    target = f"{request.method} {request.url}"
    try:
        async with asyncio.timeout(timeout_s):
            if not allow_private:
                await _refuse_private_host(request.url.host, request.url.port or _default_port(request.url.scheme))
            async with httpx.AsyncClient(verify=tls, trust_env=False, follow_redirects=False) as client:
                response = await client.send(request, stream=True)
                try:
                    content, truncated = await _read_bounded(response)
                finally:
                    await response.aclose()
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
    fields = _fields("http", payload, allowed=_HTTP_FIELDS, required=("url",))
    url = fields["url"]
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise Fail(f"http: url must be an http:// or https:// URL, not {url!r}")
    method = fields.get("method", "GET")
    if not isinstance(method, str) or not _HTTP_TOKEN.fullmatch(method):
        raise Fail(f"http: method must be an HTTP method name, not {method!r}")
    headers = _string_map("http", "headers", fields.get("headers", {}), _HTTP_TOKEN)
    timeout_s = _seconds("http", "timeout", fields.get("timeout", 30.0), zero_ok=False)
    body = fields.get("body")
    content = {"content": body.encode()} if isinstance(body, str) else {} if body is None else {"json": body}
    try:
        request = httpx.Request(method.upper(), url, headers=headers, **content)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:  # a bad host or port, a non-ASCII header
        raise Fail(f"http: {exc}") from exc
    if not request.url.host or not 0 < (request.url.port or 80) < 65536:
        raise Fail(f"http: url needs a host and a port from 1 to 65535: {url!r}")
    return request, timeout_s


async def _refuse_private_host(host: str, port: int) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HandlerError(f"http: cannot resolve {host}: {exc.strerror}") from exc
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
        if not address.is_global or address.is_multicast:
            raise Fail(
                f"http: {host} is {address}, a private, loopback or link-local address"
                " (TASKLINE_WEBHOOK_ALLOW_PRIVATE=true allows it)"
            )


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


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


async def send_email(payload: Any, settings: Settings) -> dict[str, Any]:
    """Send the mail the payload describes through `TASKLINE_SMTP_*`; return `{"message_id", "accepted", "refused"}`.

    Payload: `to` (an address or a list), `subject`, `text` and/or `html` (both: a
    multipart/alternative), optional `cc`, `bcc`, `reply_to` and `headers` (extra headers;
    the ones the handler writes cannot be overridden). Bcc recipients get the mail but no
    header names them. `refused` maps a recipient the server refused to its answer, when
    others were accepted; if all are refused for good (5xx) the task fails without retry.

    Delivery is at least once: if the connection drops after the server took the mail,
    the retry sends it again.
    """
    message = _email_message(payload)
    if not settings.smtp_host:
        raise HandlerError("email: TASKLINE_SMTP_HOST is not set, so there is no SMTP server to send through")
    sender = settings.smtp_from or settings.smtp_user or ""
    _set_address_header(message, "From", sender, HandlerError)
    message["Message-ID"] = make_msgid(domain=message["From"].addresses[0].domain)
    recipients = [address.addr_spec for name in ("To", "Cc", "Bcc") for address in _addresses(message, name)]
    del message["Bcc"]  # delivered through the envelope only
    refused = await _deliver(message, message["From"].addresses[0].addr_spec, recipients, settings)
    return {
        "message_id": message["Message-ID"],
        "accepted": [recipient for recipient in recipients if recipient not in refused],
        "refused": {recipient: f"{answer.code} {answer.message}" for recipient, answer in refused.items()},
    }


def _email_message(payload: Any) -> EmailMessage:
    fields = _fields("email", payload, allowed=_EMAIL_FIELDS, required=("to", "subject"))
    text, html = fields.get("text"), fields.get("html")
    if text is None and html is None:
        raise Fail("email: give text, html or both")
    for name in ("subject", "text", "html"):
        if name in fields and not isinstance(fields[name], str):
            raise Fail(f"email: {name} must be a string, not {type(fields[name]).__name__}")
    extra = _string_map("email", "headers", fields.get("headers", {}), _EMAIL_HEADER_NAME)
    if managed := sorted(name for name in extra if name.lower() in _MANAGED_EMAIL_HEADERS):
        raise Fail(f"email: headers may not set {managed}: use the payload fields")
    message = EmailMessage()
    for field, header in (("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("reply_to", "Reply-To")):
        if field in fields:
            _set_address_header(message, header, _address_list(field, fields[field]), Fail)
    try:
        message["Subject"] = fields["subject"]
        message["Date"] = format_datetime(datetime.now(UTC))
        for name, value in extra.items():
            message[name] = value
    except ValueError as exc:  # a line break in a header value
        raise Fail(f"email: {exc}") from exc
    message.set_content(text if text is not None else html, subtype="plain" if text is not None else "html")
    if text is not None and html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _address_list(field: str, value: Any) -> str:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(item, str) for item in values):
        raise Fail(f"email: {field} must be an address or a non-empty list of addresses, not {value!r}")
    return ", ".join(values)


def _set_address_header(message: EmailMessage, name: str, value: str, error: type[Exception]) -> None:
    """Set an address header, refusing what the parser could not read as addresses."""
    where = f"TASKLINE_SMTP_FROM ({value!r})" if name == "From" else f"{name.lower().replace('-', '_')} {value!r}"
    try:
        message[name] = value
        addresses = _addresses(message, name)
    except (ValueError, IndexError) as exc:
        raise error(f"email: {where} is not a list of addresses: {exc}") from exc
    if not addresses or any(not address.username or not address.domain for address in addresses):
        raise error(f"email: {where} is not a list of name@domain addresses")


def _addresses(message: EmailMessage, name: str) -> list[Any]:
    header = message[name]
    return list(header.addresses) if header is not None else []


async def _deliver(
    message: EmailMessage, sender: str, recipients: list[str], settings: Settings
) -> dict[str, aiosmtplib.SMTPResponse]:
    """Send over one SMTP connection; return the recipients the server refused."""
    host, port = settings.smtp_host, settings.smtp_port_or_default()
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        start_tls=settings.smtp_starttls,
        username=settings.smtp_user,
        password=password,
        timeout=SMTP_TIMEOUT_S,
    )
    try:
        await client.connect()
        refused, _ = await client.send_message(message, sender=sender, recipients=recipients)
        with contextlib.suppress(aiosmtplib.SMTPException):
            await client.quit()  # the server has the mail: a failed goodbye must not send it twice
    except aiosmtplib.SMTPRecipientsRefused as exc:
        permanent = all(refusal.code >= 500 for refusal in exc.recipients)
        reasons = "; ".join(f"{refusal.recipient}: {refusal.code} {refusal.message}" for refusal in exc.recipients)
        raise (Fail if permanent else HandlerError)(f"email: every recipient was refused: {reasons}") from exc
    except aiosmtplib.SMTPException as exc:
        raise HandlerError(f"email: SMTP server {host}:{port}: {exc}") from exc
    finally:
        client.close()  # at once, also when cancelled: no waiting on a QUIT nobody needs
    return refused


def _fields(handler: str, payload: Any, *, allowed: frozenset[str], required: tuple[str, ...]) -> dict[str, Any]:
    """The payload as an object with only `allowed` keys and every `required` one; else `Fail`."""
    if not isinstance(payload, dict):
        raise Fail(f"{handler}: the payload must be an object, not {type(payload).__name__}")
    if unknown := sorted(payload.keys() - allowed):
        raise Fail(f"{handler}: unknown field(s) {unknown}; known: {sorted(allowed)}")
    if missing := [name for name in required if name not in payload]:
        raise Fail(f"{handler}: missing field(s) {missing}")
    return payload


def _seconds(handler: str, field: str, value: Any, *, zero_ok: bool) -> float:
    is_number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not is_number or value < 0 or (value == 0 and not zero_ok):
        raise Fail(f"{handler}: {field} must be a number {'≥' if zero_ok else '>'} 0 of seconds, not {value!r}")
    return cast(float, value)  # as given: {"seconds": 1} sleeps and answers 1, not 1.0


def _string_map(handler: str, field: str, value: Any, name_pattern: re.Pattern[str]) -> dict[str, str]:
    """An object of header names to string values, with no line breaks to smuggle headers in."""
    if not isinstance(value, dict):
        raise Fail(f"{handler}: {field} must be an object, not {type(value).__name__}")
    for name, item in value.items():
        if not name_pattern.fullmatch(name) or not isinstance(item, str) or any(c in item for c in "\r\n\0"):
            raise Fail(f"{handler}: {field}: {name!r}: {item!r} is not a valid header")
    return value
