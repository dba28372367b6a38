"""Errors as a client sees them: an API error code turned back into its `taskline.errors` class,
so `except taskline.errors.NotFound` reads the same over HTTP as straight on Redis."""

from typing import Any

from taskline.core.task import Task
from taskline.errors import RetryLater, TasklineError


class UnexpectedResponse(TasklineError):
    """A response outside the SPEC's error codes: a proxy's 502 page, a framework's 405."""

    code = "unexpected_response"

    def __init__(self, message: str, *, http_status: int, api_code: str | None = None, details: Any = None) -> None:
        super().__init__(message, details)
        self.http_status = http_status
        self.api_code = api_code


class WaitTimeout(TimeoutError):
    """`wait()` gave up before the task reached a terminal state; `task` is how it was last seen."""

    def __init__(self, task: Task, timeout_s: float) -> None:
        super().__init__(f"task {task.id} is still {task.state} after {timeout_s:g} s")
        self.task = task


def _by_code(cls: type[TasklineError]) -> dict[str, type[TasklineError]]:
    found = {cls.code: cls}
    for sub in cls.__subclasses__():
        found.update(_by_code(sub))
    return found


_CLASSES = {code: cls for code, cls in _by_code(TasklineError).items() if cls is not UnexpectedResponse}


def error_from_response(status: int, body: Any, retry_after: str | None) -> TasklineError:
    """The exception an error response stands for (`body` is its decoded JSON, or None)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return UnexpectedResponse(f"the server answered {status} without a Taskline error body", http_status=status)
    code, message, details = error["code"], str(error.get("message") or error["code"]), error.get("details")
    cls = _CLASSES.get(code)
    if cls is None or cls is TasklineError:
        return UnexpectedResponse(message, http_status=status, api_code=code, details=details)
    if issubclass(cls, RetryLater):
        return cls(message, _seconds(retry_after), details)
    return cls(message, details)


def _seconds(retry_after: str | None) -> int:
    try:
        return max(int(retry_after or 1), 0)
    except ValueError:  # the HTTP-date form; the server never sends it
        return 1
