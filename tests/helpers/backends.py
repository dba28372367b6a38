"""Opening the backend a parametrized fixture names, for every fixture over backends."""

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig


async def open_test_backend(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FrozenClock,
    engine_config: EngineConfig,
    rng: random.Random | None = None,
) -> AsyncIterator[Backend]:
    """The backend `request.param` names ("sqlite", "redis" or "redis-cluster"), closed after the
    test: the body of every fixture parametrized over backends; `rng` pins the backoff's jitter."""
    if request.param in ("redis", "redis-cluster"):
        from taskline.backends.redis.backend import RedisBackend

        url = request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")
        store: Backend = await RedisBackend.connect(url, config=engine_config, clock=clock, rng=rng)
    else:
        from taskline.backends.sqlite.backend import SqliteBackend

        store = await SqliteBackend.open(tmp_path / "taskline.db", config=engine_config, clock=clock, rng=rng)
    try:
        yield store
    finally:
        await store.close()
