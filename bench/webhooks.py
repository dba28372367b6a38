"""Webhook deliveries per second from one dispatcher to a local receiver, on both backends.

Tasks with a webhook are completed first (filling the outbox); then one `Dispatcher` starts
and the clock runs until the backend counts every delivery as delivered. The receiver is a
bare ASGI app on uvicorn in a process of its own that answers 204.

    python -m bench.webhooks [--tasks 2000] [--backends sqlite,redis]
"""

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers.servers import RedisServer

from taskline.backends.factory import open_backend
from taskline.core.spec import TaskSpec
from taskline.service import TaskService
from taskline.webhooks.dispatcher import Dispatcher, WebhookSettings


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every POST with 204 (the body is read, as a real receiver would)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fill_outbox(service: TaskService, url: str, tasks: int) -> None:
    for start in range(0, tasks, 500):
        specs = [TaskSpec(type="hooked", queue="hooks", webhook=url) for _ in range(min(500, tasks - start))]
        await service.backend.submit(specs)
    done = 0
    while done < tasks:
        leases = await service.backend.lease(worker_id="bench", queues=["hooks"], max=100)
        for lease in leases:
            await service.backend.complete(lease.task.id, lease.token)
        done += len(leases)


async def deliveries_per_second(name: str, tasks: int, url: str, workdir: Path) -> float:
    server = None
    redis_url = None
    if name == "redis":
        server = RedisServer(workdir)
        server.start()
        redis_url = server.url
    try:
        backend = await open_backend(redis_url=redis_url, sqlite_path=workdir / "hooks.db")
        service = TaskService(backend, allow_private_webhooks=True)
        try:
            await fill_outbox(service, url, tasks)
            dispatcher = Dispatcher(service, WebhookSettings(secret="bench-secret", allow_private=True))
            started = time.perf_counter()
            running = asyncio.create_task(dispatcher.run())
            # The store's own count is the measure; looking every 20 ms bounds its error.
            while (await service.task_metrics()).webhooks.get("delivered", 0) < tasks:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - started
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            return tasks / elapsed
        finally:
            await service.close()
    finally:
        if server:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,redis")
    args = parser.parse_args()
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.webhooks:receiver_app", "--port", str(port), "--log-level", "warning",
         "--loop", "uvloop", "--http", "httptools"],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:  # the receiver is up once it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        for name in args.backends.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"http://127.0.0.1:{port}/hook"
                rate = asyncio.run(deliveries_per_second(name, args.tasks, url, Path(tmp)))
            print(f"{name:7} {args.tasks} deliveries  {rate:,.0f}/s", flush=True)
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
