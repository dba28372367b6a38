"""`follow`: reading the event log for as long as a reader wants, the one loop every reader
shares (the server's `EventHub`, a `redis://` client's `events()`)."""

import asyncio
import logging
import time
from collections.abc import AsyncGenerator

from taskline.errors import TasklineError
from taskline.events.types import Event, EventCursor, EventsLost, Lagged
from taskline.service import TaskService

log = logging.getLogger("taskline.events")

BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
"""Waits between reads while the store does not answer."""


async def follow(
    service: TaskService,
    *,
    since: str | None = None,
    queue: str | None = None,
    start: EventCursor | None = None,
    wait_s: float = 1.0,
) -> AsyncGenerator[list[Event] | Lagged, None]:
    """The events after `since` (None: from now), of `queue` if given, read by read; or, given
    `start`, after that cursor.

    Yields each read's events, an empty list when none came within `wait_s` (so the reader can
    look up now and then), and `Lagged` when events it should have had are gone, going on
    from the end of the log. A store that does not answer is retried with backoff.
    """
    cursor = start
    failures = 0
    while True:
        try:
            if cursor is None:
                cursor = await service.event_cursor(since, queue=queue)
            events = await service.read_events(cursor, wait_s=wait_s)
        except EventsLost:  # asked for, or fallen behind, what the store no longer keeps
            yield Lagged(ts=time.time())
            cursor, since = None, None
            continue
        except TasklineError as exc:
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            log.warning("could not read events (%s); trying again in %.1f s", exc.message, delay)
            await asyncio.sleep(delay)
            continue
        failures = 0
        yield events
