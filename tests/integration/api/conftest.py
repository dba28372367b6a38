"""Live-server fixtures for the HTTP tests: each backend behind a real `taskline serve`."""

import itertools
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer

_redis_db = itertools.count(1)  # each server process on Redis gets a database of its own


class StartServer(Protocol):
    def __call__(self, **env: str) -> AbstractContextManager[LiveServer]: ...


@pytest.fixture(params=["sqlite", "redis"])
def start_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StartServer:
    """Starts servers on the parametrized backend with extra `TASKLINE_*` settings."""

    def start(**env: str) -> AbstractContextManager[LiveServer]:
        redis_url = None
        if request.param == "redis":
            server: RedisServer = request.getfixturevalue("redis_server")
            redis_url = f"redis://127.0.0.1:{server.port}/{next(_redis_db) % 16}"
            _flush(redis_url)
        return live_server(Path(tmp_path_factory.mktemp("serve")), redis_url=redis_url, **env)

    return start


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One default-configured server per backend, shared by a test module."""
    redis_url = None
    if request.param == "redis":
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        redis_url = f"redis://127.0.0.1:{redis_server.port}/{next(_redis_db) % 16}"
        _flush(redis_url)
    with live_server(Path(tmp_path_factory.mktemp("serve")), redis_url=redis_url) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def queue() -> str:
    """A queue of this test's own, so tests sharing a server do not see each other's tasks."""
    return "q-" + uuid.uuid4().hex[:12]
