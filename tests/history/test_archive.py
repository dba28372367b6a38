"""The archive path on each live backend: every way a task ends reaches the outbox in the same
step, the archiver copies it to PostgreSQL once per task (its latest end), and drops exactly
what it copied."""

import dataclasses
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import orjson
import pytest

from taskline.backends.base import Backend
from taskline.core.archive import ArchiveEntry
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.core.webhooks import DeliveryOutcome
from taskline.history.archiver import Archiver
from taskline.history.reader import HistoryReader
from taskline.wire import task_json
from tests.helpers.seed import in_state, lease_one, submit
from tests.helpers.servers import RedisServer

S = TaskState


def tasks_of(entries: Sequence[ArchiveEntry]) -> list[Task]:
    """The tasks of outbox entries that all decode."""
    tasks = [e.task for e in entries]
    assert all(t is not None for t in tasks)
    return [t for t in tasks if t is not None]


async def rows(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        return {r["id"]: r["state"] for r in await conn.fetch("SELECT id, state FROM tasks")}
    finally:
        await conn.close()


async def test_every_end_is_archived_once_with_its_state(
    archiving_backend: Backend, archiver: Archiver, history: HistoryReader, clock: FrozenClock, postgres_url: str
) -> None:
    completed = await in_state(archiving_backend, clock, S.COMPLETED)
    failed = await in_state(archiving_backend, clock, S.FAILED)
    cancelled = await in_state(archiving_backend, clock, S.CANCELLED)
    await in_state(archiving_backend, clock, S.PENDING)  # not ended: never archived
    await in_state(archiving_backend, clock, S.RETRYING)
    # A lease that runs out with no retries left ends in failed (the DLQ) by the recoverer.
    expiring = await submit(archiving_backend, clock, type="expiring", max_retries=0)
    await lease_one(archiving_backend, expiring)
    clock.advance(31)
    assert await archiving_backend.recover_expired() == 1
    # A running task asked to cancel ends cancelled when its worker hands it back.
    released = await submit(archiving_backend, clock, type="released")
    lease = await lease_one(archiving_backend, released)
    await archiving_backend.cancel(released.id)
    await archiving_backend.release(released.id, lease.token)

    assert (await archiving_backend.archive_backlog()).depth == 5
    assert await archiver.archive_once() == 5
    assert await archiver.archive_once() == 0

    assert await rows(postgres_url) == {
        completed.id: "completed",
        failed.id: "failed",
        cancelled.id: "cancelled",
        expiring.id: "failed",
        released.id: "cancelled",
    }
    assert await archiving_backend.read_archive(limit=10) == []
    assert (await archiving_backend.archive_backlog()).depth == 0
    # History holds every field the API shows, as the live backend had it at the end.
    archived = await history.get(completed.id)
    live = await archiving_backend.get(completed.id)
    assert archived is not None
    assert live is not None
    assert task_json(archived) == task_json(live)


async def test_a_task_ended_again_after_a_manual_retry_keeps_its_latest_end(
    archiving_backend: Backend, archiver: Archiver, history: HistoryReader, clock: FrozenClock
) -> None:
    task = await in_state(archiving_backend, clock, S.FAILED)
    clock.advance(1)
    await archiving_backend.retry(task.id)
    lease = await lease_one(archiving_backend, task)
    clock.advance(1)
    await archiving_backend.complete(task.id, lease.token, result=7)

    entries = await archiving_backend.read_archive(limit=10)
    assert [t.state for t in tasks_of(entries)] == [S.FAILED, S.COMPLETED]
    # The older end arriving after the newer one (another server archived the newer first)
    # must not overwrite it.
    await archiver.upsert(tasks_of(entries)[1:2])
    await archiver.upsert(tasks_of(entries)[0:1])
    archived = await history.get(task.id)
    assert archived is not None
    assert (archived.state, archived.result) == (S.COMPLETED, 7)

    assert await archiver.archive_once() == 2
    archived = await history.get(task.id)
    assert archived is not None
    assert archived.state is S.COMPLETED


async def test_two_archivers_on_one_outbox_neither_lose_nor_multiply(
    archiving_backend: Backend, archiver: Archiver, history_store: object, clock: FrozenClock, postgres_url: str
) -> None:
    ended = [await in_state(archiving_backend, clock, S.COMPLETED) for _ in range(6)]
    other = Archiver(archiving_backend, history_store, batch=50)  # type: ignore[arg-type]
    # Both read the same entries before either drops them: the worst interleaving.
    first = await archiving_backend.read_archive(limit=50)
    second = await archiving_backend.read_archive(limit=50)
    await archiver.upsert(tasks_of(first))
    await other.upsert(tasks_of(second))
    assert await archiving_backend.drop_archived(first) == 6
    assert await archiving_backend.drop_archived(second) == 0

    assert await rows(postgres_url) == {t.id: "completed" for t in ended}
    assert (await archiving_backend.archive_backlog()).depth == 0


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_history_off_writes_no_outbox(
    kind: str, request: pytest.FixtureRequest, tmp_path: object, clock: FrozenClock
) -> None:
    config = EngineConfig()
    if kind == "redis":
        from taskline.backends.redis.backend import RedisBackend

        server: RedisServer = request.getfixturevalue("redis_server")
        request.getfixturevalue("redis_url")  # flushed
        backend: Backend = await RedisBackend.connect(server.url, config=config, clock=clock)
    else:
        from taskline.backends.sqlite.backend import SqliteBackend

        backend = await SqliteBackend.open(tmp_path / "off.db", config=config, clock=clock)  # type: ignore[operator]
    try:
        await in_state(backend, clock, S.COMPLETED)
        await in_state(backend, clock, S.CANCELLED)
        assert await backend.read_archive(limit=10) == []
        assert (await backend.archive_backlog()).depth == 0
    finally:
        await backend.close()


async def test_retention_never_loses_an_unarchived_end(
    archiving_backend: Backend, archiver: Archiver, history: HistoryReader, clock: FrozenClock
) -> None:
    task = await in_state(archiving_backend, clock, S.COMPLETED)
    clock.advance(8 * 86400)
    assert await archiving_backend.trim_retention() == 1
    assert await archiving_backend.get(task.id) is None

    # The outbox holds the whole record, so the archiver still has it after retention.
    assert await archiver.archive_once() == 1
    archived = await history.get(task.id)
    assert archived is not None
    assert archived.state is S.COMPLETED


async def test_a_nul_in_user_data_or_an_error_does_not_stop_the_archiver(
    archiving_backend: Backend, archiver: Archiver, history: HistoryReader, clock: FrozenClock
) -> None:
    task = await submit(archiving_backend, clock, payload={"s": "a\u0000b", "z": 1, "a": 2}, max_retries=0)
    lease = await lease_one(archiving_backend, task)
    await archiving_backend.fail(task.id, lease.token, error="bad\x00byte")

    assert await archiver.archive_once() == 1
    archived = await history.get(task.id)
    assert archived is not None
    assert archived.payload == {"s": "a\u0000b", "z": 1, "a": 2}
    assert list(archived.payload) == ["s", "z", "a"]  # json keeps the key order; jsonb would not
    assert archived.error == "bad\ufffdbyte"  # PostgreSQL text holds no NUL
    assert archived.errors[0].error == "bad\x00byte"  # inside JSON it is kept as it was


async def test_history_gets_the_webhooks_final_status_whichever_copy_is_read_last(
    archiving_backend: Backend, archiver: Archiver, history: HistoryReader, clock: FrozenClock
) -> None:
    task = await submit(archiving_backend, clock, webhook="https://hooks.example.com/t")
    lease = await lease_one(archiving_backend, task)
    await archiving_backend.complete(task.id, lease.token)
    (delivery,) = await archiving_backend.claim_deliveries(limit=10, claim_s=30)
    retried = DeliveryOutcome("pending", 1, last_status=500, retry_in_s=1)
    assert await archiving_backend.settle_delivery(delivery, retried)
    clock.advance(2)
    (delivery,) = await archiving_backend.claim_deliveries(limit=10, claim_s=30)
    assert await archiving_backend.settle_delivery(delivery, DeliveryOutcome("delivered", 2, last_status=200))

    entries = await archiving_backend.read_archive(limit=10)
    # The end (delivery pending), then the same end with the final status; a retried attempt adds none.
    assert [t.webhook_status["state"] for t in tasks_of(entries) if t.webhook_status] == ["pending", "delivered"]
    await archiver.upsert(tasks_of(entries)[1:2])
    await archiver.upsert(tasks_of(entries)[0:1])  # the older copy read last, by another archiver
    archived = await history.get(task.id)
    assert archived is not None
    assert archived.webhook_status == {"state": "delivered", "attempts": 2, "last_status": 200, "last_error": None}


async def test_two_servers_on_one_redis_split_the_queues_rather_than_each_copy_all(
    redis_url: str, clock: FrozenClock
) -> None:
    from taskline.backends.redis.backend import RedisBackend

    config = EngineConfig(archive=True)
    one = await RedisBackend.connect(redis_url, config=config, clock=clock)
    two = await RedisBackend.connect(redis_url, config=config, clock=clock)
    try:
        for queue in ("a", "b", "c"):
            await in_state(one, clock, S.COMPLETED, queue=queue)
        first = await one.read_archive(limit=50)
        second = await two.read_archive(limit=50)
        assert {e.queue for e in first} == {"a", "b", "c"}
        assert second == []  # every queue with entries is the first reader's for now
        await one.drop_archived(first)
        await in_state(one, clock, S.COMPLETED, queue="d")
        assert [e.queue for e in await two.read_archive(limit=50)] == ["d"]  # a new one is free
        assert await one.read_archive(limit=50) == []
    finally:
        await one.close()
        await two.close()


async def _put_in_outbox(backend: Backend, tmp_path: Path, task: Task, *, raw: bytes | None = None) -> None:
    """An entry for `task` added to the outbox behind the backend's back (`raw`: its record as stored)."""
    from taskline.backends.redis.backend import RedisBackend

    if isinstance(backend, RedisBackend):
        from taskline.backends.redis.codec import encode_task

        ctx = backend._ctx
        record = encode_task(task) if raw is None else raw
        await ctx.client.xadd(ctx.keys.queue(task.queue).archive, {"i": task.id, "r": record})
        return
    from taskline.backends.sqlite.records import encode

    text = orjson.dumps(encode(task, aging_s=0)).decode() if raw is None else raw.decode(errors="replace")
    with sqlite3.connect(tmp_path / "taskline.db") as conn:
        conn.execute("INSERT INTO archive_outbox (task, added_ms) VALUES (?, 0)", (text,))


async def test_a_bad_outbox_entry_is_set_aside_and_the_others_archived(
    archiving_backend: Backend,
    archiver: Archiver,
    history: HistoryReader,
    clock: FrozenClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = await in_state(archiving_backend, clock, S.COMPLETED)
    good = await in_state(archiving_backend, clock, S.COMPLETED)
    # A record that does not decode, and one PostgreSQL refuses (priority beyond its smallint).
    await _put_in_outbox(archiving_backend, tmp_path, dataclasses.replace(good, id="0-unreadable"), raw=b"\xc1junk")
    refused = dataclasses.replace(good, id="0-refused", priority=70000)
    await _put_in_outbox(archiving_backend, tmp_path, refused)
    after = await in_state(archiving_backend, clock, S.FAILED)

    with caplog.at_level(logging.ERROR, logger="taskline.history"):
        assert await archiver.archive_once() == 5
    assert await archiver.archive_once() == 0  # nothing left to stop the next pass either

    for task in (before, good, after):
        assert await history.get(task.id) is not None
    assert await history.get("0-refused") is None
    assert (archiver.archived, archiver.set_aside) == (3, 2)
    assert (await archiving_backend.archive_backlog()).depth == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "0-refused" in logged
    assert "set aside" in logged
    if "0-unreadable" not in logged:  # SQLite's record holds the id, so an unparsable one loses it
        assert logged.count("set aside") == 2
