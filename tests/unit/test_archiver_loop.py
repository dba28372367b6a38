"""The archiver's loop without PostgreSQL: which side a failure is blamed on, and the pause."""

import asyncio
import logging
from typing import Any

import pytest

from taskline.errors import BackendUnavailable
from taskline.history import archiver as archiver_module
from taskline.history.archiver import RETRY_FIRST_S, Archiver


class _Outbox:
    """A live backend whose outbox reads fail while `down`, else find nothing."""

    def __init__(self, down: list[bool]) -> None:
        self.down = down

    async def keep_history_on(self, ttl_s: float) -> None:
        pass

    async def read_archive(self, *, limit: int) -> list[Any]:
        if self.down.pop(0):
            raise BackendUnavailable("redis is down")
        return []


async def _run(archiver: Archiver, monkeypatch: pytest.MonkeyPatch, passes: int) -> list[float]:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == passes:
            raise asyncio.CancelledError

    monkeypatch.setattr(archiver_module.asyncio, "sleep", sleep)
    with pytest.raises(asyncio.CancelledError):
        await archiver.run()
    return pauses


async def test_a_live_backend_failure_is_not_blamed_on_postgresql(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    archiver = Archiver(_Outbox([True]), object(), idle_s=9)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="taskline.history"):
        await _run(archiver, monkeypatch, passes=1)
    (record,) = caplog.records
    assert "the live backend failed: redis is down" in record.getMessage()


async def test_the_pause_starts_afresh_after_a_pass_that_went_through(monkeypatch: pytest.MonkeyPatch) -> None:
    # Down twice (the pause grows), up with nothing to copy, then down again: the pause starts over.
    archiver = Archiver(_Outbox([True, True, False, True]), object(), idle_s=9)  # type: ignore[arg-type]
    pauses = await _run(archiver, monkeypatch, passes=4)
    assert pauses == [RETRY_FIRST_S, RETRY_FIRST_S * 2, 9, RETRY_FIRST_S]
