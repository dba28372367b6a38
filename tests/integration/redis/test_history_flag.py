"""History on is the store's fact: a process without TASKLINE_POSTGRES_URL writes the archive
outbox while a server archives the store, and stops once that server's word runs out."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from taskline.backends.redis import history_flag
from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.history_flag import HistoryFlag
from taskline.client.sync import Client
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from tests.helpers.seed import in_state
from tests.helpers.servers import running_redis

S = TaskState


@pytest.mark.parametrize("url_fixture", ["redis_url", "redis_cluster_url"])
async def test_a_process_without_the_url_archives_while_a_server_does(
    url_fixture: str, request: pytest.FixtureRequest, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_url: str = request.getfixturevalue(url_fixture)
    monkeypatch.setattr(history_flag, "REFRESH_S", 0.0)  # read the flag at every call
    server = await RedisBackend.connect(redis_url, config=EngineConfig(archive=True), clock=clock)
    worker = await RedisBackend.connect(redis_url, config=EngineConfig(), clock=clock)  # no URL
    raw: Any = (aioredis.RedisCluster if url_fixture == "redis_cluster_url" else aioredis.Redis).from_url(redis_url)
    try:
        await in_state(worker, clock, S.COMPLETED)
        assert (await worker.archive_backlog()).depth == 0  # nobody archives: no outbox

        await server.keep_history_on(900)  # what a serving archiver does at every pass
        assert 0 < await raw.pttl("taskline:history") <= 900_000
        archived = [await in_state(worker, clock, state) for state in (S.COMPLETED, S.FAILED, S.CANCELLED)]
        entries = await server.read_archive(limit=10)
        assert sorted(e.task_id for e in entries) == sorted(t.id for t in archived)

        await raw.delete("taskline:history")  # history turned off, the flag ran out
        await in_state(worker, clock, S.COMPLETED)
        assert (await worker.archive_backlog()).depth == 3
        # A process with the URL set archives whatever the flag says.
        await in_state(server, clock, S.COMPLETED)
        assert (await worker.archive_backlog()).depth == 4
    finally:
        await raw.aclose()
        await worker.close()
        await server.close()


async def test_a_blocking_client_without_the_url_archives_its_cancels_while_a_server_does(
    redis_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TASKLINE_POSTGRES_URL", raising=False)
    server = await RedisBackend.connect(redis_url, config=EngineConfig(archive=True), clock=clock)
    try:
        await server.keep_history_on(900)

        def cancel_one() -> str:
            with Client(redis_url) as client:
                task = client.submit("t", {})
                return client.cancel(task.id).id

        cancelled = await asyncio.to_thread(cancel_one)
        assert [e.task_id for e in await server.read_archive(limit=10)] == [cancelled]
    finally:
        await server.close()


async def test_a_flag_that_cannot_be_read_keeps_its_last_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed read is not a failed script: on a cluster the key's shard may be down while the
    queue's answers (tests/cluster/test_failover.py shows the scripts running on)."""
    monkeypatch.setattr(history_flag, "REFRESH_S", 0.0)  # read the flag at every call
    with running_redis(tmp_path) as store:
        client = aioredis.Redis.from_url(store.url)
        try:
            flag = HistoryFlag("taskline:history", always=False)
            await client.set("taskline:history", "1")
            assert await flag.on(client)
            store.stop()

            assert await flag.on(client)  # the last value read, not BackendUnavailable
            store.start()
            await client.delete("taskline:history")
            assert not await flag.on(client)  # read again once Redis answers
        finally:
            await client.aclose()
