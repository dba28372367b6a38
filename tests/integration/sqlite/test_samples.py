"""SQLite keeps its task totals in process memory: a restart starts them again from zero,
while the samples stay in the file. The series reads the drop as a reset, not a negative."""

from pathlib import Path

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.clock import FrozenClock
from taskline.core.samples import MINUTE_S, minute_of
from taskline.maintenance.sampler import MinuteSampler
from taskline.service import TaskService
from tests.helpers.seed import submit


async def test_a_restart_in_the_middle_of_a_minute_is_a_reset(db_path: Path, clock: FrozenClock) -> None:
    start = minute_of(clock.now())
    before = await SqliteBackend.open(db_path, clock=clock)
    try:
        await MinuteSampler(before, clock).run_once()
        for _ in range(3):
            await submit(before, clock)
        clock.set((start + 1) * MINUTE_S)
        await MinuteSampler(before, clock).run_once()  # the sample of start + 1: 3 submitted
        await submit(before, clock)
    finally:
        await before.close()
    clock.advance(20)

    after = await SqliteBackend.open(db_path, clock=clock)
    try:
        assert await MinuteSampler(after, clock).run_once() is False  # the minute had its sample
        await submit(after, clock)  # totals now 1, below the sample's 3
        previous, current = await TaskService(after, clock=clock).series(2)
    finally:
        await after.close()

    assert previous.counts is not None
    assert previous.counts["submitted"] == 3
    assert current.counts is not None
    assert current.counts["submitted"] == 1  # what the new process counted, not 1 - 3
