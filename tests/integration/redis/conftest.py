"""Fixtures for the Redis backend's own tests: a backend on the session redis-server."""

from collections.abc import AsyncIterator

import pytest

from taskline.backends.redis.backend import RedisBackend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig


@pytest.fixture
async def redis_backend(redis_url: str, clock: FrozenClock, engine_config: EngineConfig) -> AsyncIterator[RedisBackend]:
    backend = await RedisBackend.connect(redis_url, config=engine_config, clock=clock)
    try:
        yield backend
    finally:
        await backend.close()
