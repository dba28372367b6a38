"""No secret in the logs or in `taskline config`: a server with every secret set (API keys, a
Redis password, a PostgreSQL password, the SMTP password, the webhook secret) logging at
debug (uvicorn's access log on), called with keys in headers, in `?api_key=` and on `/ws`,
right and wrong, and a worker over HTTP with its key; then every line they wrote is searched
for every secret, and so is what `taskline config` prints with the same settings."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from websockets.exceptions import InvalidStatus

from tests.e2e.test_serve import taskline
from tests.helpers.live import LiveServer, live_server, wait_until, worker_process
from tests.helpers.postgres import PostgresServer, running_postgres
from tests.helpers.servers import RedisServer, running_redis
from tests.integration.api.events_ws import listen

ADMIN_KEY = "sekrit-admin-key-0001"
WORKER_KEY = "sekrit-worker-key-0002"
WRONG_KEY = "sekrit-wrong-key-0003"  # a caller's typo of a real key is as secret as the key
REDIS_PASSWORD = "sekrit-redis-pass"
PG_PASSWORD = "sekrit-pg-pass"
SMTP_PASSWORD = "sekrit-smtp-pass"
WEBHOOK_SECRET = "sekrit-webhook-secret"
SECRETS = [ADMIN_KEY, WORKER_KEY, WRONG_KEY, REDIS_PASSWORD, PG_PASSWORD, SMTP_PASSWORD, WEBHOOK_SECRET]


@pytest.fixture(scope="module")
def guarded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        redis.Redis(port=server.port).config_set("requirepass", REDIS_PASSWORD)
        yield server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def settings(redis_server: RedisServer, postgres: PostgresServer) -> dict[str, str]:
    return {
        "api_keys": f"{ADMIN_KEY}:admin,{WORKER_KEY}:worker",
        "redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis_server.port}/0?password={REDIS_PASSWORD}",
        "postgres_url": f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{postgres.port}/postgres",
        "smtp_host": "127.0.0.1",
        "smtp_user": "taskline",
        "smtp_password": SMTP_PASSWORD,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_allow_private": "true",  # so the webhook below is signed and sent (to a closed port)
        "log_level": "debug",
    }


def use_every_way_to_present_a_key(live: LiveServer) -> None:
    with live.client(ADMIN_KEY) as admin, live.client() as anonymous:
        task = admin.post("/api/v1/tasks", json={"type": "echo", "queue": "secrets", "webhook": "http://127.0.0.1:9/h"})
        assert task.status_code == 201
        assert anonymous.get("/api/v1/stats", headers={"X-API-Key": ADMIN_KEY}).status_code == 200
        assert anonymous.get("/api/v1/stats", params={"api_key": ADMIN_KEY}).status_code == 401  # not a header
        assert anonymous.get("/api/v1/stats", headers={"Authorization": f"Bearer {WRONG_KEY}"}).status_code == 401
        assert anonymous.get("/admin/dlq", headers={"X-API-Key": WORKER_KEY}).status_code == 403
        with listen(live, api_key=WORKER_KEY):
            pass
        with pytest.raises(InvalidStatus), listen(live, api_key=WRONG_KEY):
            pass
        with listen(live, headers={"Authorization": f"Bearer {ADMIN_KEY}"}):
            pass
        wait_until(lambda: admin.get(f"/api/v1/tasks/{task.json()['id']}").json()["state"] == "completed")


def test_no_secret_reaches_a_log_line(guarded_redis: RedisServer, postgres: PostgresServer, tmp_path: Path) -> None:
    env = settings(guarded_redis, postgres)
    redis_url = env.pop("redis_url")
    with live_server(tmp_path, redis_url=redis_url, **env) as live:
        with worker_process(
            tmp_path, "--queues", "secrets", server=live.url, api_key=WORKER_KEY, log_level="debug"
        ) as worker:
            use_every_way_to_present_a_key(live)
        logs = {"serve": live.output(), "worker": worker.output()}

    assert "GET /api/v1/stats" in logs["serve"]  # the access log was on: the lines were written
    assert "api_key=***" in logs["serve"]
    for name, text in logs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} in the {name} log"


def test_no_secret_in_taskline_config(guarded_redis: RedisServer, postgres: PostgresServer, tmp_path: Path) -> None:
    env = {f"TASKLINE_{name.upper()}": value for name, value in settings(guarded_redis, postgres).items()}

    run = taskline("config", cwd=tmp_path, **env, TASKLINE_API_KEY=ADMIN_KEY)

    assert run.returncode == 0, run.stderr
    assert "***" in run.stdout
    for secret in SECRETS:
        assert secret not in run.stdout + run.stderr
