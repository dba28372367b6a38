"""Workers through a Redis outage (SPEC §4 last bullet, §8): a worker over HTTP and a worker
straight on Redis keep trying while Redis is black-holed (SIGSTOP) and while it is stopped and
started again (appendonly, fsync always), reconnect by themselves, and every task acknowledged
with 2xx ends completed; `/health` answers 200 again without anyone restarting anything."""

import os
import signal
import time
from pathlib import Path

import httpx

from taskline.backends.redis.connecting import COMMAND_TIMEOUT_S
from tests.helpers import http_seed
from tests.helpers.live import live_server, wait_until, worker_process
from tests.helpers.servers import running_redis

APP = "tests.integration.worker.tasks_app:app"
QUEUE = "outage"
LEASE_S = "3"  # a result lost to the outage comes back by lease expiry: soon, here


def submit_some(http: httpx.Client, acknowledged: list[str], count: int) -> None:
    for n in range(count):
        acknowledged.append(http_seed.submit(http, "add", {"a": n, "b": 1}, queue=QUEUE)["id"])


def all_completed(http: httpx.Client, ids: list[str]) -> bool:
    return all(http_seed.task(http, task_id)["state"] == "completed" for task_id in ids)


def test_workers_carry_on_after_redis_is_black_holed_and_restarted(tmp_path: Path) -> None:
    acknowledged: list[str] = []
    with (
        running_redis(tmp_path, appendonly=True, fsync="always") as store,
        live_server(tmp_path, redis_url=store.url, lease_seconds=LEASE_S) as server,
        server.client(timeout=30) as http,
        worker_process(tmp_path, APP, "--queues", QUEUE, server=server.url) as over_http,
        worker_process(tmp_path, APP, "--queues", QUEUE, redis_url=store.url, lease_seconds=LEASE_S) as on_redis,
    ):
        assert store.process is not None
        # Tasks in flight as Redis goes: leases, results and heartbeats meet the outage.
        submit_some(http, acknowledged, 20)
        os.kill(store.process.pid, signal.SIGSTOP)  # connections hang: every wait ends by its timeout
        try:
            refused = http.post("/api/v1/tasks", json={"type": "add", "payload": {"a": 0, "b": 0}, "queue": QUEUE})
            assert refused.status_code == 503, refused.text  # not acknowledged: not expected to run
            time.sleep(COMMAND_TIMEOUT_S + 1)  # the fault's length, not a wait for anything
        finally:
            os.kill(store.process.pid, signal.SIGCONT)
        wait_until(lambda: http.get("/health").status_code == 200, what="/health to recover by itself")
        wait_until(lambda: all_completed(http, acknowledged), timeout_s=60, what="tasks across the black hole")

        submit_some(http, acknowledged, 20)
        store.stop()  # SIGTERM: the append-only file has every acknowledged write (fsync always)
        assert http.get("/health").status_code == 503
        store.start()  # same port and directory: the data is back
        wait_until(lambda: http.get("/health").status_code == 200, what="/health to recover by itself")
        submit_some(http, acknowledged, 5)
        wait_until(lambda: all_completed(http, acknowledged), timeout_s=60, what="tasks across the restart")

        for worker in (over_http, on_redis):
            assert worker.process.poll() is None, worker.output()  # outlived both outages
            assert "Traceback" not in worker.output(), worker.output()
        assert "Traceback" not in server.output(), server.output()
