"""Reporter: once `run()` stops, nobody waits for ever on an outcome's answer."""

import asyncio
from collections.abc import Sequence
from typing import cast

import pytest

from taskline.core.outcomes import Completion, LeaseAsk, Outcome, Settlement
from taskline.core.task import Lease
from taskline.errors import TasklineError
from taskline.worker.reporting import Reporter
from taskline.worker.transport import Transport


class SilentTransport:
    """A transport whose settle never answers."""

    def __init__(self) -> None:
        self.settling = asyncio.Event()

    async def settle(self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None) -> Settlement:
        self.settling.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def nothing_arrived(asked: LeaseAsk | None, leases: list[Lease]) -> None:
    return None


async def test_stopping_run_ends_the_report_in_flight_the_ones_queued_and_any_later() -> None:
    transport = SilentTransport()
    reporter = Reporter(cast(Transport, transport), next_leases=lambda _: None, arrived=nothing_arrived)
    running = asyncio.create_task(reporter.run())
    in_flight = asyncio.create_task(reporter.report(Completion("sent", "t")))
    await transport.settling.wait()
    queued = asyncio.create_task(reporter.report(Completion("queued", "t")))
    await asyncio.sleep(0)  # it waits behind the report on its way

    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    for report in (in_flight, queued):
        with pytest.raises(TasklineError, match="stopped reporting"):
            await asyncio.wait_for(report, 1)
    with pytest.raises(TasklineError, match="stopped reporting"):
        await asyncio.wait_for(reporter.report(Completion("late", "t")), 1)
