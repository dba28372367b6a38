"""What every answer must be, whatever was asked (SPEC §1 "Errors", §3): below 500, an error
in `{"error": {"code", "message", "details"}}`, and a refused request changing nothing.

"Nothing changed" is judged on a snapshot of what a request could change: each task's
attempts, result, cancel flag and payload, its state up to the moves the server makes by
itself as time passes (a scheduled or retrying task coming due, a lease running out), the
task count, which queues are paused and each worker's state."""

import re
from dataclasses import dataclass
from typing import Any

import httpx

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")

# What the scheduler does on its own while a test looks away: these moves are no request's doing.
TIME_MOVES = frozenset(
    {
        ("scheduled", "pending"),
        ("retrying", "pending"),
        ("running", "retrying"),  # a lease ran out with retries left
        ("running", "failed"),  # ... with none left
        ("running", "cancelled"),  # ... of a task a cancel was asked for
        ("running", "pending"),  # ... retried at once (a backoff of 0)
    }
)


def error_problems(status: int, headers: httpx.Headers | dict[str, str], body: bytes) -> list[str]:
    """What is wrong with an answer: a 5xx, or an error not in SPEC's shape."""
    if status >= 500:
        return [f"a server error {status}: {body[:500]!r}"]
    if status < 400:
        return []
    if not str(headers.get("content-type", "")).startswith("application/json"):
        return [f"error {status} is not JSON: {headers.get('content-type')}"]
    try:
        document = httpx.Response(status, content=body).json()
    except ValueError:
        return [f"error {status} does not parse: {body[:200]!r}"]
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict) or set(document) != {"error"}:
        return [f"error {status} is not {{'error': {{...}}}}: {document!r:.300}"]
    problems = []
    if not isinstance(error.get("code"), str) or not SNAKE_CASE.match(error["code"]):
        problems.append(f"error {status} has no snake_case code: {error!r:.300}")
    if not isinstance(error.get("message"), str) or not error["message"]:
        problems.append(f"error {status} has no message: {error!r:.300}")
    if set(error) - {"code", "message", "details"}:
        problems.append(f"error {status} has fields beyond code, message, details: {sorted(error)}")
    if status in (429, 503) and "retry-after" not in {name.lower() for name in headers}:
        problems.append(f"error {status} has no Retry-After")
    return problems


@dataclass(frozen=True)
class Snapshot:
    total: int
    tasks: dict[str, tuple[str, Any]]  # id -> (state, what only a request changes)
    paused_queues: frozenset[str]
    workers: dict[str, str]

    @classmethod
    def take(cls, http: httpx.Client) -> "Snapshot":
        """Read it through the API (with an admin key: the fuzzed request's own may not read)."""
        total = http.get("/api/v1/stats").json()["total"]
        tasks = {
            task["id"]: (
                task["state"],
                (task["attempts"], task["result"], task["cancel_requested"], task["payload"], task["priority"]),
            )
            for task in http.get("/api/v1/tasks", params={"limit": 500}).json()["tasks"]
        }
        queues = http.get("/admin/queues").json()["queues"]
        workers = http.get("/admin/workers").json()["workers"]
        return cls(
            total=total,
            tasks=tasks,
            paused_queues=frozenset(q["name"] for q in queues if q["paused"]),
            workers={w["id"]: w["state"] for w in workers},
        )

    def changes_to(self, after: "Snapshot", *, sightings: bool = False) -> list[str]:
        """What differs in `after` beyond the moves time makes by itself (and, with
        `sightings`, a worker newly seen: a worker whose report was refused still showed up)."""
        changes = []
        if after.total != self.total:
            changes.append(f"the task count went from {self.total} to {after.total}")
        if set(after.tasks) != set(self.tasks):
            changes.append(f"tasks appeared or went: {sorted(set(after.tasks) ^ set(self.tasks))[:5]}")
        for task_id in set(after.tasks) & set(self.tasks):
            (was, fields), (now, new_fields) = self.tasks[task_id], after.tasks[task_id]
            if fields != new_fields:
                changes.append(f"task {task_id} changed: {fields!r:.200} -> {new_fields!r:.200}")
            if was != now and (was, now) not in TIME_MOVES:
                changes.append(f"task {task_id} went from {was} to {now}")
        if after.paused_queues != self.paused_queues:
            changes.append(f"paused queues went from {sorted(self.paused_queues)} to {sorted(after.paused_queues)}")
        for worker_id in set() if sightings else set(after.workers) - set(self.workers):
            changes.append(f"worker {worker_id!r} appeared")
        for worker_id in set(after.workers) & set(self.workers):
            if after.workers[worker_id] != self.workers[worker_id]:
                changes.append(f"worker {worker_id!r} went {self.workers[worker_id]} -> {after.workers[worker_id]}")
        return changes
