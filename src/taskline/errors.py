"""Every error Taskline raises on purpose, each carrying its SPEC error code and HTTP status.

    TasklineError
    ├── ValidationFailed       422 validation_error   (details: [{"field", "message"}] or with "index")
    ├── PayloadTooLarge        413 payload_too_large
    ├── NotFound               404 not_found
    ├── Conflict               409 conflict
    │   ├── InvalidTransition  409 invalid_state      (the task's state does not allow it)
    │   ├── LeaseLost          409 lease_lost         (stale or unknown fencing token)
    │   └── IdempotencyConflict 409 idempotency_conflict
    ├── QueueFull              503 queue_full         (retry_after_s set)
    └── BackendUnavailable     503 backend_unavailable

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


class ValidationFailed(TasklineError):
    code = "validation_error"
    status = 422


class PayloadTooLarge(TasklineError):
    code = "payload_too_large"
    status = 413


class NotFound(TasklineError):
    code = "not_found"
    status = 404


class Conflict(TasklineError):
    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_state"


class LeaseLost(Conflict):
    code = "lease_lost"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class QueueFull(TasklineError):
    code = "queue_full"
    status = 503

    def __init__(self, message: str, retry_after_s: int = 1, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class BackendUnavailable(TasklineError):
    code = "backend_unavailable"
    status = 503
