"""The log filter on uvicorn's loggers: a key in `?api_key=` or in a handshake header line is
masked, whatever else the line says; the access log's arguments stay a tuple it can unpack."""

import logging

import pytest

from taskline.api.redact import RedactKeys


def filtered(msg: str, *args: object) -> logging.LogRecord:
    record = logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, msg, args, None)
    assert RedactKeys().filter(record)
    return record


@pytest.mark.parametrize(
    ("msg", "args", "shown"),
    [
        ("< %s: %s", ("authorization", "Bearer k-123"), "< authorization: ***"),
        ("< %s: %s", ("X-API-Key", "k-123"), "< X-API-Key: ***"),
        ('%s - "WebSocket %s" [accepted]', ("127.0.0.1:5", "/ws?api_key=k-123&since=1"),
         '127.0.0.1:5 - "WebSocket /ws?api_key=***&since=1" [accepted]'),
        ("Authorization: Bearer k-123", (), "Authorization: Bearer ***"),
        ("< %s: %s", ("user-agent", "k-123"), "< user-agent: k-123"),  # only key headers
    ],
)  # fmt: skip
def test_keys_are_masked_in_lines_and_arguments(msg: str, args: tuple[object, ...], shown: str) -> None:
    record = filtered(msg, *args)

    assert record.getMessage() == shown
    assert isinstance(record.args, tuple)
