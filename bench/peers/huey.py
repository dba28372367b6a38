"""Huey on RedisHuey: calling the task enqueues it; `huey_consumer` with its default of 1 worker thread."""

from huey import RedisHuey

from bench.peers import probe
from bench.peers.base import BIN, SyncPeer

huey = RedisHuey("bench", url=probe.redis_url())


@huey.task()
def noop(enqueued_at: float | None = None) -> None:
    probe.record(enqueued_at)


class Peer(SyncPeer):
    name = "huey"
    setup = "RedisHuey (blocking pop), default 1 worker thread a process"

    def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            noop()
        else:
            noop(enqueued_at)

    def worker_command(self, index: int) -> list[str]:
        return [str(BIN / "huey_consumer"), f"{__name__}.huey", "--workers", "1", "--worker-type", "thread", "--quiet"]
