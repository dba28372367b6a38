"""One batch shared by workers in three languages on one live server: the Python worker
(`taskline worker`), and the TypeScript and Go worker examples as their READMEs print them
(clients/typescript/examples/worker.mjs with the package built, clients/go/examples/worker).

With all three registered, one bulk of `hello` tasks is submitted: every task completes exactly
once (one attempt, one `task.completed` event) and each language completes some. That last part
is made certain, not likely (the handlers are instant, so one worker could drain the batch before
another's poll returns): each worker reaches the server through a proxy of its own that, once
its worker has leased tasks, holds that worker's every further request until all three have
leased some. A machine without Node or Go fails here rather than skipping (`make clients-deps`).
"""

import asyncio
import json
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect

from tests.helpers.examples import example_worker, registered
from tests.helpers.golang import build_examples
from tests.helpers.live import REPO_ROOT, LiveServer, live_server
from tests.helpers.node import TS_CLIENT, built_package, node_env, node_executable
from tests.helpers.servers import free_port

KEYS = {"admin": "shared-admin-key", "worker": "shared-worker-key"}
LANGUAGES = ("python", "typescript", "go")
# Larger than what two workers can lease before the gate holds them (one poll each: at most their
# concurrency, 4 and 10 here, and never past a poll's 100), so tasks are left for the third.
BATCH = 300
PYTHON_WORKER = ("tests.clients.hello", "--concurrency", "4")


@pytest.fixture(scope="module")
def typescript_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's worker example beside the package it imports, built for this test alone."""
    app = built_package(tmp_path_factory.mktemp("typescript") / "app")
    shutil.copy(TS_CLIENT / "examples" / "worker.mjs", app)
    return app


@pytest.fixture(scope="module")
def go_worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go example built into a binary (as test_go.py builds it), so the process the test
    signals is the worker itself: `go run` would put a compiling parent in between."""
    return build_examples(tmp_path_factory.mktemp("go"))["worker"]


class LeaseGate:
    """A reverse proxy to `target` per worker (`urls[name]`). Once a worker has leased tasks (a
    poll or an outcome report that brought some), its proxy holds each further request of that
    worker until every worker has leased some; from then on everything passes. A worker that
    leased first cannot drain the batch while another's poll is on its way: each language is
    certain to get tasks, whatever the timing."""

    _DROP = frozenset({"host", "content-length", "transfer-encoding", "connection", "content-encoding"})

    def __init__(self, target: str, names: tuple[str, ...]) -> None:
        self.target = target
        self.names = names
        self.ports = {name: free_port() for name in names}
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.leased: set[str] = set()
        self.held = 0  # requests that waited at the gate (for a failure's message)
        self._loop = asyncio.new_event_loop()
        self._all_leased = asyncio.Event()
        self._servers: list[uvicorn.Server] = []
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)

    @contextmanager
    def running(self) -> Iterator["LeaseGate"]:
        self._thread.start()
        try:
            while not (len(self._servers) == len(self.names) and all(s.started for s in self._servers)):
                assert self._thread.is_alive(), "the lease gate's proxies did not start"
                time.sleep(0.01)  # paces the asking; `started`, not the sleep, is what is waited for
            yield self
        finally:
            for server in self._servers:
                server.should_exit = True
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "the lease gate's proxies did not stop"
            # Closed here, not left to the collector: an unclosed loop's self-pipe sockets are a
            # ResourceWarning that fails whichever test happens to be running when it is collected.
            self._loop.close()

    async def _serve(self) -> None:
        async with httpx.AsyncClient(base_url=self.target, timeout=None) as http:
            for name in self.names:
                # A poll the proxy forwarded before its worker stopped may wait out its `wait` upstream:
                # shutting down does not wait for it.
                config = uvicorn.Config(
                    self._app(name, http), host="127.0.0.1", port=self.ports[name], timeout_graceful_shutdown=1
                )
                config.log_level, config.lifespan, config.access_log = "warning", "off", False
                self._servers.append(uvicorn.Server(config))
            await asyncio.gather(*(server.serve() for server in self._servers))

    def _app(self, name: str, http: httpx.AsyncClient) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            assert scope["type"] == "http"
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            if name in self.leased and not self._all_leased.is_set():
                self.held += 1
                await self._all_leased.wait()
            headers = [(k, v) for k, v in scope["headers"] if k.decode().lower() not in self._DROP]
            url = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
            answer = await http.request(scope["method"], url, headers=headers, content=body)
            leasing = scope["path"] in ("/api/v1/poll", "/api/v1/outcomes") and answer.status_code == 200
            if leasing and answer.json().get("tasks"):
                self.leased.add(name)
                if self.leased == set(self.names):
                    self._all_leased.set()
            out = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k.lower() not in self._DROP]
            out.append((b"content-length", str(len(answer.content)).encode()))
            await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
            await send({"type": "http.response.body", "body": answer.content})

        return app


def completed_events(ws: ClientConnection, ids: set[str], *, timeout_s: float = 90) -> Counter[str]:
    """`task.completed` events per task id, read until every id in `ids` has one."""
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + timeout_s
    while not ids <= set(seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{len(ids - set(seen))} of {len(ids)} tasks never completed"
        try:
            event = json.loads(ws.recv(timeout=remaining))
        except TimeoutError:
            continue
        assert event["event"] != "lagged", "the event stream lost events: the count below would be wrong"
        if event["event"] == "task.completed":
            seen[event["task"]["id"]] += 1
    return seen


def events_until_cancelled(ws: ClientConnection, task_id: str, *, timeout_s: float = 30) -> list[dict[str, Any]]:
    """Every event up to `task_id`'s `task.cancelled`, which the stream sends after all before it."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while not any(e["event"] == "task.cancelled" and e["task"]["id"] == task_id for e in events):
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the end marker's task.cancelled never came"
        events.append(json.loads(ws.recv(timeout=remaining)))
    return events


@pytest.mark.timeout(600)  # the two builds may take minutes on a loaded machine; the run itself, seconds
def test_python_typescript_and_go_workers_share_one_batch_each_task_once(
    tmp_path: Path, typescript_app: Path, go_worker: Path
) -> None:
    keys = ",".join(f"{key}:{role}" for role, key in KEYS.items())
    with (
        live_server(tmp_path, api_keys=keys) as server,
        server.client(KEYS["admin"]) as http,
        LeaseGate(server.url, LANGUAGES).running() as gate,
        ExitStack() as stack,
    ):
        programs = {
            "python": ([sys.executable, "-m", "taskline", "worker", *PYTHON_WORKER], REPO_ROOT),
            "typescript": ([node_executable(), "worker.mjs"], typescript_app),
            "go": ([go_worker], tmp_path),
        }  # fmt: skip
        workers = {
            language: stack.enter_context(
                example_worker(
                    argv,
                    http=http,
                    env=node_env(TASKLINE_SERVER=gate.urls[language], TASKLINE_API_KEY=KEYS["worker"]),
                    log=tmp_path / f"{language}.log",
                    cwd=cwd,
                )
            )
            for language, (argv, cwd) in programs.items()
        }
        assert all("hello" in worker["types"] for worker in registered(http)), registered(http)

        with _listen(server) as ws:
            names = [f"name-{i}" for i in range(BATCH)]
            created = http.post("/api/v1/tasks/bulk", json=[{"type": "hello", "payload": {"name": n}} for n in names])
            assert created.status_code == 201, created.text
            ids = [task["id"] for task in created.json()["tasks"]]
            completed = completed_events(ws, set(ids))

            # Each stops gracefully on SIGTERM and says it left.
            for worker in workers.values():
                worker.stop()
            assert registered(http) == []

            # With every worker gone, an end marker: its task.cancelled comes after every event
            # before it, so any second completion of a batch task would be in what is read here.
            end = http.post("/api/v1/tasks", json={"type": "shared-batch-end"}).json()["id"]
            assert http.delete(f"/api/v1/tasks/{end}").status_code == 200
            late = events_until_cancelled(ws, end)
            completed.update(e["task"]["id"] for e in late if e["event"] == "task.completed")

        assert gate.leased == set(LANGUAGES)
        assert set(completed) == set(ids)
        assert [task_id for task_id, count in completed.items() if count != 1] == []
        tasks = _all_tasks(http, "hello")
        assert sorted(task["id"] for task in tasks) == sorted(ids)
        for task in tasks:
            assert (task["state"], task["attempts"]) == ("completed", 1), task
            assert task["result"]["greeting"] == f"hello {task['payload']['name']}", task
        by = Counter(task["result"]["by"] for task in tasks)
        assert set(by) == set(LANGUAGES), f"tasks completed by language: {dict(by)}, {gate.held} requests held"


@contextmanager
def _listen(server: LiveServer) -> Iterator[ClientConnection]:
    """`/ws` for task.completed and task.cancelled: subscribed once the handshake is done, so
    every event of the batch submitted after it is seen."""
    url = f"ws://127.0.0.1:{server.port}/ws?events=task.completed,task.cancelled"
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    with connect(url, additional_headers=headers, proxy=None, open_timeout=10) as ws:
        yield ws


def _all_tasks(http: httpx.Client, task_type: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"type": task_type, "limit": "500", **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/tasks", params=params).json()
        tasks.extend(page["tasks"])
        cursor = page["next_cursor"]
        if cursor is None:
            return tasks
