"""Fixtures for the SQLite backend's own tests: a real database file in tmp_path."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "taskline.db"


@pytest.fixture
async def sqlite_backend(
    db_path: Path, clock: FrozenClock, engine_config: EngineConfig
) -> AsyncIterator[SqliteBackend]:
    backend = await SqliteBackend.open(db_path, config=engine_config, clock=clock)
    try:
        yield backend
    finally:
        await backend.close()
