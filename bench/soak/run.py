"""One soak run: start the deployment, hold the load for the duration, inject the faults on
schedule, sample memory every `sample_s`, drain, and hand back what was recorded."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import redis

import taskline
from bench.soak.load import QUEUE, Follower, Producer
from bench.soak.procs import Deployment, rss_bytes

USED_MEMORY = "redis used_memory"
DRAIN_S = 120.0  # after the load stops: long enough for a killed worker's lease to run out


@dataclass(frozen=True)
class Options:
    minutes: float
    rate: float
    producers: int
    workers: int
    concurrency: int
    sample_s: float
    retention_s: float
    workdir: Path


@dataclass(frozen=True)
class Fault:
    at: float  # seconds into the run
    what: str
    act: Callable[[Deployment], None]


@dataclass
class Recording:
    duration: float
    memory: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # series → (t, bytes)
    submits: list[tuple[float, float]] = field(default_factory=list)
    tasks: list[tuple[float, float]] = field(default_factory=list)
    faults: list[tuple[float, str]] = field(default_factory=list)  # (done at, what)
    submit_errors: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    lagged: int = 0
    acknowledged: int = 0
    aborted: str | None = None  # why the run stopped early, if it did: what was recorded still counts


def schedule(duration: float, workers: int) -> list[Fault]:
    """The faults, at fixed shares of the run so a short trial sees the same pattern as the hour:
    a worker killed (SIGKILL) and restarted at each sixth (every 10 min of an hour), taking turns
    among workers 2…N-1 so workers 0 and 1 (one over HTTP, one on Redis) live the whole run as
    the long witnesses; the API killed and restarted once, at 0.3 of the run, so its second life
    has most of the run to be judged on."""
    faults = [Fault(0.3 * duration, "kill -9 and restart taskline serve", Deployment.restart_server)]
    killable = list(range(2, workers)) or [workers - 1]
    for k in range(1, 6):
        n = killable[(k - 1) % len(killable)]
        faults.append(
            Fault(k / 6 * duration, f"kill -9 and restart worker-{n}", partial(Deployment.restart_worker, n=n))
        )
    return sorted(faults, key=lambda f: f.at)


def sample(deployment: Deployment, redis_client: redis.Redis, t: float, into: Recording) -> None:
    for label, pid in deployment.pids().items():
        rss = rss_bytes(pid)
        if rss is not None:
            into.memory.setdefault(label, []).append((t, float(rss)))
    used = redis_client.info("memory")["used_memory"]
    into.memory.setdefault(USED_MEMORY, []).append((t, float(used)))


def connected(url: str, follower: Follower, timeout_s: float = 30) -> None:
    """Return once the follower sees completions: a probe task every 2 s until one's event comes
    (the socket may open after the first probe ends), then forget the probes."""
    deadline = time.monotonic() + timeout_s
    with taskline.Client(url) as client:
        while not follower.latencies:
            if time.monotonic() > deadline:
                raise RuntimeError("the event follower saw no completion")
            client.submit("soak", {"n": -1}, queue=QUEUE)
            asked = time.monotonic()
            while not follower.latencies and time.monotonic() - asked < 2:
                time.sleep(0.05)  # paces the asking; the follower's count is what is waited for
    # Probes still queued (the workers may start after the socket opens) end later: not the load.
    follower.since = time.time()
    follower.latencies.clear()


def hold(
    options: Options,
    deployment: Deployment,
    store: redis.Redis,
    start: float,
    producer: Producer,
    follower: Follower,
    recording: Recording,
    log: Callable[[str], None],
) -> None:
    """The run's main loop: memory sampled every `sample_s`, the faults at their times."""
    pending = schedule(recording.duration, options.workers)
    next_sample = 0.0
    while (t := time.time() - start) < recording.duration:
        if pending and pending[0].at <= t:
            fault = pending.pop(0)
            try:
                fault.act(deployment)
            except RuntimeError as exc:  # e.g. the API slow to come back on a busy machine: once more
                log(f"{t:7.1f} s  {fault.what} failed ({exc}); again")
                fault.act(deployment)
            recording.faults.append((time.time() - start, fault.what))
            log(f"{t:7.1f} s  {fault.what}")
            continue
        if t >= next_sample:
            sample(deployment, store, t, recording)
            next_sample += options.sample_s
            if int(next_sample / options.sample_s) % 30 == 0:
                log(f"{t:7.1f} s  {producer.acknowledged:,} submitted, {len(follower.latencies):,} completed")
            continue
        upcoming = min(next_sample, pending[0].at if pending else recording.duration, recording.duration)
        time.sleep(max(0.0, upcoming - t))  # the sampling period itself, not a wait for a state


def soak(options: Options, log: Callable[[str], None]) -> Recording:
    duration = options.minutes * 60
    deployment = Deployment(
        options.workdir,
        {"retention": str(options.retention_s), "log_level": "warning"},
        options.workers,
        options.concurrency,
    )
    deployment.start()
    try:
        assert deployment.server is not None
        assert deployment.redis is not None
        url = deployment.server.url
        start = time.time()
        follower = Follower(url, start)
        follower.begin()
        connected(url, follower)
        producer = Producer(url, options.rate, start, options.producers)
        recording = Recording(duration)
        with redis.Redis.from_url(deployment.redis.url) as store:
            producer.begin()
            log(f"load on: {options.rate:g} tasks/s for {options.minutes:g} min, {options.workers} workers")
            try:
                hold(options, deployment, store, start, producer, follower, recording, log)
            except Exception as exc:  # keep what an hour recorded; the verdict says it was cut short
                recording.aborted = f"{time.time() - start:.0f} s in: {type(exc).__name__}: {exc}"
                recording.duration = max(60.0, time.time() - start)
                log(f"aborted {recording.aborted}")
            producer.end()
            drain_until = time.monotonic() + DRAIN_S
            while len(follower.latencies) < producer.acknowledged and time.monotonic() < drain_until:
                time.sleep(0.2)  # paces the asking; the completed count is what is waited for
        follower.end()
        recording.submits = producer.latencies
        recording.tasks = follower.latencies
        recording.submit_errors = dict(producer.errors)
        recording.skipped = producer.skipped
        recording.lagged = follower.lagged
        recording.acknowledged = producer.acknowledged
        return recording
    finally:
        deployment.close()
