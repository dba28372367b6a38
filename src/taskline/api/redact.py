"""Keep API keys out of the server's log.

A browser cannot set headers on a WebSocket, so the dashboard (and any browser client) passes
its key to `/ws` as `?api_key=` (SPEC §3), and uvicorn logs every WebSocket it accepts or
refuses with the full path and query string; at debug, uvicorn's WebSocket protocol (the
`websockets` library, logging on uvicorn.error) also logs every handshake header, the
`Authorization` and `X-API-Key` ones among them. The filter rewrites the key in those lines.
"""

import logging
import re
from typing import Any

_KEY_IN_QUERY = re.compile(r"(api_key=)[^&\s\"']*", re.IGNORECASE)
# "< authorization: Bearer k", "< x-api-key: k": the value, after the scheme if there is one.
_KEY_IN_HEADER = re.compile(r"((?:authorization|x-api-key)\s*:\s*(?:bearer\s+)?)\S+", re.IGNORECASE)
_KEY_HEADERS = frozenset({"authorization", "x-api-key"})
UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access")


def redact(value: Any) -> Any:
    """`value` with any `api_key=<key>` or key header in it masked; anything but a string unchanged."""
    if not isinstance(value, str):
        return value
    return _KEY_IN_HEADER.sub(r"\1***", _KEY_IN_QUERY.sub(r"\1***", value))


class RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, tuple):  # kept a tuple: uvicorn's access formatter unpacks it
            args = [redact(arg) for arg in record.args]
            # A header comes as two arguments ("< %s: %s", name, value): mask the value after a key's name.
            for index, arg in enumerate(args[:-1]):
                if isinstance(arg, str) and arg.lower() in _KEY_HEADERS:
                    args[index + 1] = "***"
            record.args = tuple(args)
        return True


def redact_keys_in_uvicorn_logs() -> None:
    """Install the filter on uvicorn's loggers, once per process however many apps are built.

    On the loggers, not their handlers: a logger's own filters see the records logged on it,
    which is where uvicorn logs these lines, and uvicorn's logging set-up (dictConfig) replaces
    handlers but keeps a logger's filters, whichever of the two happens first.
    """
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactKeys) for f in logger.filters):
            logger.addFilter(RedactKeys())
