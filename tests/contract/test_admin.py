"""Reading and tending the store: counts, queue stats, listing, purge, the DLQ, retention."""

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.core.task import TaskFilter
from tests.helpers.seed import in_state, spec, submit


async def test_counts_has_every_state(backend: Backend, clock: FrozenClock) -> None:
    assert await backend.counts() == dict.fromkeys(TaskState, 0)
    for state in TaskState:
        await in_state(backend, clock, state)

    assert await backend.counts() == dict.fromkeys(TaskState, 1)


async def test_queue_stats_splits_pending_by_priority(backend: Backend, clock: FrozenClock) -> None:
    await backend.submit([spec(clock, queue="q", priority=p) for p in [0, 1, 1, 3, 3, 3]])
    await in_state(backend, clock, TaskState.FAILED, queue="q")
    await in_state(backend, clock, TaskState.SCHEDULED, queue="other")

    stats = {q.name: q for q in await backend.queue_stats()}

    assert list(stats) == ["other", "q"]
    assert stats["q"].pending == [1, 2, 0, 3]
    assert (stats["q"].failed, stats["q"].scheduled, stats["q"].paused) == (1, 0, False)
    assert (stats["other"].scheduled, sum(stats["other"].pending)) == (1, 0)


async def test_list_is_newest_first_and_pages_cover_everything_once(backend: Backend, clock: FrozenClock) -> None:
    ids = []
    for i in range(23):
        ids.append((await submit(backend, clock, queue=f"q{i % 2}")).id)
        clock.advance(0.001)

    seen: list[str] = []
    cursor = None
    while True:
        page = await backend.list_tasks(TaskFilter(), limit=5, cursor=cursor)
        seen += [t.id for t in page.tasks]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == ids[::-1]


async def test_list_filters_by_state_type_and_queue(backend: Backend, clock: FrozenClock) -> None:
    failed = await in_state(backend, clock, TaskState.FAILED, queue="a")
    await in_state(backend, clock, TaskState.PENDING, queue="a")
    pending_b = await in_state(backend, clock, TaskState.PENDING, queue="b", type="other")

    async def ids(**filters: object) -> list[str]:
        page = await backend.list_tasks(TaskFilter(**filters), limit=50)  # type: ignore[arg-type]
        tasks = list(page.tasks)
        while page.next_cursor is not None:
            page = await backend.list_tasks(TaskFilter(**filters), limit=50, cursor=page.next_cursor)  # type: ignore[arg-type]
            tasks += page.tasks
        return [t.id for t in tasks]

    assert await ids(state=TaskState.FAILED) == [failed.id]
    assert await ids(type="other") == [pending_b.id]
    assert await ids(queue="b") == [pending_b.id]
    assert await ids(queue="a", state=TaskState.COMPLETED) == []


async def test_purge_deletes_pending_tasks_of_one_queue(backend: Backend, clock: FrozenClock) -> None:
    doomed = [r.task for r in await backend.submit([spec(clock, queue="q", priority=p) for p in [0, 0, 2]])]
    kept = await submit(backend, clock, queue="keep")
    running = await in_state(backend, clock, TaskState.RUNNING, queue="q")

    assert await backend.purge("q") == 3

    assert [await backend.get(t.id) for t in doomed] == [None, None, None]
    assert await backend.get(kept.id) is not None
    assert await backend.get(running.id) is not None
    assert (await backend.counts())[TaskState.PENDING] == 1


async def test_purge_of_one_priority(backend: Backend, clock: FrozenClock) -> None:
    await backend.submit([spec(clock, queue="q", priority=p) for p in [0, 0, 2]])

    assert await backend.purge("q", priority=0) == 2

    (stats,) = await backend.queue_stats()
    assert stats.pending == [0, 0, 1, 0]


async def test_dlq_lists_the_most_recently_failed_first(backend: Backend, clock: FrozenClock) -> None:
    failed = []
    for _ in range(7):
        failed.append(await in_state(backend, clock, TaskState.FAILED))
        clock.advance(1)
    await in_state(backend, clock, TaskState.CANCELLED)

    first = await backend.dlq_list(limit=4)
    assert first.next_cursor is not None
    rest = await backend.dlq_list(limit=4, cursor=first.next_cursor)

    assert [t.id for t in first.tasks + rest.tasks] == [t.id for t in reversed(failed)]
    assert rest.next_cursor is None


async def test_dlq_retry_of_some_and_of_all(backend: Backend, clock: FrozenClock) -> None:
    failed = [await in_state(backend, clock, TaskState.FAILED) for _ in range(3)]

    assert await backend.dlq_retry([failed[0].id]) == 1
    assert await backend.dlq_retry() == 2

    counts = await backend.counts()
    assert (counts[TaskState.FAILED], counts[TaskState.PENDING]) == (0, 3)


async def test_dlq_delete_removes_failed_tasks_for_good(backend: Backend, clock: FrozenClock) -> None:
    failed = [await in_state(backend, clock, TaskState.FAILED) for _ in range(2)]
    kept = await in_state(backend, clock, TaskState.COMPLETED)

    assert await backend.dlq_delete() == 2

    assert [await backend.get(t.id) for t in failed] == [None, None]
    assert await backend.get(kept.id) is not None
    assert (await backend.dlq_list(limit=10)).tasks == []


@pytest.mark.parametrize(
    ("state", "kept_until"),
    [(TaskState.COMPLETED, 604800), (TaskState.CANCELLED, 604800), (TaskState.FAILED, 2592000)],
)
async def test_retention_removes_old_finished_tasks(
    backend: Backend, clock: FrozenClock, state: TaskState, kept_until: int
) -> None:
    task = await in_state(backend, clock, state)
    live = await in_state(backend, clock, TaskState.PENDING)

    clock.advance(kept_until - 1)
    assert await backend.trim_retention() == 0
    clock.advance(2)
    assert await backend.trim_retention() == 1

    assert await backend.get(task.id) is None
    assert await backend.get(live.id) is not None
    assert sum((await backend.counts()).values()) == 1


async def test_retention_frees_a_unique_key(backend: Backend, clock: FrozenClock) -> None:
    task = await in_state(backend, clock, TaskState.COMPLETED, unique_key="k", unique_ttl=2592000)
    clock.advance(604801)
    await backend.trim_retention()

    (again,) = await backend.submit([spec(clock, type=task.type, unique_key="k")])

    assert again.created


async def test_resuming_an_unknown_queue_makes_up_no_queue(backend: Backend, clock: FrozenClock) -> None:
    # Found by tests/differential: SQLite listed a queue that only a resume had named.
    await backend.resume_queue("never-used")
    await backend.pause_queue("paused-early")

    assert [(q.name, q.paused) for q in await backend.queue_stats()] == [("paused-early", True)]
