"""Retention at scale: a million finished tasks past retention, trimmed while work goes on.

For each backend: load `--tasks` completed tasks whose `completed_at` is a day past retention
(written straight into the store with the backend's own record encoders, not through a million
API calls), then run a producer (one `submit` every 1/`--rate` s) and a worker (`lease` of up
to 10, a `complete` each) on the same backend; after `--baseline` seconds the scheduler's
`run_once` (the path `taskline serve` takes once a minute) trims them all. Reports the trim
rate and the submit, lease and complete latency p50/p99/max while nothing is trimmed against
during the trim, and the longest a single trim batch took (one Lua script on Redis, one
writer transaction on SQLite).

    python -m bench.retention [--backends redis,sqlite] [--tasks 1000000] [--rate 200] [--baseline 5]
    python -m bench.retention --batch-cost      # one trim call's cost by batch size, nothing else running
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import redis.asyncio as aredis
from tests.helpers.servers import RedisServer

from taskline.backends.base import Backend
from taskline.backends.factory import open_backend
from taskline.backends.redis import codec
from taskline.backends.redis.keys import KeySpace
from taskline.backends.sqlite import records
from taskline.backends.sqlite.queries import QUERIES
from taskline.core.config import EngineConfig
from taskline.core.spec import TaskSpec
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.maintenance import scheduler as scheduling
from taskline.maintenance.scheduler import Scheduler

QUEUE = "bench"  # the finished tasks and the live work share one queue: the trim's worst case
TYPE = "noop"
LOAD_CHUNK = 10_000
PER_MS = 4000  # ids a millisecond: UUIDv7's 12-bit counter holds 4,096
DAY_MS = 86_400_000
T = TypeVar("T")


def past_ids(count: int, start_ms: int) -> Iterator[tuple[str, int]]:
    """`count` UUIDv7 ids (with their ms) from `start_ms` on, increasing, as core.ids makes them."""
    rng = random.Random(11)
    for n in range(count):
        ms, seq = start_ms + n // PER_MS, n % PER_MS
        value = ms << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rng.getrandbits(62)
        digits = f"{value:032x}"
        yield f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}", ms


def finished_task(task_id: str, created_ms: int) -> Task:
    """A small task that ran once and completed 10 ms after it was created."""
    created, done = created_ms / 1000, (created_ms + 10) / 1000
    return Task(
        id=task_id, type=TYPE, queue=QUEUE, payload={"n": 1}, state=TaskState.COMPLETED, attempts=1,
        result={"ok": True}, worker_id="loader", created_at=created, updated_at=done, started_at=created + 0.005,
        completed_at=done, due_at=created,
    )  # fmt: skip


def finished_before_ms(config: EngineConfig) -> int:
    """Created a day past retention, so every loaded task is due for trimming."""
    return int(time.time() * 1000) - int(config.retention_s * 1000) - DAY_MS


async def load_redis(url: str, count: int, config: EngineConfig) -> None:
    """The keys submit.lua and settle.lua leave for a completed task: the record in the queue's
    `tasks` hash, its `completed` zset entry, its creation-log entry, the counts and the catalog.
    Records of one millisecond are byte-equal (ids are the hash fields), so each is encoded once."""
    keys = KeySpace().queue(QUEUE)
    client = aredis.Redis.from_url(url)
    try:
        pipe = client.pipeline(transaction=False)
        raw_of: dict[int, bytes] = {}
        records: dict[str, bytes] = {}
        finished: dict[str, int] = {}
        for n, (task_id, ms) in enumerate(past_ids(count, finished_before_ms(config)), 1):
            raw = raw_of.get(ms)
            if raw is None:
                raw_of.clear()
                raw = raw_of[ms] = codec.encode_task(finished_task(task_id, ms))
            records[task_id] = raw
            finished[task_id] = ms + 10
            stream_id, value = codec.log_entry(task_id)
            pipe.xadd(keys.log, {"id": value}, id=stream_id)
            if n % LOAD_CHUNK == 0 or n == count:
                pipe.hset(keys.tasks, mapping=records)  # type: ignore[arg-type]
                pipe.zadd(keys.completed, finished)
                await pipe.execute()
                records, finished = {}, {}
        pipe.hincrby(keys.counts, "completed", count)
        pipe.sadd(keys.types, TYPE)
        pipe.sadd(KeySpace().queues, QUEUE)
        await pipe.execute()
    finally:
        await client.aclose()


def load_sqlite(path: Path, count: int, config: EngineConfig) -> None:
    """Rows as SqliteBackend inserts them (records.encode), in one transaction; the schema's
    triggers keep the counts."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(QUERIES.add_queue, (QUEUE,))
            conn.execute(QUERIES.add_queue_type, (QUEUE, TYPE))
            rows = (
                records.encode(finished_task(task_id, ms), aging_s=config.priority_aging_s)
                for task_id, ms in past_ids(count, finished_before_ms(config))
            )
            conn.executemany(QUERIES.insert_task, rows)
    finally:
        conn.close()


@dataclass
class Probe:
    """A producer and a worker at a steady pace, each call's latency kept with its start time.
    Every tenth submit is due 100 ms later, so the scheduler must forward it: how late it is
    leased after its due time shows whether retention holds the scheduler's other duties back."""

    backend: Backend
    rate: float
    samples: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {"submit": [], "lease": [], "complete": [], "forwarded late": []}
    )
    running: bool = True

    async def timed(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        result = await call()
        self.samples[op].append((started, time.perf_counter() - started))
        return result

    async def produce(self) -> None:
        next_at = time.perf_counter()
        for n in itertools.count():
            if not self.running:
                return
            due_at = time.time() + 0.1 if n % 10 == 0 else None
            spec = TaskSpec(type=TYPE, queue=QUEUE, payload={"n": n}, due_at=due_at)
            await self.timed("submit", partial(self.backend.submit, [spec]))
            next_at += 1 / self.rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))  # the pace, not a wait for state

    async def work(self) -> None:
        backend = self.backend
        while self.running:
            leases = await self.timed("lease", lambda: backend.lease(worker_id="probe", queues=[QUEUE], max=10))
            leased_at, now = time.perf_counter(), time.time()
            for lease in leases:
                if lease.task.due_at > lease.task.created_at:
                    self.samples["forwarded late"].append((leased_at, now - lease.task.due_at))
                await self.timed("complete", partial(backend.complete, lease.task.id, lease.token))
            if not leases:
                await asyncio.sleep(0.002)  # nothing queued: look again at the producer's pace

    def window(self, op: str, start: float, end: float) -> list[float]:
        return sorted(latency for at, latency in self.samples[op] if start <= at < end)


@dataclass
class TrimTimer:
    """The backend's own trim_retention, each batch timed; off (trimming nothing) until `on`."""

    trim: Callable[..., Awaitable[int]]
    expected: int
    on: bool = False
    batches: list[float] = field(default_factory=list)
    trimmed: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, *, limit: int) -> int:
        if not self.on:
            return 0
        started = time.perf_counter()
        trimmed = await self.trim(limit=limit)
        self.batches.append(time.perf_counter() - started)
        self.trimmed += trimmed
        if self.trimmed >= self.expected:
            self.done.set()
        return trimmed


@asynccontextmanager
async def scheduling_loop(backend: Backend) -> AsyncIterator[None]:
    """`Scheduler.run()`, the loop `taskline serve` runs, for the length of the block."""
    loop = asyncio.create_task(Scheduler(backend).run())
    try:
        yield
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


@asynccontextmanager
async def backend_for(name: str, workdir: Path, count: int, config: EngineConfig) -> AsyncIterator[Backend]:
    """A loaded backend: `count` finished tasks past retention, nothing else."""
    server = None
    try:
        if name == "redis":
            server = RedisServer(workdir)
            server.start()
            backend = await open_backend(redis_url=server.url, sqlite_path=workdir / "unused.db", config=config)
            await load_redis(server.url, count, config)
        else:
            path = workdir / "retention.db"
            await (await open_backend(redis_url=None, sqlite_path=path, config=config)).close()  # the schema
            await asyncio.to_thread(load_sqlite, path, count, config)
            backend = await open_backend(redis_url=None, sqlite_path=path, config=config)
        try:
            yield backend
        finally:
            await backend.close()
    finally:
        if server:
            server.kill()


def figures(latencies: list[float]) -> str:
    if not latencies:
        return "-"
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return f"{statistics.median(latencies) * 1e3:.1f}/{p99 * 1e3:.1f}/{latencies[-1] * 1e3:.1f}"


async def bench(name: str, count: int, rate: float, baseline_s: float) -> None:
    config = EngineConfig(max_queue_size=10 * count)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        async with backend_for(name, Path(tmp), count, config) as backend:
            loaded_s = time.perf_counter() - started
            timer = TrimTimer(backend.trim_retention, count)
            backend.trim_retention = timer  # type: ignore[method-assign, assignment]
            probe = Probe(backend, rate)
            running = [asyncio.create_task(probe.produce()), asyncio.create_task(probe.work())]
            async with scheduling_loop(backend):  # forwarding the probe's due tasks; retention off
                await asyncio.sleep(baseline_s)  # a window of steady work to compare with
            timer.on = True
            trim_start = time.perf_counter()
            async with scheduling_loop(backend):  # a fresh loop: its first tick is retention's
                await timer.done.wait()
            trim_end = time.perf_counter()
            probe.running = False
            await asyncio.gather(*running)
    trim_s = trim_end - trim_start
    batches = timer.batches
    batch_size = getattr(scheduling, "TRIM_BATCH", scheduling.BATCH)  # a tree from before TRIM_BATCH, side by side
    print(
        f"{name}: loaded {count:,} in {loaded_s:.0f} s; trimmed {timer.trimmed:,} in {trim_s:.1f} s"
        f" = {timer.trimmed / trim_s:,.0f} tasks/s in {len(batches)} batches of up to {batch_size}"
        f" (batch median {statistics.median(batches) * 1e3:.1f} ms, p99"
        f" {sorted(batches)[int(len(batches) * 0.99)] * 1e3:.1f} ms, max {max(batches) * 1e3:.1f} ms)",
        flush=True,
    )
    before = (trim_start - baseline_s, trim_start)
    for op in ("submit", "lease", "complete", "forwarded late"):
        quiet, busy = probe.window(op, *before), probe.window(op, trim_start, trim_end)
        print(
            f"  {op:14} ms p50/p99/max  without trim {figures(quiet):>16} ({len(quiet)} calls)"
            f"  during trim {figures(busy):>16} ({len(busy)} calls)",
            flush=True,
        )


async def batch_cost(name: str, count: int, limits: list[int], calls: int) -> None:
    """What one trim call costs the store by batch size, with nothing else running: Redis's own
    time for the script (INFO commandstats, EVALSHA usec per call), SQLite's writer time (the call
    timed in process: the writer does nothing else meanwhile)."""
    config = EngineConfig(max_queue_size=10 * count)
    with tempfile.TemporaryDirectory() as tmp:
        async with backend_for(name, Path(tmp), count, config) as backend:
            figures = []
            for limit in limits:
                spent = []
                for _ in range(calls):
                    if name == "redis":
                        spent.append(await redis_script_ms(backend, limit))
                    else:
                        started = time.perf_counter()
                        await backend.trim_retention(limit=limit)
                        spent.append((time.perf_counter() - started) * 1e3)
                figures.append(f"{limit}: median {statistics.median(spent):.2f} ms, max {max(spent):.2f} ms")
    where = "Redis time (EVALSHA)" if name == "redis" else "writer time"
    print(f"{name}: one trim call's {where} by batch size, {calls} calls each: " + "; ".join(figures), flush=True)


async def redis_script_ms(backend: Backend, limit: int) -> float:
    """Redis's own time for one trim_retention call of `limit` (there is one queue: one script)."""
    client = backend._client  # type: ignore[attr-defined]  # the backend's connection: a bench may look inside
    await client.config_resetstat()
    await backend.trim_retention(limit=limit)
    stats = await client.info("commandstats")
    return float(stats["cmdstat_evalsha"]["usec"]) / 1e3


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="redis,sqlite")
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200, help="submits a second during the run")
    parser.add_argument("--baseline", type=float, default=5, help="seconds of work measured before the trim")
    parser.add_argument("--batch-cost", action="store_true", help="only time single trim calls of 1,000 and 100")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    for name in args.backends.split(","):
        if args.batch_cost:
            await batch_cost(name, min(args.tasks, 100_000), [1000, 100], 20)
        else:
            await bench(name, args.tasks, args.rate, args.baseline)


if __name__ == "__main__":
    asyncio.run(main())
