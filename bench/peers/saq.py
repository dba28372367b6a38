"""SAQ: `Queue.enqueue()`, the `saq` worker with its default concurrency of 10."""

from typing import Any

from saq import Queue

from bench.peers import probe
from bench.peers.base import BIN, AsyncPeer

QUEUE = "bench"


async def noop(ctx: dict[str, Any], *, enqueued_at: float | None = None) -> None:
    await probe.arecord(enqueued_at)


settings = {"queue": Queue.from_url(probe.redis_url(), name=QUEUE), "functions": [noop]}


class Peer(AsyncPeer):
    name = "saq"
    setup = "default concurrency=10 a process"

    async def aopen(self) -> None:
        self.queue = Queue.from_url(self.redis_url, name=QUEUE)
        await self.queue.connect()

    async def aclose(self) -> None:
        await self.queue.disconnect()

    async def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            await self.queue.enqueue("noop")
        else:
            await self.queue.enqueue("noop", enqueued_at=enqueued_at)

    def worker_command(self, index: int) -> list[str]:
        return [str(BIN / "saq"), f"{__name__}.settings", "--workers", "1", "--quiet"]
