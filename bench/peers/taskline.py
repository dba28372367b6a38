"""Taskline, both ways a Python producer and worker can reach it.

- `taskline`: `taskline.AsyncClient(redis_url)` (the engine, straight on Redis) and
  `taskline worker` straight from Redis: the path comparable with libraries that talk to
  Redis themselves.
- `taskline-http`: a `taskline serve` process on the same Redis; `AsyncClient(server_url)`
  submits over HTTP and `taskline worker --server` works over HTTP, as any language would.
"""

import os
import signal
import subprocess
import time

import httpx
from tests.helpers.servers import free_port

import taskline
from bench.peers.base import BIN, AsyncPeer

QUEUE = "bench"
CONCURRENCY = 10  # the worker's default (SPEC §5), said explicitly
APP = "bench.peers.taskline_tasks:app"


class Peer(AsyncPeer):
    name = "taskline"
    setup = f"AsyncClient(redis://), worker straight on Redis, --concurrency {CONCURRENCY} a process"

    async def aopen(self) -> None:
        self.client = taskline.AsyncClient(self.producer_url())

    async def aclose(self) -> None:
        await self.client.aclose()

    def producer_url(self) -> str:
        return self.redis_url

    async def send(self, enqueued_at: float | None) -> None:
        payload = {} if enqueued_at is None else {"enqueued_at": enqueued_at}
        await self.client.submit("noop", payload, queue=QUEUE)

    def worker_command(self, index: int) -> list[str]:
        return [
            str(BIN / "taskline"), "worker", APP,
            "--concurrency", str(CONCURRENCY), "--queues", QUEUE, "--log-level", "warning",
        ]  # fmt: skip

    def worker_env(self) -> dict[str, str]:
        return {"TASKLINE_REDIS_URL": self.redis_url}


class HttpPeer(Peer):
    name = "taskline-http"
    setup = f"one `taskline serve` on the Redis; AsyncClient and worker over HTTP, --concurrency {CONCURRENCY}"

    def open(self) -> None:
        port = free_port()
        self.server_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
        env |= {"TASKLINE_REDIS_URL": self.redis_url, "TASKLINE_PORT": str(port), "TASKLINE_RATE_LIMIT_RPS": "0"}
        env |= {"TASKLINE_LOG_LEVEL": "warning"}
        self.server = subprocess.Popen([str(BIN / "taskline"), "serve"], env=env)
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
        super().open()

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
