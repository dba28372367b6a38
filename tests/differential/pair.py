"""Two backends driven as one: each call runs on SQLite and on Redis, and what each answers is
turned into a form that does not depend on which backend gave it (ids named by their order of
creation, lease tokens by their order of issue), so the two can be compared with `==`."""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from taskline.backends.base import Backend
from taskline.backends.redis.backend import RedisBackend
from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.task import Lease, Submitted, Task, TaskPage
from taskline.errors import TasklineError
from taskline.wire import task_json

NAMES = ("sqlite", "redis")
CALL_TIMEOUT_S = 10.0


class HalfJitter(random.Random):
    """Backoff jitter fixed at one half: both backends draw it, maybe not equally often, and a
    draw must not be what tells them apart."""

    def random(self) -> float:
        return 0.5


@dataclass
class Ids:
    """Each backend's id of each task, by the task's name: "t0", "t1", … in order of creation."""

    by_name: dict[str, dict[str, str]] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=lambda: {name: {} for name in NAMES})

    def learn(self, ids: dict[str, str]) -> str:
        """The name of the task these ids belong to; a new name if neither backend's id is known."""
        known = {self.names[backend].get(task_id) for backend, task_id in ids.items()}
        if known == {None}:
            name = f"t{len(self.by_name)}"
            self.by_name[name] = dict(ids)
            for backend, task_id in ids.items():
                self.names[backend][task_id] = name
            return name
        # One backend knowing the task and the other not is a drift; the names show it.
        return "/".join(sorted(str(n) for n in known))

    def name(self, backend: str, task_id: str) -> str:
        return self.names[backend].get(task_id, f"unknown:{task_id}")


def shown(ids: Ids, backend: str, task: Task) -> dict[str, Any]:
    """The task as `GET /api/v1/tasks/{id}` shows it, its id replaced by its name."""
    return {**task_json(task), "id": ids.name(backend, task.id)}


Answer = tuple[str, Any]
"""("ok", what the call returned, made comparable) or ("error", the error's code)."""


class Pair:
    """A SQLite and a Redis backend on one FrozenClock, one event loop, one engine config."""

    def __init__(self, redis_url: str, directory: Path, config: EngineConfig) -> None:
        self.clock = FrozenClock()
        self.ids = Ids()
        self._runner = asyncio.Runner()
        flusher = redis.Redis.from_url(redis_url)
        flusher.flushall()
        flusher.close()
        self.backends: dict[str, Backend] = self._run(self._open(redis_url, directory, config))

    async def _open(self, redis_url: str, directory: Path, config: EngineConfig) -> dict[str, Backend]:
        sqlite = await SqliteBackend.open(directory / "taskline.db", config=config, clock=self.clock, rng=HalfJitter())
        redis_backend = await RedisBackend.connect(
            redis_url, config=config, clock=self.clock, rng=HalfJitter(), wake_ups=False
        )
        return {"sqlite": sqlite, "redis": redis_backend}

    def _run(self, step: Awaitable[Any]) -> Any:
        return self._runner.run(_as_coroutine(step))

    def close(self) -> None:
        for backend in self.backends.values():
            self._run(backend.close())
        self._runner.close()

    def call(self, operation: Callable[[str, Backend], Awaitable[Any]]) -> dict[str, Answer]:
        """`operation` on each backend (given the backend's name, to look ids up): what it
        returned, or the code of the TasklineError it raised."""
        answers: dict[str, Answer] = {}
        for name, backend in self.backends.items():
            try:
                answers[name] = ("ok", self._run(operation(name, backend)))
            except TasklineError as exc:
                answers[name] = ("error", exc.code)
        return answers

    def task_id(self, backend: str, name: str) -> str:
        return self.ids.by_name[name][backend]

    def every_task(self) -> dict[str, dict[str, Any] | None]:
        """Each backend's view of every task named so far: {backend: {name: json or None}}."""
        views: dict[str, Any] = {}
        for backend, store in self.backends.items():
            tasks = self._run(_get_all(store, [ids[backend] for ids in self.ids.by_name.values()]))
            views[backend] = {
                name: None if task is None else shown(self.ids, backend, task)
                for name, task in zip(self.ids.by_name, tasks, strict=True)
            }
        return views

    def run(self, step: Awaitable[Any]) -> Any:
        return self._run(step)


async def _get_all(store: Backend, ids: list[str]) -> list[Task | None]:
    return [await store.get(task_id) for task_id in ids]


async def _as_coroutine(step: Awaitable[Any]) -> Any:
    # Bounded, so a call that never answers fails the step that made it rather than the run.
    return await asyncio.wait_for(step, CALL_TIMEOUT_S)


def submitted(ids: Ids, backend: str, results: list[Submitted]) -> list[tuple[dict[str, Any], bool]]:
    return [(shown(ids, backend, result.task), result.created) for result in results]


def page(ids: Ids, backend: str, tasks: TaskPage) -> list[dict[str, Any]]:
    return [shown(ids, backend, task) for task in tasks.tasks]


def leases(ids: Ids, backend: str, taken: list[Lease]) -> list[tuple[dict[str, Any], float]]:
    return [(shown(ids, backend, lease.task), lease.expires_at) for lease in taken]
