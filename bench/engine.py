"""Engine benchmark: the cost of each operation on both backends, at two queue depths.

For each backend and depth, the queue is first filled with `depth` low-priority tasks of
the measured type; the measured tasks go in at critical priority, so every lease walks
the same index the background tasks sit in. Each figure is the median of `--repeat` runs.
lease+complete drains them with a call for each lease of ten and each complete; settle+next
with one `settle` per ten that completes them and leases the next ten.

    python -m bench.engine [--depths 10000,1000000] [--repeat 3] [--backends sqlite,redis]
"""

import argparse
import asyncio
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis
from tests.helpers.servers import RedisServer

from taskline.backends.base import Backend
from taskline.backends.factory import open_backend
from taskline.core.config import EngineConfig
from taskline.core.outcomes import Completion, LeaseAsk
from taskline.core.spec import TaskSpec

SINGLE = 2000
BATCHES = 50  # of 100
CONSUMERS = 8
FILL_BATCH = 1000
MEASURED = 3  # priority of measured tasks: critical, so they lease before the background


def task_spec(priority: int = MEASURED) -> TaskSpec:
    return TaskSpec(type="noop", queue="bench", payload={"n": 1}, priority=priority)


async def fill(backend: Backend, count: int) -> None:
    for start in range(0, count, FILL_BATCH):
        await backend.submit([task_spec(priority=0)] * min(FILL_BATCH, count - start))


async def submit_one_at_a_time(backend: Backend) -> int:
    for _ in range(SINGLE):
        await backend.submit([task_spec()])
    return SINGLE


async def submit_in_batches(backend: Backend) -> int:
    for _ in range(BATCHES):
        await backend.submit([task_spec()] * 100)
    return BATCHES * 100


async def drain_measured(backend: Backend) -> int:
    """Lease and complete every measured task with concurrent consumers; each consumer
    stops at the first background task, which it hands back untouched."""
    done = 0

    async def consumer(n: int) -> None:
        nonlocal done
        while True:
            leases = await backend.lease(worker_id=f"b{n}", queues=["bench"], types=["noop"], max=10)
            for lease in leases:
                if lease.task.priority == MEASURED:
                    await backend.complete(lease.task.id, lease.token)
                    done += 1
                else:
                    await backend.release(lease.task.id, lease.token)
            if len(leases) == 0 or leases[-1].task.priority != MEASURED:
                return

    await asyncio.gather(*(consumer(n) for n in range(CONSUMERS)))
    return done


async def drain_measured_settling(backend: Backend) -> int:
    """As `drain_measured`, with each batch's completions and the next lease in one `settle`."""
    done = 0

    async def consumer(n: int) -> None:
        nonlocal done
        ask = LeaseAsk(f"b{n}", 10, ["bench"], ["noop"])
        leases = await backend.lease(worker_id=ask.worker_id, queues=ask.queues, types=ask.types, max=ask.max)
        while leases:
            measured = [lease for lease in leases if lease.task.priority == MEASURED]
            for lease in leases[len(measured) :]:  # lease order: the background comes last
                await backend.release(lease.task.id, lease.token)
            more = len(measured) == len(leases)
            outcomes = [Completion(lease.task.id, lease.token) for lease in measured]
            leases = (await backend.settle(outcomes, then_lease=ask if more else None)).leases if outcomes else []
            done += len(outcomes)

    await asyncio.gather(*(consumer(n) for n in range(CONSUMERS)))
    return done


async def per_second(op: Callable[[Backend], Awaitable[int]], backend: Backend) -> float:
    started = time.perf_counter()
    count = await op(backend)
    return count / (time.perf_counter() - started)


async def run_suite(backend: Backend, repeat: int) -> dict[str, float]:
    runs: dict[str, list[float]] = {"submit_single": [], "submit_batch100": [], "lease_complete": [], "settle": []}
    for _ in range(repeat):
        runs["submit_single"].append(await per_second(submit_one_at_a_time, backend))
        runs["submit_batch100"].append(await per_second(submit_in_batches, backend))
        runs["lease_complete"].append(await per_second(drain_measured, backend))
        await submit_in_batches(backend)  # measured tasks again, for the one-step drain
        runs["settle"].append(await per_second(drain_measured_settling, backend))
    return {name: statistics.median(values) for name, values in runs.items()}


def redis_memory(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


async def bench_backend(name: str, depth: int, repeat: int, workdir: Path) -> dict[str, float]:
    server = None
    redis_url = None
    if name == "redis":
        server = RedisServer(workdir)
        server.start()
        redis_url = server.url
    try:
        # The default max_queue_size is exactly 1M: the deep runs need room above it.
        config = EngineConfig(max_queue_size=10 * depth + 100_000)
        backend = await open_backend(redis_url=redis_url, sqlite_path=workdir / f"bench-{depth}.db", config=config)
        try:
            before = redis_memory(redis_url) if redis_url else 0
            started = time.perf_counter()
            await fill(backend, depth)
            fill_s = time.perf_counter() - started
            # Measured now, over queued tasks alone: the suite's completed tasks stay stored.
            after = redis_memory(redis_url) if redis_url else 0
            figures = await run_suite(backend, repeat)
            figures["fill_per_s"] = depth / fill_s
            if redis_url:
                figures["redis_bytes_per_task"] = (after - before) / depth
            return figures
        finally:
            await backend.close()
    finally:
        if server:
            server.kill()


def machine() -> str:
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    return f"{platform.node()} · {cpu} cores · Python {platform.python_version()} · Redis {redis_version}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,redis")
    args = parser.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    print(machine())
    header = f"{'backend':8} {'queued':>9} {'submit 1/s':>11} {'batch100/s':>11} {'lease+complete/s':>17}"
    header += f" {'settle+next/s':>14} {'B/task':>7}"
    print(header)
    for name in args.backends.split(","):
        for depth in depths:
            with tempfile.TemporaryDirectory() as tmp:
                f = await bench_backend(name, depth, args.repeat, Path(tmp))
            memory = f"{f['redis_bytes_per_task']:7.0f}" if "redis_bytes_per_task" in f else f"{'-':>7}"
            print(
                f"{name:8} {depth:>9,} {f['submit_single']:>11,.0f} {f['submit_batch100']:>11,.0f}"
                f" {f['lease_complete']:>17,.0f} {f['settle']:>14,.0f} {memory}",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
