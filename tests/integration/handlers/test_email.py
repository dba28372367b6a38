"""The `email` handler against a real SMTP server (aiosmtpd) on a loopback port."""

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest

from taskline.config import Settings
from taskline.worker.builtin import Handler, HandlerError, builtin_handlers
from taskline.worker.outcomes import Fail
from tests.helpers.servers import free_port
from tests.integration.handlers.conftest import Mailbox, SilentServer

pytestmark = pytest.mark.timeout(30)

SENDER = "Taskline <noreply@taskline.example>"


def email_handler(port: int, **settings: Any) -> Handler:
    defaults: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_starttls": False, "smtp_from": SENDER}
    return builtin_handlers(Settings(smtp_port=port, **(defaults | settings)))["email"]


@pytest.fixture
def send(mailbox: Mailbox) -> Handler:
    return email_handler(mailbox.port, smtp_user="mailer", smtp_password="s3cret")


def received(envelope: Any) -> EmailMessage:
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_a_mail_reaches_every_recipient_with_its_headers_and_both_parts(send: Handler, mailbox: Mailbox) -> None:
    result = await send(
        {
            "to": ["Ann <ann@a.example>", "bob@b.example"],
            "cc": "carol@c.example",
            "bcc": ["dave@d.example"],
            "reply_to": "support@taskline.example",
            "subject": "Your report is ready",
            "text": "Plain words.",
            "html": "<p>Rich <b>words</b>.</p>",
            "headers": {"X-Campaign": "reports"},
        }
    )

    recipients = ["ann@a.example", "bob@b.example", "carol@c.example", "dave@d.example"]
    assert result["accepted"] == recipients
    assert result["refused"] == {}
    [envelope] = mailbox.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("noreply@taskline.example", recipients)
    assert mailbox.logins == [("mailer", "s3cret")]
    message = received(envelope)
    assert message["From"] == SENDER
    assert message["To"] == "Ann <ann@a.example>, bob@b.example"
    assert message["Cc"] == "carol@c.example"
    assert message["Reply-To"] == "support@taskline.example"
    assert message["Subject"] == "Your report is ready"
    assert message["X-Campaign"] == "reports"
    assert message["Message-ID"] == result["message_id"]
    assert result["message_id"].endswith("@taskline.example>")
    assert message["Date"] is not None
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Plain words."  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content().strip() == "<p>Rich <b>words</b>.</p>"  # type: ignore[union-attr]


async def test_bcc_recipients_get_the_mail_but_no_header_names_them(send: Handler, mailbox: Mailbox) -> None:
    await send({"to": "ann@a.example", "bcc": "secret@d.example", "subject": "s", "text": "t"})

    [envelope] = mailbox.envelopes
    assert "secret@d.example" in envelope.rcpt_tos
    assert received(envelope)["Bcc"] is None
    assert b"secret@d.example" not in envelope.content


async def test_an_html_only_mail_is_a_single_html_part(send: Handler, mailbox: Mailbox) -> None:
    await send({"to": "ann@a.example", "subject": "s", "html": "<p>hi</p>"})

    message = received(mailbox.envelopes[0])
    assert message.get_content_type() == "text/html"
    assert message.get_content().strip() == "<p>hi</p>"


async def test_recipients_refused_among_accepted_ones_are_reported(send: Handler, mailbox: Mailbox) -> None:
    result = await send({"to": ["ann@a.example", "nobody@refused.example"], "subject": "s", "text": "t"})

    assert result["accepted"] == ["ann@a.example"]
    assert list(result["refused"]) == ["nobody@refused.example"]
    assert result["refused"]["nobody@refused.example"].startswith("550")
    assert mailbox.envelopes[0].rcpt_tos == ["ann@a.example"]


async def test_every_recipient_refused_for_good_fails_the_task(send: Handler, mailbox: Mailbox) -> None:
    with pytest.raises(Fail, match=r"every recipient was refused: nobody@refused\.example: 550"):
        await send({"to": "nobody@refused.example", "subject": "s", "text": "t"})

    assert mailbox.envelopes == []


async def test_every_recipient_refused_for_now_fails_the_attempt_only(send: Handler, mailbox: Mailbox) -> None:
    with pytest.raises(HandlerError, match="451") as caught:
        await send({"to": "ann@busy.example", "subject": "s", "text": "t"})

    assert not isinstance(caught.value, Fail)
    assert mailbox.envelopes == []


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ("ann@a.example", "payload must be an object"),
        ({"subject": "s", "text": "t"}, "missing field"),
        ({"to": "ann@a.example", "subject": "s"}, "give text, html or both"),
        ({"to": [], "subject": "s", "text": "t"}, "non-empty list of addresses"),
        ({"to": "not an address", "subject": "s", "text": "t"}, "not a list of name@domain addresses"),
        ({"to": "ann@a.example\nBcc: x@evil.example", "subject": "s", "text": "t"}, "not a list of addresses"),
        ({"to": "ann@a.example", "subject": "s\r\nBcc: x@evil.example", "text": "t"}, "linefeed"),
        ({"to": "ann@a.example", "subject": 7, "text": "t"}, "subject must be a string"),
        ({"to": "ann@a.example", "subject": "s", "text": "t", "headers": {"From": "x@evil.example"}}, "may not set"),
        ({"to": "ann@a.example", "subject": "s", "text": "t", "headers": {"X:A": "1"}}, "not a valid header"),
        ({"to": "ann@a.example", "subject": "s", "text": "t", "attachments": []}, "unknown field"),
    ],
)
async def test_a_malformed_payload_fails_for_good_and_sends_nothing(
    send: Handler, mailbox: Mailbox, payload: Any, complaint: str
) -> None:
    with pytest.raises(Fail, match=complaint):
        await send(payload)

    assert mailbox.envelopes == []


async def test_without_a_host_the_handler_says_what_to_set() -> None:
    send = builtin_handlers(Settings(smtp_from=SENDER))["email"]

    with pytest.raises(HandlerError, match="TASKLINE_SMTP_HOST is not set"):
        await send({"to": "ann@a.example", "subject": "s", "text": "t"})


async def test_without_a_sender_address_the_handler_says_what_to_set(mailbox: Mailbox) -> None:
    send = email_handler(mailbox.port, smtp_from=None, smtp_user="mailer")

    with pytest.raises(HandlerError, match="TASKLINE_SMTP_FROM"):
        await send({"to": "ann@a.example", "subject": "s", "text": "t"})

    assert mailbox.envelopes == []


async def test_a_refused_connection_names_the_server() -> None:
    port = free_port()  # bound and released: nothing listens there
    send = email_handler(port)

    with pytest.raises(HandlerError, match=f"SMTP server 127.0.0.1:{port}"):
        await send({"to": "ann@a.example", "subject": "s", "text": "t"})


async def test_starttls_is_required_by_default(mailbox: Mailbox) -> None:
    send = email_handler(mailbox.port, smtp_starttls=True)

    with pytest.raises(HandlerError, match="STARTTLS"):
        await send({"to": "ann@a.example", "subject": "s", "text": "t"})

    assert mailbox.envelopes == []


async def test_a_cancelled_send_closes_its_connection(start_silent: Any) -> None:
    silent: SilentServer = await start_silent(b"220 silent.example ESMTP\r\n")
    task = asyncio.create_task(email_handler(silent.port)({"to": "ann@a.example", "subject": "s", "text": "t"}))
    await silent.spoke.wait()  # the client said EHLO and waits for an answer that never comes

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(silent.hung_up.wait(), 5)
