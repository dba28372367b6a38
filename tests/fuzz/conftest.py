"""Fixtures for the fuzz tests: a real `taskline serve` per backend with API keys on, and
how many cases to generate (`TASKLINE_FUZZ_SCALE` times each default: 1 in `make test`, more in
`make test-fuzz`)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import running_redis

ADMIN_KEY = "fuzz-admin-key"
# One key per role (SPEC §4), so the fuzzers send requests as each role and as nobody.
ROLE_KEYS = {"admin": ADMIN_KEY, "producer": "fuzz-producer-key", "worker": "fuzz-worker-key"}
API_KEYS = ",".join(f"{key}:{role}" for role, key in ROLE_KEYS.items())


def fuzz_examples(default: int) -> int:
    """Cases per fuzzed target: `TASKLINE_FUZZ_SCALE` scales every target's default
    (`make test-fuzz` sets it; `make test` runs the defaults)."""
    scale = float(os.environ.get("TASKLINE_FUZZ_SCALE", "1"))
    return max(1, round(default * scale))


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with keys on, its own redis-server on Redis (nothing else flushes it while a
    module fuzzes it); a module's tests share it, as clients share a server."""
    workdir = Path(tmp_path_factory.mktemp("fuzz"))
    settings = {"api_keys": API_KEYS, "webhook_allow_private": "false"}
    if request.param == "redis":
        with running_redis(workdir) as store, live_server(workdir, redis_url=store.url, **settings) as live:
            yield live
    else:
        with live_server(workdir, **settings) as live:
            yield live
