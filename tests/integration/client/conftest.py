"""Client targets: a live server on each backend over HTTP, and Redis spoken to directly.

For the direct target a server runs on the same Redis database too: tests use it to play
the worker (poll, complete, fail) and to check that both paths see the same tasks.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskline import Client
from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer
from tests.integration.api.conftest import _flush, _redis_db


@dataclass
class Target:
    url: str  # what the Client is given
    server: LiveServer  # the server over the same store, for the worker side of a test

    def worker(self, queue: str) -> dict[str, object]:
        """Lease the next task of `queue` over HTTP, as a worker would (it must be there)."""
        with self.server.client() as http:
            response = http.get("/api/v1/poll", params={"worker_id": "test-worker", "queues": queue, "wait": 10})
            assert response.status_code == 200, response.text
            (leased,) = response.json()["tasks"]
            return leased  # type: ignore[no-any-return]

    def finish(self, task_id: str, token: str, **body: object) -> None:
        """Complete (or, with `error`, fail) a leased task over HTTP."""
        action = "fail" if "error" in body else "complete"
        with self.server.client() as http:
            response = http.post(f"/api/v1/tasks/{task_id}/{action}", json={"token": token, **body})
            assert response.status_code == 200, response.text


@pytest.fixture(scope="module", params=["http-sqlite", "http-redis", "redis-direct"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    redis_url = None
    if request.param != "http-sqlite":
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        redis_url = f"redis://127.0.0.1:{redis_server.port}/{next(_redis_db) % 16}"
        _flush(redis_url)
    with live_server(Path(tmp_path_factory.mktemp("serve")), redis_url=redis_url) as server:
        yield Target(redis_url if request.param == "redis-direct" else server.url, server)  # type: ignore[arg-type]


@pytest.fixture
def client(target: Target) -> Iterator[Client]:
    with Client(target.url, timeout=30) as client:
        yield client


@pytest.fixture
def queue() -> str:
    return "q-" + uuid.uuid4().hex[:12]
