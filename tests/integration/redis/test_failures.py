"""What a Redis error becomes: an outage is BackendUnavailable (503), an error reply we do
not know is InternalError (500), never passed off as an outage a retry would cure."""

import pytest
import redis

from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.keys import DEFAULT_NAMESPACE, KeySpace
from taskline.errors import InternalError


async def test_an_unknown_script_error_reply_is_an_internal_error(redis_backend: RedisBackend, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(KeySpace(DEFAULT_NAMESPACE).rate_limit("client"), "not a bucket")  # the script's HGET: WRONGTYPE
    client.close()

    with pytest.raises(InternalError, match="WRONGTYPE") as raised:
        await redis_backend.take_token("client", rate=10, burst=20)
    assert (raised.value.status, raised.value.code) == (500, "internal_error")


async def test_durability_warning_says_when_redis_keeps_nothing(redis_backend: RedisBackend) -> None:
    # The session redis-server runs with appendonly no and save "" (tests/helpers/servers.py).
    warning = await redis_backend.durability_warning()

    assert warning is not None
    assert "persistence is off" in warning
