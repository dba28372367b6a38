"""A bulk spanning queues is all or nothing through the faults that broke it before (SPEC §3
bulk, backends/redis/batches.py): the submitting process killed with SIGKILL at each point of
its two-phase commit, and its connection dropped by the server (CLIENT KILL) before the
decision. Whatever is left, the scheduler's recovery finishes once the deadline has passed:
every task of the batch stored and leasable, or none, and no room left reserved. On one Redis
and on a Redis Cluster (the queues on different shards)."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.batches import DEADLINE_S
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.errors import BackendUnavailable
from tests.helpers.seed import spec
from tests.integration.redis.dying_bulk import PER_QUEUE, QUEUES

ROOT = Path(__file__).parents[3]
DECIDED = {"after:decide_batch", "after:commit_batch", "before:close_batch"}
"""Points past the decision: the batch is stored whole. Before it, not at all."""
ALL_KILLS = [
    *(("redis_url", point) for point in ["after:stage_batch", "before:decide_batch", *sorted(DECIDED)]),
    # On a cluster the parts are on different shards: some staged (or stored), some not.
    ("redis_cluster_url", "after:stage_batch"),
    ("redis_cluster_url", "after:commit_batch"),
]
"""Where the process dies: some parts staged; all staged, undecided; decided, nothing stored;
some parts stored; all stored, the batch still open (the scheduler's commit stores nothing twice)."""
SHORT_KILLS = [
    ("redis_url", "before:decide_batch"),
    ("redis_url", "after:commit_batch"),
    ("redis_cluster_url", "after:stage_batch"),
]
KILLS = ALL_KILLS if os.environ.get("REDIS_FAILURES_FULL") else SHORT_KILLS
"""`make test` kills before the decision and amid the commits on Redis, and amid the stages on a
cluster (a process each, the file's cost); `make test-redis-failures` at every point."""


async def stored_per_queue(backend: RedisBackend) -> dict[str, int]:
    return {q.name: q.queued for q in await backend.queue_stats() if q.queued}


async def leftovers(backend: RedisBackend) -> list[Any]:
    """What a batch may hold in Redis while unresolved: open batches, decisions, reservations."""
    keys = backend._keys
    return [
        *(await backend._client.zrange(keys.batches_open, 0, -1)),
        *(await backend._client.hkeys(keys.batches_decided)),
        *[reserved for q in QUEUES if int(reserved := await backend._client.hget(keys.queue(q).counts, "staged") or 0)],
        *[staged for q in QUEUES for staged in await backend._client.hkeys(keys.queue(q).staged)],
    ]


async def recover(backend: RedisBackend) -> None:
    """The scheduler's step that finishes abandoned batches, run as its ticks would run it: each
    connection the server dropped fails one command (then the pool opens a new one), and a
    failed step is tried again at the next tick."""
    for _ in range(5):
        with contextlib.suppress(BackendUnavailable):
            await backend.recover_expired()
            if not await leftovers(backend):
                return


@pytest.mark.parametrize(("url_fixture", "point"), KILLS)
async def test_a_bulk_whose_process_is_killed_is_stored_whole_or_not_at_all(
    url_fixture: str, point: str, request: pytest.FixtureRequest, clock: FrozenClock
) -> None:
    url: str = request.getfixturevalue(url_fixture)
    backend = await RedisBackend.connect(url, clock=clock)
    try:
        child = [sys.executable, "-m", "tests.integration.redis.dying_bulk", url, point, repr(clock.now())]
        died = await asyncio.to_thread(subprocess.run, child, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert died.returncode == -signal.SIGKILL, died.stderr
        if point not in DECIDED:
            assert await stored_per_queue(backend) == {}  # nothing leasable, listed or counted
            assert await backend.lease(worker_id="w", max=100) == []

        clock.advance(DEADLINE_S + 1)
        await recover(backend)

        whole = dict.fromkeys(QUEUES, PER_QUEUE) if point in DECIDED else {}
        assert await stored_per_queue(backend) == whole
        assert len(await backend.lease(worker_id="w", max=100)) == sum(whole.values())
        assert await leftovers(backend) == []
    finally:
        await backend.close()


async def test_connections_dropped_before_the_decision_leave_the_bulk_whole_or_absent(
    redis_url: str, clock: FrozenClock
) -> None:
    """The server drops every connection of the submitting process (CLIENT KILL) once all parts
    are staged. The pool usually reopens the connection the decision is sent on (then the bulk
    is stored whole); when the drop wins, the submit fails and nothing is stored. Either way,
    after recovery: all or nothing, and nothing left reserved."""
    backend = await RedisBackend.connect(redis_url, clock=clock)
    admin = aioredis.Redis.from_url(redis_url)
    runner = backend._scripts
    run = runner.run

    async def dropping_run(name: str, keys: list[str], args: list[Any], **options: Any) -> Any:
        if name == "decide_batch" and args[2] == "commit":
            await admin.client_kill_filter(_type="normal", skipme=True)  # ours, not the admin's
        return await run(name, keys, args, **options)

    runner.run = dropping_run  # type: ignore[method-assign]
    try:
        try:
            await backend.submit([spec(clock, queue=queue) for queue in QUEUES])
            whole = dict.fromkeys(QUEUES, 1)
        except BackendUnavailable:
            whole = {}
            assert await stored_per_queue(backend) == {}
        clock.advance(DEADLINE_S + 1)
        await recover(backend)
        assert await stored_per_queue(backend) == whole
        assert await leftovers(backend) == []
    finally:
        await admin.aclose()
        await backend.close()


@pytest.fixture
def engine_config() -> EngineConfig:
    return EngineConfig(max_queue_size=2)


async def test_a_refused_bulk_gives_its_room_back_at_once(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    with pytest.raises(Exception, match="full"):
        await redis_backend.submit([spec(clock, queue="alpha"), *[spec(clock, queue="beta")] * 3])

    assert await leftovers(redis_backend) == []  # not left for the scheduler: dropped there and then
    stored = await redis_backend.submit([spec(clock, queue="alpha"), spec(clock, queue="beta")] * 2)
    assert len(stored) == 4
