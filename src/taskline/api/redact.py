"""Keep API keys out of the server's log.

A browser cannot set headers on a WebSocket, so the dashboard (and any browser client) passes
its key to `/ws` as `?api_key=` (SPEC §3), and uvicorn logs every WebSocket it accepts or
refuses with the full path and query string. The filter rewrites the key in those lines.
"""

import logging
import re
from typing import Any

_KEY_IN_QUERY = re.compile(r"(api_key=)[^&\s\"']*", re.IGNORECASE)
UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access")


def redact(value: Any) -> Any:
    """`value` with any `api_key=<key>` in it masked; anything but a string unchanged."""
    return _KEY_IN_QUERY.sub(r"\1***", value) if isinstance(value, str) else value


class RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) for arg in record.args)
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
