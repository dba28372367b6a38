"""Group commit: many operations, one transaction, and each operation still stands alone."""

import asyncio
import random
import sqlite3
import threading
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from taskline.backends.sqlite.connection import connect, ensure_schema
from taskline.backends.sqlite.records import decode
from taskline.backends.sqlite.transitions import Transitions
from taskline.backends.sqlite.writer import Wakeups, Writer
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from taskline.errors import LeaseLost
from tests.helpers.seed import spec


class HeldWriter:
    """A `Writer` whose thread is parked inside an operation until `release()`, so that the
    operations queued meanwhile are committed together as the next batch."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._entered = threading.Event()
        self._gate = threading.Event()
        self._held: asyncio.Future[None] | None = None

    def _hold(self, conn: sqlite3.Connection, wakeups: Wakeups) -> None:
        self._entered.set()
        self._gate.wait()

    async def hold(self) -> None:
        self._held = asyncio.ensure_future(self.writer.run(self._hold))
        await asyncio.to_thread(self._entered.wait)

    async def release(self) -> None:
        assert self._held is not None
        self._gate.set()
        await self._held


@pytest.fixture
def statements() -> list[str]:
    return []


@pytest.fixture
async def writer(db_path: Path, statements: list[str]) -> AsyncIterator[Writer]:
    conn = connect(db_path)
    ensure_schema(conn)
    conn.set_trace_callback(statements.append)
    writer = Writer(conn, notify=lambda wakeups: None)
    try:
        yield writer
    finally:
        await writer.close()


async def test_a_lease_lost_in_a_batch_does_not_undo_the_others(
    writer: Writer, statements: list[str], db_path: Path, clock: FrozenClock
) -> None:
    tx = Transitions(EngineConfig(), clock, random.Random(7))
    submitted = await writer.run(partial(tx.submit, specs=[spec(clock), spec(clock)]))
    first, second = await writer.run(partial(tx.lease, worker_id="w", queues=None, types=None, max=2))
    held = HeldWriter(writer)
    await held.hold()
    statements.clear()

    batch = asyncio.gather(
        writer.run(partial(tx.complete, task_id=first.task.id, token=first.token, result="done")),
        writer.run(partial(tx.complete, task_id=second.task.id, token="stale", result="lost")),
        writer.run(partial(tx.submit, specs=[spec(clock, "later")])),
        return_exceptions=True,
    )
    await asyncio.sleep(0)  # a yield, not a wait: lets the three calls queue their jobs
    await held.release()
    completed, refused, (later,) = await batch
    await writer.close()

    assert statements.count("BEGIN IMMEDIATE") == 1  # the three shared one transaction
    assert isinstance(refused, LeaseLost)
    reader = connect(db_path)
    try:
        stored = {row["id"]: decode(row) for row in reader.execute("SELECT * FROM tasks")}
    finally:
        reader.close()
    assert stored[first.task.id].state is TaskState.COMPLETED
    assert stored[first.task.id] == completed
    assert stored[second.task.id].state is TaskState.RUNNING
    assert stored[second.task.id].lease_token == second.token
    assert later.created
    assert later.task.id in stored
    assert len(stored) == len(submitted) + 1


async def test_a_bug_in_one_operation_reaches_its_caller_only(writer: Writer, clock: FrozenClock) -> None:
    tx = Transitions(EngineConfig(), clock, random.Random(7))

    def broken(conn: sqlite3.Connection, wakeups: Wakeups) -> None:
        conn.execute("INSERT INTO queues (name) VALUES ('half-done')")
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await writer.run(broken)
    (after,) = await writer.run(partial(tx.submit, specs=[spec(clock)]))
    queues = await writer.run(lambda conn, wakeups: [row[0] for row in conn.execute("SELECT name FROM queues")])
    await writer.close()

    assert after.created
    assert queues == ["default"]  # the broken operation's insert was rolled back
