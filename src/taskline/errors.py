"""Every error Taskline raises on purpose, each carrying its SPEC error code and HTTP status.

    TasklineError
    ├── InvalidJson            400 invalid_json
    ├── ValidationFailed       422 validation_error   (details: [{"field", "message"}] or with "index")
    ├── Unauthorized           401 unauthorized
    ├── Forbidden              403 forbidden
    ├── PayloadTooLarge        413 payload_too_large
    ├── NotFound               404 not_found          (details: {"resource", "id"}: task, worker, queue, schedule)
    ├── Conflict               409 conflict
    │   ├── InvalidTransition  409 invalid_state      (the task's state does not allow it)
    │   ├── LeaseLost          409 lease_lost         (stale or unknown fencing token)
    │   ├── AmbiguousId        409 ambiguous_id       (an id prefix that names several tasks)
    │   └── IdempotencyConflict 409 idempotency_conflict
    ├── RateLimited            429 rate_limited       (retry_after_s set)
    ├── QueueFull              503 queue_full         (retry_after_s set)
    ├── BackendUnavailable     503 backend_unavailable (the API adds Retry-After)
    └── InternalError          500 internal_error     (our bug, e.g. a Lua runtime error; logged)

Backends raise only these, never redis.* or sqlite3.*, so callers handle one tree.
"""

from typing import Any, ClassVar


class TasklineError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidJson(TasklineError):
    code = "invalid_json"
    status = 400


class ValidationFailed(TasklineError):
    code = "validation_error"
    status = 422


class Unauthorized(TasklineError):
    code = "unauthorized"
    status = 401


class Forbidden(TasklineError):
    code = "forbidden"
    status = 403


class PayloadTooLarge(TasklineError):
    code = "payload_too_large"
    status = 413


class NotFound(TasklineError):
    """A 404 names what was not found: `NotFound.of("task", id)` says "no task <id>" with
    details `{"resource": "task", "id": <id>}`, so a client reads the kind without parsing the
    sentence. Every resource follows it: task, worker, queue, schedule."""

    code = "not_found"
    status = 404

    @classmethod
    def of(cls, resource: str, id: str, *, qualifier: str = "") -> "NotFound":
        """`no <resource> <id>[ <qualifier>]`, e.g. `NotFound.of("worker", "w1", qualifier="seen in the last 60s")`."""
        message = f"no {resource} {id}" + (f" {qualifier}" if qualifier else "")
        return cls(message, {"resource": resource, "id": id})


class Conflict(TasklineError):
    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_state"


class LeaseLost(Conflict):
    code = "lease_lost"


class AmbiguousId(Conflict):
    """An id prefix (`get`, `cancel`, `retry`) that several stored tasks start with; `details`
    holds `count` (capped: `count_is_exact` false past it) and the first `candidates`."""

    code = "ambiguous_id"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class RetryLater(TasklineError):
    """An error that tells the client when to come back (the Retry-After header)."""

    def __init__(self, message: str, retry_after_s: int = 1, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class RateLimited(RetryLater):
    code = "rate_limited"
    status = 429


class QueueFull(RetryLater):
    code = "queue_full"
    status = 503


class BackendUnavailable(TasklineError):
    code = "backend_unavailable"
    status = 503


class InternalError(TasklineError):
    """Something that should not happen did: retrying the same request will not help."""

    code = "internal_error"
    status = 500


def error_for_code(code: str, message: str, details: Any = None, *, retry_after_s: int = 1) -> TasklineError:
    """The error an API response's `{"error": {"code", ...}}` stands for, so a client over HTTP
    raises the same classes as the engine does in-process."""
    cls = _BY_CODE.get(code)
    if cls is None:
        error = TasklineError(message, details)
        error.code = code  # type: ignore[misc]  # an unknown code from a newer server is still shown
        return error
    if issubclass(cls, RetryLater):
        return cls(message, retry_after_s=retry_after_s, details=details)
    return cls(message, details)


def _subclasses(cls: type[TasklineError]) -> list[type[TasklineError]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


_BY_CODE = {cls.code: cls for cls in _subclasses(TasklineError) if cls is not RetryLater}
