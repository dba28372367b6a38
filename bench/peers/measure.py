"""One run of one peer: enqueue, Redis memory, drain, latency; the same procedure for every peer.

Order within a run: FLUSHALL; connect the producer; enqueue `jobs` no-ops (timed around
the calls only); read used_memory again; start the workers and time until the shared
counter (probe.DONE_KEY) reaches `jobs`; then, workers still running, send latency probes
at a steady rate and read the enqueue→start delays they pushed. A failure keeps the
figures measured before it and names itself in `error`.
"""

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.peers import probe
from bench.peers.base import WORKER_PROCESSES, Peer
from bench.peers.workers import WorkerGroup

POLL_S = 0.005
ALIVE_CHECK_S = 0.5
LATENCY_GRACE_S = 30.0
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Settings:
    jobs: int
    rate: float  # latency probes a second
    seconds: float  # of latency probes
    drain_timeout: float
    logdir: Path


@dataclass
class Figures:
    enqueue_per_s: float | None = None
    bytes_per_job: float | None = None
    drain_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def run_once(peer: Peer, settings: Settings) -> Figures:
    figures = Figures()
    client = redis.Redis.from_url(peer.redis_url)
    try:
        client.flushall()
        peer.open()
        before = _used_memory(client)
        figures.enqueue_per_s = settings.jobs / peer.enqueue(settings.jobs)
        figures.bytes_per_job = (_used_memory(client) - before) / settings.jobs
        workers = WorkerGroup(
            peer.name, [peer.worker_command(n) for n in range(WORKER_PROCESSES)], _env(peer), settings.logdir
        )
        try:
            _drain(client, workers, settings, figures)
            _latency(client, peer, workers, settings, figures)
        finally:
            workers.stop()
    except Exception as exc:
        figures.error = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    finally:
        try:
            peer.close()
        except Exception as exc:
            figures.notes.append(f"close failed: {exc}")
        client.close()
    return figures


def _env(peer: Peer) -> dict[str, str]:
    return {probe.URL_ENV: peer.redis_url, "PYTHONPATH": str(REPO), **peer.worker_env()}


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _drain(client: redis.Redis, workers: WorkerGroup, settings: Settings, figures: Figures) -> None:
    """Time from starting the workers to the counter reaching `jobs`; a drain cut short by
    the timeout reports the rate it kept up until then."""
    started = time.perf_counter()
    workers.start()
    done = _wait(lambda: int(client.get(probe.DONE_KEY) or 0), settings.jobs, started + settings.drain_timeout, workers)
    elapsed = time.perf_counter() - started
    figures.drain_per_s = done / elapsed
    if done < settings.jobs:
        figures.notes.append(f"drain cut at {settings.drain_timeout:.0f} s: {done} of {settings.jobs} done")


def _latency(client: redis.Redis, peer: Peer, workers: WorkerGroup, settings: Settings, figures: Figures) -> None:
    if figures.drain_per_s is None or figures.drain_per_s < settings.rate * 1.2:
        figures.notes.append(f"no latency: drains below {settings.rate:.0f} jobs/s, so no steady state at that rate")
        return
    count = round(settings.rate * settings.seconds)
    started = time.perf_counter()
    peer.enqueue_probes(settings.rate, count)
    sent_per_s = count / (time.perf_counter() - started)
    if sent_per_s < settings.rate * 0.95:  # a producer slower than the rate: the delays are at the lower rate
        figures.notes.append(f"latency: the producer sent only {sent_per_s:.0f} probes/s of {settings.rate:.0f}")
    arrived = _wait(lambda: int(client.llen(probe.LATENCY_KEY)), count, time.perf_counter() + LATENCY_GRACE_S, workers)
    delays = sorted(float(value) * 1000 for value in client.lrange(probe.LATENCY_KEY, 0, -1))
    if arrived < count:
        figures.notes.append(f"latency: only {arrived} of {count} probes started within {LATENCY_GRACE_S:.0f} s")
    if delays:
        figures.p50_ms = statistics.median(delays)
        figures.p99_ms = delays[math.ceil(0.99 * len(delays)) - 1]


def _wait(read: Callable[[], int], target: int, deadline: float, workers: WorkerGroup) -> int:
    """Poll `read` until it reaches `target` or `deadline`; raise if a worker died meanwhile."""
    next_alive_check = 0.0
    while True:
        value = read()
        now = time.perf_counter()
        if value >= target or now >= deadline:
            return value
        if now >= next_alive_check:
            workers.check_alive()
            next_alive_check = now + ALIVE_CHECK_S
        time.sleep(POLL_S)
