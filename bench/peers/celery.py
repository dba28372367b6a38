"""Celery on its Redis broker: `task.delay()`, `celery worker` with the prefork pool.

Throughput settings from Celery's optimizing guide: no result backend (`ignore_result`),
and the worker without gossip, mingle and heartbeat (cluster chatter a no-op bench does
not need). Concurrency stays Celery's default: one pool child per core.
"""

from celery import Celery

from bench.peers import probe
from bench.peers.base import BIN, SyncPeer

app = Celery("bench", broker=probe.redis_url())
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)


@app.task(name="noop")
def noop(enqueued_at: float | None = None) -> None:
    probe.record(enqueued_at)


class Peer(SyncPeer):
    name = "celery"
    setup = "prefork, default concurrency (2 children a process), no result backend"

    def send(self, enqueued_at: float | None) -> None:
        if enqueued_at is None:
            noop.delay()
        else:
            noop.delay(enqueued_at)

    def close(self) -> None:
        app.close()

    def worker_command(self, index: int) -> list[str]:
        return [
            str(BIN / "celery"), "-A", __name__, "worker", "-n", f"w{index}@%h", "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
