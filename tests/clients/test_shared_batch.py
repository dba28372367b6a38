"""One batch shared by workers in three languages on one live server: the Python worker
(`taskline worker`), and the TypeScript and Go worker examples as their READMEs print them
(clients/typescript/examples/worker.mjs after `npm run build`, clients/go/examples/worker).

With all three registered, one bulk of `hello` tasks is submitted: every task completes exactly
once (one attempt, one `task.completed` event) and each language completes some. A machine
without Node or Go fails here rather than skipping (`make clients-deps` installs them).
"""

import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.helpers.golang import build_examples
from tests.helpers.live import REPO_ROOT, LiveServer, live_server, stop, wait_until, worker_process

TYPESCRIPT = REPO_ROOT / "clients" / "typescript"
KEYS = {"admin": "shared-admin-key", "worker": "shared-worker-key"}
LANGUAGES = {"python", "typescript", "go"}
BATCH = 300  # enough that a language whose poll comes a moment late still finds tasks left


@pytest.fixture(scope="module")
def typescript_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built by `npm run build`, in a copy with node_modules linked: the TypeScript
    client's own test builds clients/typescript/dist too, and may run at the same time (xdist).
    The example's `import "@taskline/client"` resolves to the copy's dist, as a package's own
    name does inside the package."""
    assert shutil.which("node") is not None, "Node is missing: `make clients-deps`"
    assert (TYPESCRIPT / "node_modules").is_dir(), "no packages in clients/typescript: `make clients-deps`"
    copy = tmp_path_factory.mktemp("typescript") / "typescript"
    shutil.copytree(TYPESCRIPT, copy, ignore=shutil.ignore_patterns("node_modules", "dist", "build"), symlinks=True)
    (copy / "node_modules").symlink_to(TYPESCRIPT / "node_modules", target_is_directory=True)
    build = subprocess.run(["npm", "run", "build"], cwd=copy, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    return copy


@pytest.fixture(scope="module")
def go_worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go example built into a binary (as test_go.py builds it), so the process the test
    signals is the worker itself: `go run` would put a compiling parent in between."""
    return build_examples(tmp_path_factory.mktemp("go"))["worker"]


@contextmanager
def child(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Iterator["subprocess.Popen[bytes]"]:
    """A worker example's process, its output in `log`; SIGTERM (then SIGKILL) on exit if still there."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        stop(process)


def example_env(server: LiveServer) -> dict[str, str]:
    """What the examples read: TASKLINE_SERVER and TASKLINE_API_KEY (a worker's key)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    return {**clean, "TASKLINE_SERVER": server.url, "TASKLINE_API_KEY": KEYS["worker"], "NO_COLOR": "1"}


def registered(http: httpx.Client) -> list[dict[str, Any]]:
    response = http.get("/admin/workers")
    assert response.status_code == 200, response.text
    return list(response.json()["workers"])


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
    tmp_path: Path, typescript_package: Path, go_worker: Path
) -> None:
    keys = ",".join(f"{key}:{role}" for role, key in KEYS.items())
    with (
        live_server(tmp_path, api_keys=keys) as server,
        server.client(KEYS["admin"]) as http,
        ExitStack() as workers,
    ):
        env = example_env(server)
        python = workers.enter_context(
            worker_process(
                tmp_path, "tests.clients.hello", "--concurrency", "4", server=server.url, api_key=KEYS["worker"]
            )
        )
        processes = {
            "python": (python.process, python.log),
            "typescript": _start(
                workers, ["node", "examples/worker.mjs"], typescript_package, env, tmp_path / "ts.log"
            ),
            "go": _start(workers, [str(go_worker)], tmp_path, env, tmp_path / "go.log"),
        }

        def all_three_registered() -> bool:
            for language, (process, log) in processes.items():
                assert process.poll() is None, f"the {language} worker exited:\n{log.read_text()}"
            return len(registered(http)) == 3

        wait_until(all_three_registered, timeout_s=60, what="the three workers to register")
        assert all("hello" in worker["types"] for worker in registered(http)), registered(http)

        with _listen(server) as ws:
            names = [f"name-{i}" for i in range(BATCH)]
            created = http.post("/api/v1/tasks/bulk", json=[{"type": "hello", "payload": {"name": n}} for n in names])
            assert created.status_code == 201, created.text
            ids = [task["id"] for task in created.json()["tasks"]]
            completed = completed_events(ws, set(ids))

            # Each stops gracefully on SIGTERM and says it left.
            for language, (process, log) in processes.items():
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0, f"{language}:\n{log.read_text()}"
            assert registered(http) == []

            # With every worker gone, an end marker: its task.cancelled comes after every event
            # before it, so any second completion of a batch task would be in what is read here.
            end = http.post("/api/v1/tasks", json={"type": "shared-batch-end"}).json()["id"]
            assert http.delete(f"/api/v1/tasks/{end}").status_code == 200
            late = events_until_cancelled(ws, end)
            completed.update(e["task"]["id"] for e in late if e["event"] == "task.completed")

        assert set(completed) == set(ids)
        assert [task_id for task_id, count in completed.items() if count != 1] == []
        tasks = _all_tasks(http, "hello")
        assert sorted(task["id"] for task in tasks) == sorted(ids)
        for task in tasks:
            assert (task["state"], task["attempts"]) == ("completed", 1), task
            assert task["result"]["greeting"] == f"hello {task['payload']['name']}", task
        by = Counter(task["result"]["by"] for task in tasks)
        assert set(by) == LANGUAGES, f"tasks completed by language: {dict(by)}"


def _start(
    stack: ExitStack, argv: list[str], cwd: Path, env: dict[str, str], log: Path
) -> tuple["subprocess.Popen[bytes]", Path]:
    return stack.enter_context(child(argv, cwd=cwd, env=env, log=log)), log


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
