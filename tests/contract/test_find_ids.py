"""Finding stored task ids by a prefix: what `get`, `cancel` and `retry` resolve an abbreviated
id with (an id range of the primary key on SQLite, of each queue's creation log on Redis)."""

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from tests.helpers.seed import spec, submit

# Cuts of a canonical id, in characters: its first group, the whole millisecond, the version
# digit, the counter, the variant and into the random tail; none ends on a dash.
CUTS = (8, 11, 13, 15, 17, 19, 22, 24, 30, 36)


def _shared_start(ids: list[str]) -> str:
    """The longest start every id has: that of the first and last in order."""
    first, last = min(ids), max(ids)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


async def test_each_prefix_finds_exactly_the_stored_ids_it_starts(backend: Backend, clock: FrozenClock) -> None:
    # A bulk (one millisecond, or a few: ids apart in the counter and random bits only) and
    # single submits to other queues (apart in the millisecond too).
    bulk = await backend.submit([spec(clock, queue="a") for _ in range(20)])
    single = [await submit(backend, clock, queue=q) for q in ("b", "c", "b")]
    ids = sorted([s.task.id for s in bulk] + [t.id for t in single])

    for task_id in ids:
        for cut in CUTS:
            prefix = task_id[:cut]
            assert await backend.find_ids(prefix, limit=100) == [i for i in ids if i.startswith(prefix)], prefix


async def test_the_ids_come_in_order_and_at_most_limit(backend: Backend, clock: FrozenClock) -> None:
    ids = sorted([(await submit(backend, clock, queue=q)).id for q in ("a", "b", "a", "b")])
    common = _shared_start(ids)

    assert await backend.find_ids(common, limit=100) == ids
    assert await backend.find_ids(common, limit=3) == ids[:3]


async def test_a_prefix_no_stored_id_has_finds_nothing(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    before = f"{int(task.id[:8], 16) - 1:08x}"  # the minute before: no task there

    assert await backend.find_ids(before, limit=10) == []
    assert await backend.find_ids(task.id[:35] + ("0" if task.id[35] != "0" else "1"), limit=10) == []


async def test_deleted_tasks_are_not_found(backend: Backend, clock: FrozenClock) -> None:
    purged = await submit(backend, clock, queue="gone")
    kept = await submit(backend, clock, queue="kept")
    common = _shared_start([purged.id, kept.id])

    await backend.purge("gone")

    assert await backend.find_ids(common, limit=10) == [kept.id]
    assert await backend.find_ids(purged.id, limit=10) == []
