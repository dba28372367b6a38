"""PostgreSQL history fixtures: one real PostgreSQL per session (per xdist worker), emptied
before each test, and live backends with the archive outbox on."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.history.archiver import Archiver
from taskline.history.reader import HistoryReader
from taskline.history.store import HistoryStore
from tests.helpers.backends import open_test_backend
from tests.helpers.postgres import PostgresServer, running_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> str:
    """The session's PostgreSQL, without the history tables (each test starts from no schema)."""
    conn = await asyncpg.connect(postgres_server.url)
    try:
        await conn.execute("DROP TABLE IF EXISTS tasks, taskline_history_migrations")
    finally:
        await conn.close()
    return postgres_server.url


@pytest.fixture
def engine_config() -> EngineConfig:
    return EngineConfig(archive=True)


@pytest.fixture(params=["sqlite", "redis"])
async def archiving_backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, engine_config: EngineConfig
) -> AsyncIterator[Backend]:
    """Each live backend with history on (`engine_config` above)."""
    async for store in open_test_backend(request, tmp_path, clock, engine_config):
        yield store


@pytest.fixture
async def history_store(postgres_url: str) -> AsyncIterator[HistoryStore]:
    store = HistoryStore(postgres_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def archiver(archiving_backend: Backend, history_store: HistoryStore) -> Archiver:
    return Archiver(archiving_backend, history_store, batch=50)


@pytest.fixture
def history(history_store: HistoryStore) -> HistoryReader:
    return HistoryReader(history_store)
