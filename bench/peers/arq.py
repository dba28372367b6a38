"""arq: `ArqRedis.enqueue_job()`, `arq` worker with its defaults (max_jobs=10, results kept 1 h)."""

from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.logs import default_log_config

from bench.peers import probe
from bench.peers.base import BIN, AsyncPeer


async def noop(ctx: dict[str, Any], enqueued_at: float | None = None) -> None:
    await probe.arecord(enqueued_at)


# arq's default logging writes two lines a job; every peer's workers log warnings only.
QUIET_LOGGING = {
    **default_log_config(verbose=False),
    "loggers": {"arq": {"handlers": ["arq.standard"], "level": "WARNING"}},
}


class WorkerSettings:
    functions = [noop]  # noqa: RUF012 - arq reads these class attributes as they are
    redis_settings = RedisSettings.from_dsn(probe.redis_url())


class Peer(AsyncPeer):
    name = "arq"
    setup = "default max_jobs=10 a process, results kept (arq's default)"

    async def aopen(self) -> None:
        self.pool: ArqRedis = await create_pool(RedisSettings.from_dsn(self.redis_url))

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            await self.pool.enqueue_job("noop")
        else:
            await self.pool.enqueue_job("noop", enqueued_at)

    def worker_command(self, index: int) -> list[str]:
        return [str(BIN / "arq"), f"{__name__}.WorkerSettings", "--custom-log-dict", f"{__name__}.QUIET_LOGGING"]
