"""Errors as a client sees them: an error response turned back into its `taskline.errors` class
(by `errors.error_for_code`), so `except taskline.errors.NotFound` reads the same over HTTP as
straight on Redis."""

from typing import Any

from taskline.core.task import Task
from taskline.errors import TasklineError, error_for_code


class UnexpectedResponse(TasklineError):
    """An error response without a Taskline error body: a proxy's 502 page, say."""

    code = "unexpected_response"

    def __init__(self, message: str, *, http_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status


class WaitTimeout(TimeoutError):
    """`wait()` gave up before the task reached a terminal state; `task` is how it was last seen."""

    def __init__(self, task: Task, timeout_s: float) -> None:
        super().__init__(f"task {task.id} is still {task.state} after {timeout_s:g} s")
        self.task = task


def error_from_response(status: int, body: Any, retry_after: str | None) -> TasklineError:
    """The exception an error response stands for (`body` is its decoded JSON, or None)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return UnexpectedResponse(f"the server answered {status} without a Taskline error body", http_status=status)
    message = str(error.get("message") or error["code"])
    return error_for_code(error["code"], message, error.get("details"), retry_after_s=_seconds(retry_after))


def _seconds(retry_after: str | None) -> int:
    try:
        return max(int(retry_after or 1), 0)
    except ValueError:  # the HTTP-date form; the server never sends it
        return 1
