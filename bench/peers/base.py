"""The adapter interface every peer implements, and the pacing both kinds of producer share.

An adapter connects one producer, enqueues with the peer's normal API one call per job,
sends latency probes at a steady rate, and says how to launch its worker processes. The
job body is always `probe.record`/`probe.arecord`, so "done" is the same for everyone.
"""

import abc
import asyncio
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
WORKER_PROCESSES = 2  # one a core
BIN = Path(sys.executable).parent  # console scripts of the peers' virtualenv


class Peer(abc.ABC):
    """One task queue under test. `setup` says how it is configured, for the report."""

    name: str
    setup: str

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url

    def open(self) -> None:  # noqa: B027 - an optional hook: most producers connect on first use
        """Connect the producer (not timed)."""

    def close(self) -> None:  # noqa: B027 - an optional hook, as open
        """Disconnect the producer."""

    @abc.abstractmethod
    def enqueue(self, count: int) -> float:
        """Enqueue `count` no-op jobs, one API call each; return the seconds the calls took."""

    @abc.abstractmethod
    def enqueue_probes(self, rate: float, count: int) -> None:
        """Enqueue `count` latency jobs at `rate` per second, each carrying `time.time()`."""

    @abc.abstractmethod
    def worker_command(self, index: int) -> list[str]:
        """The command line of worker process `index` (of `WORKER_PROCESSES`)."""

    def worker_env(self) -> dict[str, str]:
        """Extra environment for the workers (the runner always sets probe.URL_ENV)."""
        return {}


class AsyncPeer(Peer):
    """A peer whose producer API is asyncio: one event loop for the adapter's lifetime."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(redis_url)
        self._runner = asyncio.Runner()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def open(self) -> None:
        self.run(self.aopen())

    def close(self) -> None:
        try:
            self.run(self.aclose())
        finally:
            self._runner.close()

    def enqueue(self, count: int) -> float:
        async def timed() -> float:
            started = time.perf_counter()
            for _ in range(count):
                await self.send(None)
            return time.perf_counter() - started

        return self.run(timed())

    def enqueue_probes(self, rate: float, count: int) -> None:
        async def paced() -> None:
            started = time.perf_counter()
            for n in range(count):
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                await self.send(time.time())

        self.run(paced())

    async def aopen(self) -> None:
        """Connect the producer."""

    async def aclose(self) -> None:
        """Disconnect the producer."""

    @abc.abstractmethod
    async def send(self, enqueued_at: float | None) -> None:
        """Enqueue one job: a no-op (None) or a latency probe (the enqueue time)."""


class SyncPeer(Peer):
    """A peer whose producer API is blocking."""

    def enqueue(self, count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            self.send(None)
        return time.perf_counter() - started

    def enqueue_probes(self, rate: float, count: int) -> None:
        started = time.perf_counter()
        for n in range(count):
            time.sleep(max(0.0, started + n / rate - time.perf_counter()))
            self.send(time.time())

    @abc.abstractmethod
    def send(self, enqueued_at: float | None) -> None:
        """Enqueue one job: a no-op (None) or a latency probe (the enqueue time)."""
