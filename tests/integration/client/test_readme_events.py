"""The README's live events watcher works as printed: against a live server it prints the
email tasks that end, and nothing of other queues or other events."""

import os
import re
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx

from tests.helpers.live import live_server, stop, wait_until

README = Path(__file__).parents[3] / "README.md"


def watcher_block() -> str:
    match = re.search(r"<!-- live-events.*?-->\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md lost its live events example"
    return match.group(1)


def test_the_readme_watcher_prints_the_email_tasks_that_end(tmp_path: Path) -> None:
    with live_server(tmp_path) as server, server.client() as http:
        (tmp_path / "watch.py").write_text(watcher_block().replace("http://127.0.0.1:8080", server.url))
        out = tmp_path / "watch.out"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}, "PYTHONUNBUFFERED": "1"}
        with out.open("wb") as sink:
            watcher = subprocess.Popen(
                [sys.executable, "watch.py"], cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            first = until_printed(http, out)
            elsewhere = end(http, "reports")
            done = end(http, "emails")
            failed = end(http, "emails", fail=True)
            wait_until(lambda: failed in out.read_text(), what="the failed task to be printed")
        finally:
            stop(watcher)

    lines = out.read_text().splitlines()
    assert lines[lines.index(f"task.completed {first} completed") :] == [
        f"task.completed {first} completed",
        f"task.completed {done} completed",
        f"task.failed {failed} failed",
    ]
    assert elsewhere not in out.read_text()


def until_printed(http: httpx.Client, out: Path) -> str:
    """End email tasks until the watcher prints one (nothing else says when it has subscribed);
    the id of that one."""
    deadline = time.monotonic() + 30
    while True:
        task_id = end(http, "emails")
        try:
            wait_until(partial(printed, out, task_id), timeout_s=0.5)
            return task_id
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"the watcher printed nothing:\n{out.read_text()}") from None


def printed(out: Path, task_id: str) -> bool:
    return task_id in out.read_text()


def end(http: httpx.Client, queue: str, *, fail: bool = False) -> str:
    """Submit a task to `queue`, lease it and complete (or fail) it for good; its id."""
    submitted = http.post("/api/v1/tasks", json={"type": "t", "queue": queue, "max_retries": 0})
    assert submitted.status_code == 201, submitted.text
    response = http.get("/api/v1/poll", params={"worker_id": "readme", "queues": queue, "wait": 5})
    assert response.status_code == 200, response.text
    (task,) = response.json()["tasks"]
    assert task["id"] == submitted.json()["id"]
    action, body = ("fail", {"error": "bounced"}) if fail else ("complete", {"result": None})
    ended = http.post(f"/api/v1/tasks/{task['id']}/{action}", json={"token": task["lease"]["token"], **body})
    assert ended.status_code == 200, ended.text
    return str(task["id"])
