"""History outside `taskline serve`: a client straight on Redis reads it (its fallback and
listing), and a worker process does not need it (nor asyncpg) to end tasks."""

import pytest

from taskline.client.local import LocalEngine
from taskline.config import Settings
from taskline.core.states import TaskState
from taskline.core.task import TaskFilter
from taskline.history import store as store_module
from taskline.history.archiver import Archiver
from taskline.server import Server


async def test_a_client_on_redis_reads_history_like_the_api(redis_url: str, postgres_url: str) -> None:
    engine = LocalEngine(redis_url, settings=Settings(postgres_url=postgres_url))  # type: ignore[arg-type]
    try:
        task = await engine.submit({"type": "t", "max_retries": 0}, None)
        service = await engine._open()
        assert service.history_store is not None
        (lease,) = await service.backend.lease(worker_id="w1", types=["t"])
        await service.backend.fail(task.id, lease.token, error="boom")
        assert await Archiver(service.backend, service.history_store).archive_once() == 1
        assert await engine.dlq_delete() == 1  # gone from the live backend, kept in history

        found = await engine.get(task.id)
        page = await engine.list_tasks(TaskFilter(state=TaskState.FAILED), 10, None, "history")
    finally:
        await engine.close()
    assert (found.id, found.state) == (task.id, TaskState.FAILED)
    assert [t.id for t in page.tasks] == [task.id]


async def test_a_worker_process_ends_tasks_without_history_or_asyncpg(
    redis_url: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise RuntimeError("asyncpg is not installed")

    monkeypatch.setattr(store_module, "_asyncpg", missing)
    settings = Settings(redis_url=redis_url, postgres_url=postgres_url, workers=0)  # type: ignore[arg-type]
    async with Server(settings, api=False) as server:
        assert server.service.history is None
        assert server.archiver is None
