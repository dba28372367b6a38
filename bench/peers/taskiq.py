"""Taskiq with taskiq-redis's ListQueueBroker: `task.kiq()`, `taskiq worker` (max_async_tasks=100).

ListQueueBroker is taskiq-redis's plain Redis-list broker; no result backend is set, as
none is needed to run a task.
"""

from taskiq_redis import ListQueueBroker

from bench.peers import probe
from bench.peers.base import BIN, AsyncPeer

broker = ListQueueBroker(url=probe.redis_url(), queue_name="bench")


@broker.task(task_name="noop")
async def noop(enqueued_at: float | None = None) -> None:
    await probe.arecord(enqueued_at)


class Peer(AsyncPeer):
    name = "taskiq"
    setup = "ListQueueBroker, default max_async_tasks=100 a process, no result backend"

    async def aopen(self) -> None:
        await broker.startup()

    async def aclose(self) -> None:
        await broker.shutdown()

    async def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            await noop.kiq()
        else:
            await noop.kiq(enqueued_at)

    def worker_command(self, index: int) -> list[str]:
        return [str(BIN / "taskiq"), "worker", f"{__name__}:broker", "--workers", "1", "--log-level", "WARNING"]
