"""The composition root: parts start in order, stop in reverse, each finishing before the next
is asked; a part without `stop` is cancelled; a backend the server opened is closed."""

import asyncio
from pathlib import Path

from taskline.backends.base import Backend
from taskline.config import Settings
from taskline.server import Part, Server
from taskline.service import TaskService


class Recorded(Server):
    def __init__(self, settings: Settings, events: list[str]) -> None:
        super().__init__(settings)
        self.events = events
        self.both_run = asyncio.Barrier(3)  # the two parts and the test

    def parts(self, backend: Backend, service: TaskService) -> list[Part]:
        return [self._cancelled("first"), self._stoppable("second"), *super().parts(backend, service)]

    def _cancelled(self, name: str) -> Part:
        async def run() -> None:
            self.events.append(f"{name} runs")
            await self.both_run.wait()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.events.append(f"{name} cancelled")
                raise

        return Part(name, run)

    def _stoppable(self, name: str) -> Part:
        stopping = asyncio.Event()

        async def run() -> None:
            self.events.append(f"{name} runs")
            await self.both_run.wait()
            await stopping.wait()
            self.events.append(f"{name} stopped")

        return Part(name, run, stopping.set)


async def test_parts_stop_in_reverse_and_the_backend_closes(tmp_path: Path) -> None:
    events: list[str] = []
    settings = Settings(sqlite_path=str(tmp_path / "taskline.db"), workers=1)
    async with Recorded(settings, events) as server:
        service = server.service
        assert await service.ping()
        await asyncio.wait_for(server.both_run.wait(), 10)
        assert events == ["first runs", "second runs"]

    assert events[2:] == ["second stopped", "first cancelled"]
    assert not await service.ping()  # closed with the server
