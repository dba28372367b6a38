"""Taskline, the ways a Python user reaches it: each row one producer and one kind of handler.

- `taskline`: `taskline.AsyncClient(redis_url)` and `taskline worker` with `async def`
  handlers, both straight on Redis: the path comparable with libraries that talk to Redis
  themselves, and the baseline of every ratio.
- `taskline-sync`: the README's shape straight on Redis: the blocking `taskline.Client(redis_url)`
  and `taskline worker` with a plain `def` handler.
- `taskline-http`: a `taskline serve` process on the same Redis; `AsyncClient(server_url)`
  submits over HTTP and `taskline worker --server` (`async def` handlers) long-polls over HTTP,
  as any language would. Its latency is enqueue→start over HTTP long-poll.
- `taskline-http-sync`: the README's shape against one `taskline serve`: one producer submitting
  one task after another through the blocking `taskline.Client(server_url)`, and `def` handlers
  in `taskline worker --server`.
"""

import os
import signal
import subprocess
import time

import httpx
from tests.helpers.servers import free_port

import taskline
from bench.peers import base

QUEUE = "bench"
CONCURRENCY = 10  # the worker's default (SPEC §5), said explicitly
TASKS = "bench.peers.taskline_tasks"


def _payload(enqueued_at: float | None) -> dict[str, float]:
    return {} if enqueued_at is None else {"enqueued_at": enqueued_at}


class Workers:
    """`taskline worker` on the row's handlers, straight on Redis."""

    redis_url: str
    app = "app"  # in TASKS: `app` (async def) or `sync_app` (def)

    def producer_url(self) -> str:
        return self.redis_url

    def worker_command(self, index: int) -> list[str]:
        return [
            str(base.BIN / "taskline"), "worker", f"{TASKS}:{self.app}",
            "--concurrency", str(CONCURRENCY), "--queues", QUEUE, "--log-level", "warning",
        ]  # fmt: skip

    def worker_env(self) -> dict[str, str]:
        return {"TASKLINE_REDIS_URL": self.redis_url}


class OverHttp(Workers):
    """One `taskline serve` on the row's Redis; the producer and the workers reach it over HTTP."""

    def open(self) -> None:
        port = free_port()
        self.server_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
        env |= {"TASKLINE_REDIS_URL": self.redis_url, "TASKLINE_PORT": str(port), "TASKLINE_RATE_LIMIT_RPS": "0"}
        env |= {"TASKLINE_LOG_LEVEL": "warning"}
        self.server = subprocess.Popen([str(base.BIN / "taskline"), "serve"], env=env)
        deadline = time.monotonic() + 20
        while True:  # ready when it answers, not after a fixed wait
            try:
                if httpx.get(f"{self.server_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise RuntimeError("taskline serve did not start")
            time.sleep(0.05)
        super().open()  # the producer's: the next class of the row

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=30)

    def producer_url(self) -> str:
        return self.server_url

    def worker_command(self, index: int) -> list[str]:
        return [*super().worker_command(index), "--server", self.server_url]

    def worker_env(self) -> dict[str, str]:
        return {}


class Peer(Workers, base.AsyncPeer):
    name = "taskline"
    setup = f"AsyncClient(redis://), async def handler, worker straight on Redis, --concurrency {CONCURRENCY} a process"

    async def aopen(self) -> None:
        self.client = taskline.AsyncClient(self.producer_url())

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(self, enqueued_at: float | None) -> None:
        await self.client.submit("noop", _payload(enqueued_at), queue=QUEUE)


class BlockingPeer(Workers, base.SyncPeer):
    name = "taskline-sync"
    setup = f"Client(redis://) (blocking), def handler, worker straight on Redis, --concurrency {CONCURRENCY} a process"
    app = "sync_app"

    def open(self) -> None:
        self.client = taskline.Client(self.producer_url())

    def close(self) -> None:
        self.client.close()

    def send(self, enqueued_at: float | None) -> None:
        self.client.submit("noop", _payload(enqueued_at), queue=QUEUE)


class HttpPeer(OverHttp, Peer):
    name = "taskline-http"
    setup = (
        f"one `taskline serve` on the Redis; AsyncClient and async def worker over HTTP (long poll), "
        f"--concurrency {CONCURRENCY}"
    )


class HttpBlockingPeer(OverHttp, BlockingPeer):
    name = "taskline-http-sync"
    setup = (
        f"one `taskline serve` on the Redis; one producer submitting one after another through Client (blocking) "
        f"over HTTP, def worker over HTTP, --concurrency {CONCURRENCY}"
    )
