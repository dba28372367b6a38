"""`taskline.Client` and `AsyncClient` against a live server on each backend, and straight on Redis:
the same calls give the same typed results and raise the same `taskline.errors`."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

import taskline
from taskline import AsyncClient, Client
from taskline.client import Stats, WaitTimeout
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.errors import (
    BackendUnavailable,
    IdempotencyConflict,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from tests.helpers.servers import free_port
from tests.integration.client.conftest import Target


def test_submit_returns_a_typed_task_that_get_reads_back(client: Client, queue: str) -> None:
    at = datetime.now(UTC) + timedelta(hours=1)

    task = client.submit("echo", {"to": "x"}, queue=queue, priority="high", metadata={"m": 1}, max_retries=5)
    later = client.submit("echo", queue=queue, scheduled_at=at)

    assert isinstance(task, Task)
    assert (task.state, task.priority, task.payload, task.max_retries) == (TaskState.PENDING, 2, {"to": "x"}, 5)
    assert task.metadata == {"m": 1}
    assert client.get(task.id) == task
    assert (later.state, later.payload) == (TaskState.SCHEDULED, {})
    assert later.scheduled_at == pytest.approx(at.timestamp(), abs=0.001)


def test_both_paths_see_the_same_tasks(client: Client, target: Target, queue: str) -> None:
    task = client.submit("echo", queue=queue)

    with target.server.client() as http:
        assert http.get(f"/api/v1/tasks/{task.id}").json()["state"] == "pending"


def test_errors_are_the_classes_of_taskline_errors(client: Client, queue: str) -> None:
    task = client.submit("echo", queue=queue)
    client.cancel(task.id)

    with pytest.raises(NotFound):
        client.get(str(uuid.uuid4()))
    with pytest.raises(InvalidTransition) as cancelled_twice:
        client.cancel(task.id)
    with pytest.raises(ValidationFailed) as invalid:
        client.submit("not a type", queue=queue, priority=7)

    assert cancelled_twice.value.code == "invalid_state"
    assert {d["field"] for d in invalid.value.details} == {"type", "priority"}
    assert [t.id for t in client.list(queue=queue)] == [task.id]  # the invalid submit stored nothing


def test_idempotency_key(client: Client, queue: str) -> None:
    first = client.submit("echo", {"n": 1}, queue=queue, idempotency_key="req-1")
    again = client.submit("echo", {"n": 1}, queue=queue, idempotency_key="req-1")

    assert again.id == first.id
    with pytest.raises(IdempotencyConflict):
        client.submit("echo", {"n": 2}, queue=queue, idempotency_key="req-1")


def test_submit_many_and_list_follow_the_cursor(client: Client, queue: str) -> None:
    tasks = client.submit_many([{"type": "echo", "queue": queue, "payload": i} for i in range(7)])

    listed = list(client.list(queue=queue, page_size=2))
    first_three = list(client.list(queue=queue, page_size=2, limit=3))

    assert [t.payload for t in tasks] == list(range(7))
    assert [t.id for t in listed] == [t.id for t in tasks][::-1]
    assert [t.id for t in first_three] == [t.id for t in tasks][::-1][:3]
    assert list(client.list(queue=queue, state="completed")) == []
    with pytest.raises(ValidationFailed):
        list(client.list(state="sleeping"))


def test_wait_returns_the_task_once_a_worker_finished_it(client: Client, target: Target, queue: str) -> None:
    task = client.submit("echo", {"x": 1}, queue=queue)

    def work() -> None:
        leased = target.worker(queue)
        target.finish(str(leased["id"]), leased["lease"]["token"], result={"ok": True})  # type: ignore[index]

    worker = threading.Thread(target=work)
    worker.start()
    done = client.wait(task.id, timeout=30)
    worker.join()

    assert (done.state, done.result, done.attempts) == (TaskState.COMPLETED, {"ok": True}, 1)


def test_wait_gives_up_with_a_timeout_error(client: Client, queue: str) -> None:
    task = client.submit("echo", queue=queue)

    with pytest.raises(TimeoutError) as timed_out:
        client.wait(task.id, timeout=0.1)

    assert isinstance(timed_out.value, WaitTimeout)
    assert timed_out.value.task.state == TaskState.PENDING


def test_retry_with_a_new_payload(client: Client, queue: str) -> None:
    task = client.submit("echo", {"v": 1}, queue=queue)
    client.cancel(task.id)

    retried = client.retry(task.id, payload={"v": 2})
    kept = client.retry(client.cancel(retried.id).id)

    assert (retried.state, retried.payload) == (TaskState.PENDING, {"v": 2})
    assert kept.payload == {"v": 2}


def test_stats_and_queue_admin(client: Client, queue: str) -> None:
    client.submit_many([{"type": "echo", "queue": queue, "priority": p} for p in ("low", "low", "critical")])
    client.pause_queue(queue)

    stats = client.stats()
    (paused,) = [q for q in client.queues() if q.name == queue]
    purged_low = client.purge(queue, priority="low")
    client.resume_queue(queue)
    (resumed,) = [q for q in client.queues() if q.name == queue]

    assert isinstance(stats, Stats)
    assert set(stats.states) == set(TaskState)
    assert stats.total == sum(stats.states.values())
    assert (paused.paused, paused.pending) == (True, [2, 0, 0, 1])
    assert purged_low == 2
    assert (resumed.paused, resumed.pending) == (False, [0, 0, 0, 1])


def test_the_dead_letter_queue(client: Client, target: Target, queue: str) -> None:
    client.dlq_clear()  # the DLQ spans queues, and tests share the server
    task = client.submit("echo", queue=queue, max_retries=0)
    leased = target.worker(queue)
    target.finish(task.id, leased["lease"]["token"], error="boom")  # type: ignore[index]

    assert [t.id for t in client.dlq()] == [task.id]
    assert client.dlq_retry([task.id, str(uuid.uuid4())]) == 1
    assert client.get(task.id).state == TaskState.PENDING
    assert client.dlq_retry() == 0
    assert client.dlq_clear() == 0


async def test_the_async_client_is_the_same_client(target: Target, queue: str) -> None:
    async with AsyncClient(target.url) as client:
        task = await client.submit("echo", [1, 2], queue=queue)
        listed = [t.id async for t in client.list(queue=queue)]
        got = await client.get(task.id)
        with pytest.raises(NotFound):
            await client.cancel(str(uuid.uuid4()))

    assert listed == [task.id]
    assert got == task


async def test_the_blocking_client_works_inside_a_running_event_loop(target: Target, queue: str) -> None:
    with Client(target.url) as client:
        assert client.get(client.submit("echo", queue=queue).id).queue == queue


def test_a_closed_client_says_so(target: Target) -> None:
    client = Client(target.url)
    client.close()
    client.close()  # twice is fine

    with pytest.raises(RuntimeError, match="closed"):
        client.stats()


def test_it_is_the_public_client() -> None:
    assert taskline.Client is Client
    assert taskline.AsyncClient is AsyncClient


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        Client("ftp://example.com")


def test_an_unreachable_server_is_backend_unavailable() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", retries=0) as client, pytest.raises(BackendUnavailable):
        client.stats()
