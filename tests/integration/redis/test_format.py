"""A Redis holding Taskline data in another record format is refused at start, changed in nothing."""

from collections.abc import Iterator

import pytest
import redis

from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.codec import FORMAT_VERSION
from taskline.core.clock import FrozenClock
from taskline.errors import BackendUnavailable
from tests.helpers.seed import submit


@pytest.fixture
def sync_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


async def test_a_fresh_redis_gets_the_format_and_starts_again(
    redis_url: str, sync_client: redis.Redis, clock: FrozenClock
) -> None:
    first = await RedisBackend.connect(redis_url, clock=clock)
    task = await submit(first, clock)
    await first.close()

    again = await RedisBackend.connect(redis_url, clock=clock)
    try:
        assert sync_client.get("taskline:format") == str(FORMAT_VERSION).encode()
        assert await again.get(task.id) == task
    finally:
        await again.close()


async def test_data_from_before_formats_were_stored_is_refused(
    redis_url: str, sync_client: redis.Redis, clock: FrozenClock
) -> None:
    # What the Taskline before this format left: JSON records, and no format key.
    sync_client.sadd("taskline:queues", "default")
    sync_client.hset("taskline:{default}:tasks", "0190aaaa-0000-7000-8000-000000000001", '{"type":"echo"}')

    with pytest.raises(BackendUnavailable) as refused:
        await RedisBackend.connect(redis_url, clock=clock)

    assert "record format 1" in refused.value.message
    assert "delete the 'taskline:*' keys" in refused.value.message
    assert sync_client.get("taskline:format") is None  # nothing stored over the old data


async def test_a_newer_format_is_refused(redis_url: str, sync_client: redis.Redis, clock: FrozenClock) -> None:
    sync_client.set("taskline:format", FORMAT_VERSION + 1)

    with pytest.raises(BackendUnavailable) as refused:
        await RedisBackend.connect(redis_url, clock=clock)

    assert f"record format {FORMAT_VERSION + 1} (a newer Taskline's)" in refused.value.message
    assert sync_client.get("taskline:format") == str(FORMAT_VERSION + 1).encode()
