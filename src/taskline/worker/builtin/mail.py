"""The `email` handler: a message from the payload, sent through `TASKLINE_SMTP_*` with aiosmtplib."""

import contextlib
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib

from taskline.config import Settings
from taskline.worker.builtin.payload import HandlerError, fields_of, string_map
from taskline.worker.outcomes import Fail

SMTP_TIMEOUT_S = 60.0
_EMAIL_FIELDS = frozenset({"to", "subject", "text", "html", "cc", "bcc", "reply_to", "headers"})
# Headers the email handler writes itself: a payload may not override them.
_MANAGED_EMAIL_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id"}
    | {"mime-version", "content-type", "content-transfer-encoding"}
)
_EMAIL_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322: printable ASCII but the colon


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
    fields = fields_of("email", payload, allowed=_EMAIL_FIELDS, required=("to", "subject"))
    text, html = fields.get("text"), fields.get("html")
    if text is None and html is None:
        raise Fail("email: give text, html or both")
    for name in ("subject", "text", "html"):
        if name in fields and not isinstance(fields[name], str):
            raise Fail(f"email: {name} must be a string, not {type(fields[name]).__name__}")
    extra = string_map("email", "headers", fields.get("headers", {}), _EMAIL_HEADER_NAME)
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
