"""Taskline on Redis: `TaskService.submit()` on the Redis backend, `taskline worker` straight from Redis.

Until `taskline.Client(redis_url)` exists, the producer is the engine itself: the same
`TaskService` the API calls, on `RedisBackend`, one `submit` a job.
"""

from bench.peers.base import BIN, AsyncPeer
from taskline.backends.redis.backend import RedisBackend
from taskline.service import TaskService

QUEUE = "bench"
CONCURRENCY = 10  # the worker's default (SPEC §5), said explicitly


class Peer(AsyncPeer):
    name = "taskline"
    setup = f"Redis backend, worker --concurrency {CONCURRENCY} a process"

    async def aopen(self) -> None:
        self.backend = await RedisBackend.connect(self.redis_url)
        self.service = TaskService(self.backend)

    async def aclose(self) -> None:
        await self.backend.close()

    async def send(self, enqueued_at: float | None) -> None:
        payload = {} if enqueued_at is None else {"enqueued_at": enqueued_at}
        await self.service.submit({"type": "noop", "queue": QUEUE, "payload": payload})

    def worker_command(self, index: int) -> list[str]:
        return [
            str(BIN / "taskline"), "worker", "bench.peers.taskline_tasks:app",
            "--concurrency", str(CONCURRENCY), "--queues", QUEUE, "--log-level", "warning",
        ]  # fmt: skip

    def worker_env(self) -> dict[str, str]:
        return {"TASKLINE_REDIS_URL": self.redis_url}
