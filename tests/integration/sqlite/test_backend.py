"""What only the SQLite backend promises: wake-ups after commit, reopening, closing."""

import asyncio
import sqlite3
from functools import partial
from pathlib import Path

import pytest

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.backends.sqlite.queries import SCHEMA, SCHEMA_VERSION
from taskline.core.clock import FrozenClock
from taskline.core.samples import Totals
from taskline.core.states import TaskState
from taskline.core.workers import WorkerDetails
from taskline.errors import BackendUnavailable
from tests.helpers.seed import in_state, submit

# Wake-ups are delivered before the write that caused them returns, so a signal that is not
# set by then never will be: the short bound only keeps a failing test from hanging.
WOKEN = 5.0
NOT_WOKEN = 0.01


async def test_a_submit_wakes_the_watchers_of_its_queue(sqlite_backend: SqliteBackend, clock: FrozenClock) -> None:
    with sqlite_backend.watch(["mail"]) as mail, sqlite_backend.watch(["other"]) as other:
        await submit(sqlite_backend, clock, queue="mail")

        assert await mail.wait(WOKEN)
        assert not await other.wait(NOT_WOKEN)


async def test_a_scheduled_submit_wakes_the_scheduler_not_the_workers(
    sqlite_backend: SqliteBackend, clock: FrozenClock
) -> None:
    with sqlite_backend.watch(None) as anything:
        await submit(sqlite_backend, clock, delay=30)

        assert not await anything.wait(NOT_WOKEN)
        await asyncio.wait_for(sqlite_backend.wait_timers(3600), WOKEN)
    assert await sqlite_backend.next_timer() == pytest.approx(clock.now() + 30, abs=0.002)


async def test_forwarding_a_due_task_wakes_its_queue(sqlite_backend: SqliteBackend, clock: FrozenClock) -> None:
    await submit(sqlite_backend, clock, queue="later", delay=5)
    clock.advance(5)
    with sqlite_backend.watch(["later"]) as later:
        assert await sqlite_backend.forward_due() == 1

        assert await later.wait(WOKEN)


async def test_a_reopened_file_has_every_task_and_count(db_path: Path, clock: FrozenClock) -> None:
    first = await SqliteBackend.open(db_path, clock=clock)
    failed = await in_state(first, clock, TaskState.FAILED)
    running = await in_state(first, clock, TaskState.RUNNING)
    before = await first.counts()
    await first.close()

    again = await SqliteBackend.open(db_path, clock=clock)
    try:
        assert await again.get(failed.id) == failed
        assert await again.get(running.id) == running
        assert await again.counts() == before
    finally:
        await again.close()


async def test_a_file_from_a_newer_taskline_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()

    with pytest.raises(BackendUnavailable, match="schema version 99"):
        await SqliteBackend.open(db_path)


async def test_a_file_of_schema_version_1_gains_the_worker_registry_and_samples(
    db_path: Path, clock: FrozenClock
) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.executescript(SCHEMA)  # what a Taskline before the registry created
    conn.close()

    backend = await SqliteBackend.open(db_path, clock=clock)
    try:
        await backend.register_worker("w1", WorkerDetails(host="h"))
        assert [w.host for w in await backend.list_workers(seen_since=0)] == ["h"]
        assert await backend.record_sample(7, Totals())
        assert await backend.samples(7, 7) == {7: Totals()}
    finally:
        await backend.close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    conn.close()


async def test_a_closed_backend_refuses_calls(db_path: Path, clock: FrozenClock) -> None:
    backend = await SqliteBackend.open(db_path, clock=clock)
    assert await backend.ping()
    await backend.close()

    with pytest.raises(BackendUnavailable):
        await submit(backend, clock)
    with pytest.raises(BackendUnavailable):
        await backend.get("x")
    assert not await backend.ping()


async def test_token_buckets_refill_with_the_clock(sqlite_backend: SqliteBackend, clock: FrozenClock) -> None:
    take = partial(sqlite_backend.take_token, rate=2, burst=2)

    spent = [await take("a"), await take("a"), await take("a")]
    other = await take("b")
    clock.advance(0.25)
    half_refilled = await take("a")
    clock.advance(0.25)
    refilled = await take("a")

    assert spent == [0, 0, pytest.approx(0.5)]
    assert other == 0
    assert half_refilled == pytest.approx(0.25)
    assert refilled == 0
