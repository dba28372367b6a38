"""A `taskline worker` of the chaos app that writes down what the server told it.

    python -m tests.chaos.worker RECORD [--concurrency N]   (TASKLINE_SERVER or TASKLINE_REDIS_URL)

The same runner and transports as `taskline worker` (over HTTP, or straight on Redis with a
scheduler and webhook dispatcher of its own); the transport is wrapped so each lease granted,
each heartbeat sent and each outcome accepted becomes a line of RECORD. A line is flushed as it
is written: a SIGKILL loses at most the answer it was writing down, never one before.
"""

import argparse
import asyncio
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import orjson
import uvloop

from taskline.cli.serve import configure_logging
from taskline.cli.worker import _connect
from taskline.config import load_settings
from taskline.core.outcomes import Completion, LeaseAsk, Outcome, Settlement
from taskline.core.task import HeartbeatAck, Lease
from taskline.core.workers import WorkerDetails, WorkerState
from taskline.worker.runner import Worker
from taskline.worker.transport import Transport
from tests.chaos.app import app


class RecordingTransport:
    """A `Transport` that passes every call on and writes down the answers that matter."""

    def __init__(self, inner: Transport, out: IO[bytes]) -> None:
        self._inner = inner
        self._out = out

    def _write(self, line: dict[str, Any]) -> None:
        self._out.write(orjson.dumps(line) + b"\n")
        self._out.flush()

    def _leased(self, leases: list[Lease]) -> list[Lease]:
        for lease in leases:
            self._write({"k": "lease", "task": lease.task.id, "token": lease.token, "attempt": lease.task.attempts})
        return leases

    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]:
        leases = await self._inner.poll(worker_id=worker_id, queues=queues, types=types, wait_s=wait_s, max=max)
        return self._leased(leases)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        self._write({"k": "hb", "task": task_id, "token": token, "at": time.time()})
        return await self._inner.heartbeat(task_id, token, progress=progress)

    async def settle(self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None) -> Settlement:
        settlement = await self._inner.settle(outcomes, then_lease=then_lease)
        for outcome, settled in zip(outcomes, settlement.settled, strict=True):
            if settled.refused is None and settled.state is not None:
                kind = "complete" if isinstance(outcome, Completion) else "fail"
                self._write({"k": kind, "task": outcome.task_id, "token": outcome.token, "state": settled.state.value})
        self._leased(settlement.leases)
        return settlement

    async def release(self, task_id: str, token: str) -> None:
        await self._inner.release(task_id, token)

    async def worker_heartbeat(self, worker_id: str, details: WorkerDetails) -> WorkerState:
        return await self._inner.worker_heartbeat(worker_id, details)

    async def worker_left(self, worker_id: str) -> None:
        await self._inner.worker_left(worker_id)

    async def close(self) -> None:
        await self._inner.close()


async def run(record: Path, concurrency: int) -> None:
    settings = load_settings(None)
    configure_logging(settings.log_level)
    with record.open("ab") as out:
        async with _connect(settings) as transport:
            runner = Worker(
                app,
                RecordingTransport(transport, out),
                concurrency=concurrency,
                shutdown_timeout_s=settings.shutdown_timeout,
            )
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, runner.stop)
            await runner.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("record", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    uvloop.run(run(args.record, args.concurrency))


if __name__ == "__main__":
    main()
