"""The load generator behind `taskline bench`: submits through `AsyncClient` on a schedule
(a count, a steady rate, or flat out), drains with poll/complete, and measures.

Latency is timed from when a request was *due*, not from when it went out, so a server
that falls behind a steady rate shows it in the percentiles instead of hiding it by slowing
the generator down (coordinated omission).
"""

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taskline.client import AsyncClient
from taskline.core.outcomes import Completion, LeaseAsk
from taskline.errors import TasklineError
from taskline.worker.transport import HttpTransport

Slots = Callable[[], float | None]
"""Hands out the due time of the next request (perf_counter seconds), or None when done."""


@dataclass
class Phase:
    """One stretch of submitting: what went through, what failed, how long each took."""

    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def submitted(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        return self.submitted / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: float) -> float | None:
        """Nearest-rank percentile (q in 0-100) of the latencies, in ms."""
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def _summary(phase: Phase) -> dict[str, Any]:
    percentiles = {f"p{q}": phase.percentile_ms(q) for q in (50, 95, 99, 100)}
    return {
        "concurrency": phase.concurrency,
        "submitted": phase.submitted,
        "errors": dict(phase.errors),
        "seconds": round(phase.elapsed_s, 3),
        "throughput_rps": round(phase.throughput, 1),
        "latency_ms": {name: None if v is None else round(v, 2) for name, v in percentiles.items()},
    }


def summarize(profile: str, queue: str, phases: list[Phase]) -> dict[str, Any]:
    """The report of a run: the phases together, then each phase on its own."""
    whole = Phase(max(p.concurrency for p in phases))
    for phase in phases:
        whole.latencies_s += phase.latencies_s
        whole.errors += phase.errors
        whole.elapsed_s += phase.elapsed_s
    return {"profile": profile, "queue": queue, **_summary(whole), "phases": [_summary(p) for p in phases]}


def count_slots(total: int) -> Slots:
    """`total` requests, each due at once (flat out)."""
    left = total

    def next_slot() -> float | None:
        nonlocal left
        left -= 1
        return time.perf_counter() if left >= 0 else None

    return next_slot


def rate_slots(rate: float, duration_s: float) -> Slots:
    """Requests due every 1/`rate` s for `duration_s` (an open-loop steady rate)."""
    start, issued = time.perf_counter(), 0

    def next_slot() -> float | None:
        nonlocal issued
        due = start + issued / rate
        issued += 1
        return due if due < start + duration_s else None

    return next_slot


def flat_out_slots(duration_s: float) -> Slots:
    end = time.perf_counter() + duration_s
    return lambda: now if (now := time.perf_counter()) < end else None


async def submit_phase(client: AsyncClient, spec: dict[str, Any], slots: Slots, concurrency: int) -> Phase:
    """Submit `spec` whenever `slots` says, over `concurrency` connections at most."""
    phase = Phase(concurrency)

    async def connection() -> None:
        while (due := slots()) is not None:
            await asyncio.sleep(max(due - time.perf_counter(), 0))
            try:
                await client.submit(**spec)
            except TasklineError as exc:
                phase.errors[exc.code] += 1
                continue
            phase.latencies_s.append(time.perf_counter() - due)

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    phase.elapsed_s = time.perf_counter() - began
    return phase


async def drain(url: str, api_key: str | None, queue: str, concurrency: int) -> tuple[int, float]:
    """Lease and complete every pending task of `queue`, as HTTP workers; (completed, seconds)."""
    transport = HttpTransport(url, api_key=api_key, max_connections=concurrency)
    completed = 0

    async def worker(worker_id: str) -> None:
        nonlocal completed
        # Each batch's outcomes go in one request that also leases the next batch.
        leases = await transport.poll(worker_id=worker_id, queues=[queue], types=None, wait_s=0, max=50)
        while leases:
            outcomes = [Completion(lease.task.id, lease.token) for lease in leases]
            settlement = await transport.settle(outcomes, then_lease=LeaseAsk(worker_id, 50, [queue]))
            completed += sum(1 for settled in settlement.settled if settled.refused is None)
            leases = settlement.leases

    began = time.perf_counter()
    try:
        await asyncio.gather(*(worker(f"bench-{i}") for i in range(concurrency)))
    finally:
        await transport.close()
    return completed, time.perf_counter() - began
