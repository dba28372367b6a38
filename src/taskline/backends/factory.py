"""Pick and open the backend: Redis when a URL is given, else the embedded SQLite file."""

from pathlib import Path

from taskline.backends.base import Backend
from taskline.core.clock import Clock, SystemClock
from taskline.core.config import EngineConfig


async def open_backend(
    *,
    redis_url: str | None,
    sqlite_path: str | Path,
    config: EngineConfig | None = None,
    clock: Clock | None = None,
    wake_ups: bool = True,
) -> Backend:
    """Redis at `redis_url`, else SQLite at `sqlite_path`. `wake_ups=False`: a Redis client that
    neither polls nor schedules (a producer) does not subscribe to the wake-up channel."""
    config = config or EngineConfig()
    clock = clock or SystemClock()
    if redis_url:
        from taskline.backends.redis.backend import RedisBackend

        return await RedisBackend.connect(redis_url, config=config, clock=clock, wake_ups=wake_ups)
    from taskline.backends.sqlite.backend import SqliteBackend

    return await SqliteBackend.open(Path(sqlite_path), config=config, clock=clock)
