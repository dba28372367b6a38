"""Redis time per transition: what each script costs the Redis server itself.

The server measures it (`INFO commandstats`, EVALSHA `usec`), so the figure does not move
with the Python client's noise: the way to see what a change to the Lua scripts costs. One
phase at a time (stats reset between): single submits, submits in batches of 100, leases
of one task, completes.

    python -m bench.script_cost
"""

import asyncio
import tempfile
from pathlib import Path

import redis
from tests.helpers.servers import RedisServer

from taskline.backends.factory import open_backend
from taskline.core.spec import TaskSpec

TASKS = 3000


def task_spec() -> TaskSpec:
    return TaskSpec(type="noop", queue="bench", payload={"n": 1})


def evalsha_usec(url: str, *, reset: bool = False) -> float:
    client = redis.Redis.from_url(url)
    try:
        if reset:
            client.config_resetstat()
            return 0.0
        return float(client.info("commandstats").get("cmdstat_evalsha", {"usec": 0})["usec"])
    finally:
        client.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            backend = await open_backend(redis_url=server.url, sqlite_path=Path(tmp) / "unused.db")
            await backend.submit([task_spec()] * 100)  # warm: scripts loaded, queue known
            figures: dict[str, float] = {}
            evalsha_usec(server.url, reset=True)
            for _ in range(TASKS):
                await backend.submit([task_spec()])
            figures["submit"] = evalsha_usec(server.url) / TASKS
            evalsha_usec(server.url, reset=True)
            for _ in range(TASKS // 100):
                await backend.submit([task_spec()] * 100)
            figures["submit in 100s"] = evalsha_usec(server.url) / TASKS
            evalsha_usec(server.url, reset=True)
            leases = []
            while batch := await backend.lease(worker_id="bench", queues=["bench"], types=["noop"]):
                leases += batch
            figures["lease"] = evalsha_usec(server.url) / len(leases)
            evalsha_usec(server.url, reset=True)
            for lease in leases:
                await backend.complete(lease.task.id, lease.token)
            figures["complete"] = evalsha_usec(server.url) / len(leases)
            await backend.close()
        finally:
            server.kill()
    print("  ".join(f"{name}: {usec:.1f} µs" for name, usec in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
