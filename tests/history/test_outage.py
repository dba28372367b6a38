"""PostgreSQL stopped for 30 s while two `taskline serve --workers 2` processes on one Redis keep
running tasks, then started: every task that ended is archived exactly once (a row per id, its
final state), the API never waited on PostgreSQL meanwhile, and each server said so once."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve import taskline
from tests.helpers.live import live_server, wait_until
from tests.helpers.postgres import PostgresServer

OUTAGE_S = 30.0
# The history pool gives up connecting after 5 s (store.CONNECT_TIMEOUT_S): a request that
# waited on PostgreSQL would take that long. Far below it, nothing did.
FAST_S = 2.0
PAUSED = "archiving to PostgreSQL history paused"


def metric(http: httpx.Client, name: str) -> float:
    (line,) = [line for line in http.get("/metrics").text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def timed(latencies: list[float], call: Any) -> httpx.Response:
    started = time.perf_counter()
    response: httpx.Response = call()
    latencies.append(time.perf_counter() - started)
    return response


def submit_some(http: httpx.Client, latencies: list[float], n: int) -> list[str]:
    """One task of each ending: completed (echo), failed (an `http` task with no URL, no
    retries), cancelled (a delayed one, cancelled); and a live read of each."""
    ids = []
    for spec in (
        {"type": "echo", "payload": {"n": n}},
        {"type": "http", "payload": {}, "max_retries": 0},
        {"type": "echo", "delay": 3600},
    ):
        response = timed(latencies, lambda spec=spec: http.post("/api/v1/tasks", json=spec))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    cancel = timed(latencies, lambda: http.delete(f"/api/v1/tasks/{ids[2]}"))
    assert cancel.status_code == 200
    for task_id in ids:
        assert timed(latencies, lambda task_id=task_id: http.get(f"/api/v1/tasks/{task_id}")).status_code == 200
    return ids


def archived_rows(postgres: PostgresServer) -> list[tuple[str, str]]:
    out = postgres.psql("SELECT id, state FROM tasks")
    return [(row.split("|")[0], row.split("|")[1]) for row in out.splitlines()]


@pytest.mark.timeout(180)
def test_postgres_down_for_30_s_loses_and_slows_nothing(
    postgres_server: PostgresServer, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = {"postgres_url": postgres_url, "workers": "2"}
    for name in "ab":
        (tmp_path / name).mkdir()
    with (
        live_server(tmp_path / "a", redis_url=redis_url, **settings) as a,
        live_server(tmp_path / "b", redis_url=redis_url, **settings) as b,
        a.client() as ha,
        b.client() as hb,
    ):
        latencies: list[float] = []
        ids = submit_some(ha, latencies, 0)
        postgres_server.stop()
        try:
            ends = time.monotonic() + OUTAGE_S
            n = 1
            while time.monotonic() < ends:
                ids += submit_some(ha if n % 2 else hb, latencies, n)
                n += 1
                time.sleep(0.1)  # paces the producer over the outage; nothing waits on it
            waiting = metric(ha, "taskline_history_outbox_depth")
        finally:
            postgres_server.start()

        def drained() -> bool:
            states = ha.get("/api/v1/stats").json()["states"]
            ended = sum(states[s] for s in ("completed", "failed", "cancelled")) == len(ids)
            return ended and metric(ha, "taskline_history_outbox_depth") == 0

        wait_until(drained, timeout_s=60, what="every task ended and archived")
        final = {i: ha.get(f"/api/v1/tasks/{i}").json()["state"] for i in ids}
        listed = taskline("list", "--history", "--limit", "3", "--json", cwd=tmp_path, TASKLINE_SERVER=b.url)
        outputs = [a.output(), b.output()]

    rows = archived_rows(postgres_server)
    assert waiting > 0  # the ends did wait in the outbox
    assert sorted(row[0] for row in rows) == sorted(ids)  # every one, each once
    assert dict(rows) == final
    assert {"completed", "failed", "cancelled"} <= set(final.values())
    assert max(latencies) < FAST_S, f"slowest API call during the outage took {max(latencies):.2f} s"
    assert [output.count(PAUSED) for output in outputs] == [1, 1]  # once per outage, not per batch
    assert listed.returncode == 0, listed.stderr
    assert [t["id"] for t in json.loads(listed.stdout)] == sorted(ids, reverse=True)[:3]
