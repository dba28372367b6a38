"""TASKLINE_REDIS_WAIT_REPLICAS on a standalone Redis with a replica: submit, complete and fail
are acknowledged once the replica has them; with the replica gone they are a 503."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from taskline.backends.redis.backend import RedisBackend
from taskline.client import Client
from taskline.config import Settings
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.outcomes import Completion, LeaseAsk
from taskline.errors import BackendUnavailable
from tests.helpers.live import wait_until
from tests.helpers.seed import lease_one, submit
from tests.helpers.servers import RedisServer, running_redis


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    (tmp_path / "primary").mkdir()
    (tmp_path / "replica").mkdir()
    with (
        running_redis(tmp_path / "primary") as primary,
        running_redis(tmp_path / "replica", replica_of=primary.port) as replica,
    ):
        with redis.Redis(port=primary.port, decode_responses=True) as client:
            wait_until(lambda: client.info("replication").get("slave0", {}).get("state") == "online", what="sync")
        yield primary, replica


async def test_writes_are_acknowledged_once_the_replica_has_them_and_refused_without_it(
    replicated: tuple[RedisServer, RedisServer],
) -> None:
    primary, replica = replicated
    clock = FrozenClock()
    backend = await RedisBackend.connect(primary.url, config=EngineConfig(redis_wait_replicas=1), clock=clock)
    try:
        done = await submit(backend, clock)
        lease = await lease_one(backend, done)
        assert (await backend.complete(done.id, lease.token)).state == "completed"
        dead = await submit(backend, clock)
        lease = await lease_one(backend, dead)
        assert (await backend.fail(dead.id, lease.token, error="boom", retry=False)).state == "failed"
        with Client(primary.url, settings=Settings(redis_wait_replicas=1)) as client:  # the blocking Client too
            assert client.submit("echo", {"n": 1}).state == "pending"

        replica.kill()
        with pytest.raises(BackendUnavailable, match="0 of the 1 replicas"):
            await submit(backend, clock)
        with (
            Client(primary.url, settings=Settings(redis_wait_replicas=1), retries=0) as client,
            pytest.raises(BackendUnavailable, match="0 of the 1 replicas"),
        ):
            client.submit("echo", {"n": 2})
    finally:
        await backend.close()


async def test_a_settle_whose_wait_falls_short_leases_nothing_it_does_not_hand_over(redis_url: str) -> None:
    """A complete that also leases the next task: WAIT short (no replica here) makes it a 503,
    and the next task is still pending, not running under a token nobody holds."""
    clock = FrozenClock()
    plain = await RedisBackend.connect(redis_url, clock=clock)
    waiting = await RedisBackend.connect(redis_url, config=EngineConfig(redis_wait_replicas=1), clock=clock)
    try:
        first = await submit(plain, clock, queue="settle-wait")
        lease = await lease_one(plain, first)
        second = await submit(plain, clock, queue="settle-wait")
        ask = LeaseAsk("w1", 1, ["settle-wait"], ["echo"])
        with pytest.raises(BackendUnavailable, match="0 of the 1 replicas"):
            await waiting.settle([Completion(first.id, lease.token)], then_lease=ask)
        assert (await plain.get(second.id)).state == "pending"  # type: ignore[union-attr]
    finally:
        await plain.close()
        await waiting.close()
