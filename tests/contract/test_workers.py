"""The worker registry: sightings, listing by last sight, pause and resume, forgetting."""

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.workers import WorkerDetails, WorkerRecord, WorkerState
from taskline.maintenance.scheduler import Scheduler
from tests.contract.test_events import drain

FULL = WorkerDetails(
    host="box-1", pid=4242, queues=["high", "default"], types=["email"], concurrency=8, active=2, processed=5, failed=1
)


async def test_a_first_sighting_creates_an_active_worker_started_now(backend: Backend, clock: FrozenClock) -> None:
    record = await backend.register_worker("w1", FULL)

    assert record == WorkerRecord(
        id="w1",
        host="box-1",
        pid=4242,
        queues=["high", "default"],
        types=["email"],
        concurrency=8,
        active=2,
        processed=5,
        failed=1,
        state=WorkerState.ACTIVE,
        started_at=clock.now(),
        last_seen=clock.now(),
    )
    assert await backend.get_worker("w1") == record


async def test_a_bare_sighting_creates_a_worker_with_empty_details(backend: Backend, clock: FrozenClock) -> None:
    record = await backend.register_worker("poller", WorkerDetails())

    assert record == WorkerRecord(id="poller", started_at=clock.now(), last_seen=clock.now())


async def test_a_later_sighting_overwrites_what_it_reports_and_keeps_the_rest(
    backend: Backend, clock: FrozenClock
) -> None:
    started = clock.now()
    await backend.register_worker("w1", FULL)
    clock.advance(5)

    refreshed = await backend.register_worker("w1", WorkerDetails(active=0, processed=9, queues=[]))
    bare = await backend.register_worker("w1", WorkerDetails())

    assert (refreshed.active, refreshed.processed, refreshed.queues) == (0, 9, [])
    assert (refreshed.host, refreshed.pid, refreshed.types, refreshed.failed) == ("box-1", 4242, ["email"], 1)
    assert (refreshed.started_at, refreshed.last_seen) == (started, clock.now())
    assert bare == refreshed


async def test_the_list_holds_workers_seen_since_a_time_by_id(backend: Backend, clock: FrozenClock) -> None:
    await backend.register_worker("old", WorkerDetails())
    clock.advance(61)
    await backend.register_worker("b", WorkerDetails())
    await backend.register_worker("a", WorkerDetails(host="h"))

    recent = await backend.list_workers(seen_since=clock.now() - 60)

    assert [w.id for w in recent] == ["a", "b"]
    assert recent[0].host == "h"
    assert [w.id for w in await backend.list_workers(seen_since=0)] == ["a", "b", "old"]


async def test_the_count_is_the_list_s_length_without_reading_records(backend: Backend, clock: FrozenClock) -> None:
    await backend.register_worker("old", WorkerDetails())
    clock.advance(61)
    await backend.register_worker("b", WorkerDetails())
    await backend.register_worker("a", WorkerDetails(host="h"))
    await backend.forget_worker("b")

    assert await backend.count_workers(seen_since=clock.now() - 60) == 1
    assert await backend.count_workers(seen_since=0) == 2
    assert await backend.count_workers(seen_since=clock.now() + 1) == 0


async def test_pause_and_resume_are_kept_across_sightings(backend: Backend) -> None:
    await backend.register_worker("w1", FULL)

    paused = await backend.set_worker_paused("w1", True)
    seen_while_paused = await backend.register_worker("w1", WorkerDetails(active=1))
    resumed = await backend.set_worker_paused("w1", False)

    assert paused is not None
    assert paused.state is WorkerState.PAUSED
    assert seen_while_paused.state is WorkerState.PAUSED
    assert seen_while_paused.active == 1
    assert resumed is not None
    assert resumed.state is WorkerState.ACTIVE
    assert (await backend.register_worker("w1", WorkerDetails())).state is WorkerState.ACTIVE


async def test_pausing_an_unknown_worker_creates_nothing(backend: Backend) -> None:
    assert await backend.set_worker_paused("ghost", True) is None
    assert await backend.get_worker("ghost") is None
    assert await backend.list_workers(seen_since=0) == []


async def test_a_worker_that_left_is_forgotten(backend: Backend) -> None:
    await backend.register_worker("w1", FULL)
    await backend.register_worker("w2", FULL)

    assert await backend.forget_worker("w1") is True
    assert await backend.forget_worker("w1") is False
    assert await backend.get_worker("w1") is None
    assert [w.id for w in await backend.list_workers(seen_since=0)] == ["w2"]
    # A worker coming back after leaving starts afresh.
    assert (await backend.register_worker("w1", WorkerDetails())).host is None


async def test_pruning_deletes_only_workers_unseen_since_then(backend: Backend, clock: FrozenClock) -> None:
    await backend.register_worker("gone", FULL)
    await backend.set_worker_paused("gone", True)
    clock.advance(100)
    await backend.register_worker("here", FULL)

    pruned = await backend.prune_workers(seen_before=clock.now() - 50)

    assert pruned == 1
    assert await backend.get_worker("gone") is None
    assert [w.id for w in await backend.list_workers(seen_since=0)] == ["here"]
    assert (await backend.register_worker("gone", WorkerDetails())).state is WorkerState.ACTIVE


async def test_the_scheduler_forgets_workers_gone_an_hour(backend: Backend, clock: FrozenClock) -> None:
    await backend.register_worker("gone", WorkerDetails())
    clock.advance(3000)
    await backend.register_worker("quiet", WorkerDetails())
    clock.advance(601)

    report = await Scheduler(backend, clock).run_once()

    assert report.workers_forgotten == 1
    assert [w.id for w in await backend.list_workers(seen_since=0)] == ["quiet"]


async def test_a_sighting_begun_before_the_worker_left_does_not_bring_it_back(
    backend: Backend, clock: FrozenClock
) -> None:
    began = clock.now()  # a heartbeat or poll comes in ...
    await backend.register_worker("w1", FULL)
    clock.advance(0.5)
    assert await backend.forget_worker("w1") is True  # ... the worker says it left ...
    clock.advance(0.5)

    late = await backend.register_worker("w1", WorkerDetails(active=1), since=began)  # ... and it lands

    assert late is None
    assert await backend.get_worker("w1") is None
    assert await backend.list_workers(seen_since=0) == []
    assert await backend.count_workers(seen_since=0) == 0
    assert await backend.set_worker_paused("w1", True) is None


async def test_a_first_sighting_landing_after_the_worker_left_is_dropped(backend: Backend, clock: FrozenClock) -> None:
    began = clock.now()
    clock.advance(0.5)
    assert await backend.forget_worker("w2") is False  # its first heartbeat had not landed yet

    assert await backend.register_worker("w2", FULL, since=began) is None
    assert await backend.get_worker("w2") is None


async def test_a_worker_starting_again_after_it_left_joins_afresh(backend: Backend, clock: FrozenClock) -> None:
    await backend.register_worker("w1", FULL)
    await backend.set_worker_paused("w1", True)
    clock.advance(1)
    await backend.forget_worker("w1")
    clock.advance(1)
    cursor = await backend.event_cursor()

    back = await backend.register_worker("w1", WorkerDetails(host="box-2"), since=clock.now())

    assert back == WorkerRecord(id="w1", host="box-2", started_at=clock.now(), last_seen=clock.now())
    assert [e.name.value for e in await drain(backend, cursor)] == ["worker.joined"]
    assert [w.id for w in await backend.list_workers(seen_since=0)] == ["w1"]
