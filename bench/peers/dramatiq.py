"""Dramatiq on its RedisBroker: `actor.send()`, the `dramatiq` CLI with its default 8 threads."""

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.peers import probe
from bench.peers.base import BIN, SyncPeer

broker = RedisBroker(url=probe.redis_url())
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop", queue_name="bench")
def noop(enqueued_at: float | None = None) -> None:
    probe.record(enqueued_at)


class Peer(SyncPeer):
    name = "dramatiq"
    setup = "RedisBroker, default 8 threads a process"

    def close(self) -> None:
        broker.close()

    def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            noop.send()
        else:
            noop.send(enqueued_at)

    def worker_command(self, index: int) -> list[str]:
        return [str(BIN / "dramatiq"), __name__, "--processes", "1", "--threads", "8"]
