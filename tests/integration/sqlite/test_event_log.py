"""The SQLite backend's in-process event log: bounded, and a new log after a restart."""

from pathlib import Path

import pytest

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.clock import FrozenClock
from taskline.events.log import LocalEventLog
from taskline.events.types import EventName, EventsLost
from tests.helpers.seed import submit


async def test_an_id_of_an_earlier_process_is_lost(tmp_path: Path, clock: FrozenClock) -> None:
    backend = await SqliteBackend.open(tmp_path / "t.db", clock=clock)
    cursor = await backend.event_cursor()
    await submit(backend, clock)
    (event,) = await backend.read_events(cursor, wait_s=0)
    await backend.close()

    reopened = await SqliteBackend.open(tmp_path / "t.db", clock=clock)
    try:
        with pytest.raises(EventsLost):
            await reopened.event_cursor(event.id)
    finally:
        await reopened.close()


async def test_the_log_keeps_the_last_events_only() -> None:
    log = LocalEventLog(kept=3)
    first = log.append(EventName.WORKER_JOINED, 1.0)
    second = log.append(EventName.WORKER_LEFT, 2.0)
    for ts in (3.0, 4.0, 5.0):
        log.append(EventName.WORKER_JOINED, ts)

    with pytest.raises(EventsLost):
        log.cursor(first.id)
    after_second = await log.read(log.cursor(second.id), wait_s=0, limit=10)  # 3, 4, 5 are all kept
    assert [e.ts for e in after_second] == [3.0, 4.0, 5.0]
    assert await log.read(log.cursor(None), wait_s=0, limit=10) == []


async def test_a_reader_that_falls_behind_what_is_kept_is_told() -> None:
    log = LocalEventLog(kept=3)
    cursor = log.cursor(None)
    log.append(EventName.WORKER_JOINED, 1.0)
    assert len(await log.read(cursor, wait_s=0, limit=10)) == 1
    for ts in (2.0, 3.0, 4.0, 5.0):  # four more: the one after the cursor is gone
        log.append(EventName.WORKER_JOINED, ts)

    with pytest.raises(EventsLost):
        await log.read(cursor, wait_s=0, limit=10)
