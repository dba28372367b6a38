"""`AsyncClient.events()` over `/ws` on each backend and straight on Redis: a task's life, the
queue filter, and riding out a server restart (a `Lagged` where the log was in memory, an
exact resume where Redis kept it)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

from taskline import AsyncClient
from taskline.client import Event
from taskline.events.types import Lagged
from tests.helpers.live import LiveServer, live_server, stop
from tests.helpers.servers import free_port
from tests.integration.client.conftest import Target
from tests.integration.client.event_reader import Item, listening, reading

LIFE = ["task.created", "task.started", "task.completed"]


async def test_events_follow_a_task_through_its_life(target: Target, queue: str) -> None:
    async with AsyncClient(target.url) as client, reading(client, queue=queue) as reader:
        await listening(reader, client, queue)
        task = await client.submit("echo", {"secret": 1}, queue=queue)
        leased = await asyncio.to_thread(target.worker, queue)
        await asyncio.to_thread(target.finish, task.id, leased["lease"]["token"], result={"ok": True})  # type: ignore[index]

        await reader.until(lambda _: reader.of(task.id)[-1:] == ["task.completed"])

    assert reader.of(task.id) == LIFE
    (completed,) = [i for i in reader.items if isinstance(i, Event) and i.name == "task.completed"]
    assert completed.task is not None
    assert (completed.task.queue, completed.task.attempts) == (queue, 1)
    assert completed.task.payload == {}  # events carry a summary: no payload, no result
    assert completed.task.result is None


async def test_a_queue_filter_leaves_out_other_queues(target: Target, queue: str) -> None:
    other = queue + "-other"
    async with (
        AsyncClient(target.url) as client,
        reading(client, queue=queue) as mine,
        reading(client) as everything,
    ):
        await listening(mine, client, queue)
        await listening(everything, client, queue)
        elsewhere = await client.submit("echo", queue=other)
        here = await client.submit("echo", queue=queue)
        await everything.until(lambda _: "task.created" in everything.of(elsewhere.id))
        await mine.until(lambda _: "task.created" in mine.of(here.id))

    assert mine.of(elsewhere.id) == []
    assert {i.task.queue for i in mine.items if isinstance(i, Event) and i.task} == {queue}
    assert not any(isinstance(i, Event) and i.worker is not None for i in mine.items)  # no worker events either


async def test_after_a_restart_on_sqlite_it_reconnects_and_says_it_lagged(tmp_path: Path) -> None:
    port = free_port()
    queue = "restart"
    with live_server(tmp_path, port=port) as server:
        async with AsyncClient(server.url) as client, reading(client, queue=queue) as reader:
            await listening(reader, client, queue)
            before = await client.submit("echo", queue=queue)
            await reader.until(lambda _: "task.created" in reader.of(before.id))
            server_gone(server)
            async with restarted(tmp_path, port=port):  # the same database, on the same address
                # The events log was in memory: the resume from the last id finds it gone.
                await reader.until(lambda items: isinstance(items[-1], Lagged), timeout_s=60)
                after = await client.submit("echo", queue=queue)
                await reader.until(lambda _: "task.created" in reader.of(after.id))

    lagged_at = next(n for n, i in enumerate(reader.items) if isinstance(i, Lagged))
    assert reader.items.index(_created(reader.items, before.id)) < lagged_at
    assert reader.items.index(_created(reader.items, after.id)) > lagged_at


async def test_after_a_restart_on_redis_it_resumes_with_exactly_what_it_missed(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    queue = "restart"
    with live_server(tmp_path, redis_url=redis_url, port=port) as server:
        async with (
            AsyncClient(server.url) as client,
            AsyncClient(redis_url) as direct,
            reading(client, queue=queue) as reader,
        ):
            await listening(reader, client, queue)
            before = await client.submit("echo", queue=queue)
            await reader.until(lambda _: "task.created" in reader.of(before.id))
            server_gone(server)
            # Submitted straight on Redis while no server is there to stream them.
            missed = [await direct.submit("echo", queue=queue) for _ in range(3)]
            async with restarted(tmp_path, redis_url=redis_url, port=port):
                after = await client.submit("echo", queue=queue)
                await reader.until(lambda _: "task.created" in reader.of(after.id), timeout_s=60)

    assert not any(isinstance(i, Lagged) for i in reader.items)
    ids = [i.id for i in reader.items if isinstance(i, Event)]
    assert [n for n, c in Counter(ids).items() if c > 1] == []  # no event twice
    since_before = reader.items[reader.items.index(_created(reader.items, before.id)) + 1 :]
    assert [(i.name, i.task.id) for i in since_before if isinstance(i, Event) and i.task] == [
        ("task.created", t.id) for t in [*missed, after]
    ]


@asynccontextmanager
async def restarted(workdir: Path, *, port: int, redis_url: str | None = None) -> AsyncIterator[None]:
    """A live server started off the event loop, so the client's reconnects go on meanwhile."""
    with ExitStack() as stack:
        await asyncio.to_thread(stack.enter_context, live_server(workdir, redis_url=redis_url, port=port))
        yield
        await asyncio.to_thread(stack.close)


def server_gone(server: LiveServer) -> None:
    """Stop a live server now (its context exits later, finding it stopped)."""
    stop(server.process)


def _created(items: list[Item], task_id: str) -> Item:
    return next(
        i for i in items if isinstance(i, Event) and i.name == "task.created" and i.task and i.task.id == task_id
    )
