"""RQ: `queue.enqueue()`, `rq worker` (a forked work horse per job, RQ's default) or `SimpleWorker`.

RQ's default worker forks for every job, for isolation; `rq-simple` runs the jobs in the
worker process itself, the way RQ documents for throughput when isolation is not needed.
"""

from redis import Redis
from rq import Queue

from bench.peers import probe
from bench.peers.base import BIN, SyncPeer

QUEUE = "bench"


def noop(enqueued_at: float | None = None) -> None:
    probe.record(enqueued_at)


class Peer(SyncPeer):
    name = "rq"
    setup = "Worker (fork per job), 1 job at a time a process"
    worker_class = "rq.worker.Worker"

    def open(self) -> None:
        self.connection = Redis.from_url(self.redis_url)
        self.queue = Queue(QUEUE, connection=self.connection)

    def close(self) -> None:
        self.connection.close()

    def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            self.queue.enqueue(noop)
        else:
            self.queue.enqueue(noop, enqueued_at)

    def worker_command(self, index: int) -> list[str]:
        return [
            str(BIN / "rq"), "worker", "--url", self.redis_url, "--worker-class", self.worker_class,
            "--name", f"{self.name}-{index}", "--logging_level", "WARNING", QUEUE,
        ]  # fmt: skip


class SimplePeer(Peer):
    name = "rq-simple"
    setup = "SimpleWorker (no fork), 1 job at a time a process"
    worker_class = "rq.worker.SimpleWorker"
