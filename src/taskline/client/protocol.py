"""The HTTP API as a client speaks it (SPEC §3), without I/O.

Each client call is a `Call`: the request to send and how to read its answer. The async
engine (httpx) and the blocking one (http.client) only carry bytes; what a request says,
and what an answer or an error response means, is written here once.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import orjson

from taskline import __version__
from taskline.client.errors import error_from_response
from taskline.client.schedules import Schedule, schedule_from_json
from taskline.core.sentinel import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Source, Stats, Task, TaskFilter, TaskPage
from taskline.wire import queue_from_json, task_from_json

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request (`target` is the path with its query) and the reading of its JSON answer."""

    method: str
    target: str
    read: Callable[[Any], T]
    body: bytes | None = None
    headers: Mapping[str, str] | None = None


def request_headers(api_key: str | None) -> dict[str, str]:
    """The headers every request of a client carries."""
    headers = {"User-Agent": f"taskline-client/{__version__}", "Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def target(path: str, params: Mapping[str, Any] | None = None) -> str:
    """`path` with the parameters that are not None as its query string."""
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
    return f"{path}?{query}" if query else path


def encode_body(body: Any) -> bytes | None:
    return None if body is None else orjson.dumps(body)


def answer(status: int, content: bytes, retry_after: str | None) -> Any:
    """The decoded JSON of a response (None when empty), or the error it stands for raised.

    Raises:
        TasklineError: the class of the error code the server answered (UnexpectedResponse
            for an error without a Taskline error body).
    """
    if status >= 400:
        try:
            error_body = orjson.loads(content)
        except orjson.JSONDecodeError:
            error_body = None
        raise error_from_response(status, error_body, retry_after)
    return orjson.loads(content) if content else None


def _ignore(_: Any) -> None:
    return None


def _page(answer: dict[str, Any]) -> TaskPage:
    return TaskPage([task_from_json(t) for t in answer["tasks"]], answer["next_cursor"])


def _tasks(answer: dict[str, Any]) -> list[Task]:
    return [task_from_json(t) for t in answer["tasks"]]


def _stats(answer: dict[str, Any]) -> Stats:
    states = {TaskState(name): n for name, n in answer["states"].items()}
    return Stats(states=states, total=answer["total"], workers=answer["workers"])


def _queues(answer: dict[str, Any]) -> list[QueueStats]:
    return [queue_from_json(q) for q in answer["queues"]]


def _count(name: str) -> Callable[[Any], int]:
    return lambda answer: int(answer[name])


def submit(spec: dict[str, Any], idempotency_key: str | None) -> Call[Task]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
    return Call("POST", "/api/v1/tasks", task_from_json, encode_body(spec), headers)


def submit_many(specs: list[dict[str, Any]]) -> Call[list[Task]]:
    return Call("POST", "/api/v1/tasks/bulk", _tasks, encode_body(specs))


def get(task_id: str) -> Call[Task]:
    return Call("GET", f"/api/v1/tasks/{task_id}", task_from_json)


def list_tasks(filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live") -> Call[TaskPage]:
    params = {"state": filter.state, "type": filter.type, "queue": filter.queue, "limit": limit, "cursor": cursor}
    if source != "live":  # the default is left out, as a server before history expects
        params["source"] = source
    return Call("GET", target("/api/v1/tasks", params), _page)


def cancel(task_id: str) -> Call[Task]:
    return Call("DELETE", f"/api/v1/tasks/{task_id}", task_from_json)


def retry(task_id: str, payload: Any) -> Call[Task]:
    body = None if payload is UNCHANGED else {"payload": payload}
    return Call("POST", f"/api/v1/tasks/{task_id}/retry", task_from_json, encode_body(body))


def stats() -> Call[Stats]:
    return Call("GET", "/api/v1/stats", _stats)


def queues() -> Call[list[QueueStats]]:
    return Call("GET", "/api/v1/queues", _queues)


def pause_queue(queue: str) -> Call[None]:
    return Call("POST", f"/admin/queues/{queue}/pause", _ignore)


def resume_queue(queue: str) -> Call[None]:
    return Call("POST", f"/admin/queues/{queue}/resume", _ignore)


def purge(queue: str, priority: int | str | None) -> Call[int]:
    return Call("DELETE", target(f"/admin/queues/{queue}", {"priority": priority}), _count("purged"))


def dlq(limit: int, cursor: str | None) -> Call[TaskPage]:
    return Call("GET", target("/admin/dlq", {"limit": limit, "cursor": cursor}), _page)


def dlq_retry(ids: Sequence[str] | None) -> Call[int]:
    body = None if ids is None else {"ids": list(ids)}
    return Call("POST", "/admin/dlq/retry", _count("retried"), encode_body(body))


def dlq_delete() -> Call[int]:
    return Call("DELETE", "/admin/dlq", _count("deleted"))


def _schedules(answer: dict[str, Any]) -> list[Schedule]:
    return [schedule_from_json(s) for s in answer["schedules"]]


def _schedule_path(name: str, action: str = "") -> str:
    # Quoted whole: a name the server would refuse ("a?b", "a#b") must not turn into a query
    # or a fragment and so name another schedule.
    return f"/api/v1/schedules/{quote(name, safe='')}{action}"


def add_schedule(body: dict[str, Any]) -> Call[Schedule]:
    return Call("POST", "/api/v1/schedules", schedule_from_json, encode_body(body))


def list_schedules() -> Call[list[Schedule]]:
    return Call("GET", "/api/v1/schedules", _schedules)


def get_schedule(name: str) -> Call[Schedule]:
    return Call("GET", _schedule_path(name), schedule_from_json)


def remove_schedule(name: str) -> Call[None]:
    return Call("DELETE", _schedule_path(name), _ignore)


def pause_schedule(name: str) -> Call[Schedule]:
    return Call("POST", _schedule_path(name, "/pause"), schedule_from_json)


def resume_schedule(name: str) -> Call[Schedule]:
    return Call("POST", _schedule_path(name, "/resume"), schedule_from_json)
