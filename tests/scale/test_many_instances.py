"""Many processes on one Redis: two `taskline serve` instances and three `taskline worker`
processes (two over HTTP, one to each API, and one straight on Redis) run 20,000 tasks
submitted through both APIs, each exactly once; both APIs' counts, events and metrics agree."""

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.helpers.live import LiveServer, live_server, wait_until, worker_process
from tests.helpers.servers import running_redis

TASKS = 20_000
# Submitted in rounds of one bulk request to each API, the next round once both sockets heard the
# last one out: a round's 1,000 task.completed fit a subscriber's buffer (1,000) and its 3,000
# events the Redis stream's (~10,000), so no listener can be told `lagged`, however fast or slow
# this machine is. Unpaced, a hub busy serving leases fell behind the stream and lagged.
BATCH = 500
QUEUE = "scale"

# Each worker process appends the id of every task its handler runs to its own file: the
# handlers' side of "exactly once", told apart from what the server records.
MODULE = """
import os

from taskline.worker.app import App, TaskContext

app = App()
_record = open(os.environ["SCALE_RECORD"], "a", buffering=1)


@app.task("note")
async def note(payload: object, ctx: TaskContext) -> None:
    _record.write(ctx.id + "\\n")
"""


class CompletedListener:
    """Counts task.completed per task id from a `/ws` socket, read on its own thread so it never
    falls behind."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids: Counter[str] = Counter()
        self.lagged = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.socket:
                message = json.loads(raw)
                if message["event"] == "task.completed":
                    self.ids[message["task"]["id"]] += 1
                elif message["event"] == "lagged":
                    self.lagged += 1
        except ConnectionClosed:
            pass

    def seen(self) -> int:
        return sum(self.ids.values())


@contextmanager
def completed_listener(server: LiveServer) -> Iterator[CompletedListener]:
    url = f"ws://127.0.0.1:{server.port}/ws?events=task.completed&queue={QUEUE}"
    with connect(url, proxy=None, open_timeout=10, ping_interval=None) as socket:
        listener = CompletedListener(socket)
        try:
            yield listener
        finally:
            socket.close()
            listener.thread.join(timeout=10)


def submit(http: httpx.Client, numbers: range) -> list[str]:
    specs = [{"type": "note", "queue": QUEUE, "payload": {"n": n}} for n in numbers]
    response = http.post("/api/v1/tasks/bulk", json=specs)
    assert response.status_code == 201, response.text
    return [t["id"] for t in response.json()["tasks"]]


def stats(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/api/v1/stats")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def completed_total(http: httpx.Client) -> float:
    text = http.get("/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("taskline_tasks_completed_total{") and f'queue="{QUEUE}"' in line
    )


def all_tasks(http: httpx.Client) -> list[dict[str, Any]]:
    """Every task in the queue, through the cursor."""
    tasks: list[dict[str, Any]] = []
    params: dict[str, Any] = {"queue": QUEUE, "limit": 500}
    while True:
        page = http.get("/api/v1/tasks", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        tasks += body["tasks"]
        if not body.get("next_cursor"):
            return tasks
        params["cursor"] = body["next_cursor"]


def test_two_apis_and_three_workers_complete_every_task_once(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "scale_tasks.py").write_text(MODULE)
    records = [tmp_path / f"record-{n}.txt" for n in range(3)]
    for name in ("redis", "a", "b"):
        (tmp_path / name).mkdir()

    with ExitStack() as stack:
        redis = stack.enter_context(running_redis(tmp_path / "redis"))
        first = stack.enter_context(live_server(tmp_path / "a", redis_url=redis.url))
        second = stack.enter_context(live_server(tmp_path / "b", redis_url=redis.url))
        a, b = stack.enter_context(first.client(timeout=60)), stack.enter_context(second.client(timeout=60))
        listeners = [stack.enter_context(completed_listener(s)) for s in (first, second)]

        def worker(record: Path, **where: str) -> None:
            environ = {"PYTHONPATH": str(modules), "SCALE_RECORD": str(record)}
            stack.enter_context(worker_process(tmp_path, "scale_tasks", "--queues", QUEUE, environ=environ, **where))

        worker(records[0], server=first.url)
        worker(records[1], server=second.url)
        worker(records[2], redis_url=redis.url)

        submitted: list[str] = []
        for start in range(0, TASKS, 2 * BATCH):
            submitted += submit(a, range(start, start + BATCH))
            submitted += submit(b, range(start + BATCH, start + 2 * BATCH))
            heard = len(submitted)
            wait_until(
                lambda heard=heard: all(x.seen() >= heard or x.lagged for x in listeners),
                timeout_s=60,
                what="the round's task.completed events on both sockets",
            )
        assert len(set(submitted)) == TASKS
        wait_until(lambda: stats(a)["states"]["completed"] == TASKS, timeout_s=60, what="the count to catch up")
        finished_a, finished_b = stats(a), stats(b)
        metrics = (completed_total(a), completed_total(b))
        tasks = all_tasks(b)

    # The handlers' side: every id ran once, and only those submitted.
    ran = Counter(line for record in records for line in record.read_text().split())
    assert set(ran) == set(submitted)
    assert [t for t, n in ran.items() if n > 1] == []
    assert all(record.read_text() for record in records), "every worker process took a share"

    # The server's side: every task completed on its first attempt, each listed once.
    assert sorted(t["id"] for t in tasks) == sorted(submitted)
    assert {(t["state"], t["attempts"]) for t in tasks} == {("completed", 1)}

    # Both APIs tell the same story: counts, events and metrics.
    assert finished_a == finished_b
    assert finished_a["states"]["completed"] == TASKS == finished_a["total"]
    for listener in listeners:
        assert listener.lagged == 0
        assert set(listener.ids) == set(submitted)
        assert max(listener.ids.values()) == 1
    assert metrics == (TASKS, TASKS)
