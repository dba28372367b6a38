"""Request bodies the API parses with pydantic (task submits go through core.spec instead),
and response models that document the wire format in OpenAPI."""

import copy
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from taskline.core.outcomes import MAX_ERROR_CHARS, MAX_NEXT, MAX_OUTCOMES, Completion, Failure, Outcome
from taskline.core.schedules import MAX_EVERY_S, MAX_NAME_CHARS, NAME_RE, REFUSED_TASK_FIELDS
from taskline.core.workers import WorkerDetails


class _Body(BaseModel):
    # Strict: `true` is not a count, `1` is not `retry: true`, and `2.0` is not an integer
    # (SPEC §1's rule for priority, kept for every body): what the schema says, no coercion.
    model_config = ConfigDict(extra="forbid", strict=True)


# The largest count a backend stores (SQLite's INTEGER and Redis' integers are 64-bit signed):
# a larger one is the client's mistake, 422, not the backend's overflow, 500.
MAX_COUNT = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class HeartbeatBody(_Body):
    token: str = Field(min_length=1)
    progress: float | None = Field(None, ge=0, le=100)


class CompleteBody(_Body):
    token: str = Field(min_length=1)
    # Any JSON; how deep it may nest is the service's rule (TaskService.settle), which every
    # report meets, over HTTP or straight on the backend, as one 422.
    result: Any = None


class FailBody(_Body):
    token: str = Field(min_length=1)
    error: str = Field(min_length=1, max_length=MAX_ERROR_CHARS)
    retry: bool = True
    retry_after: float | None = Field(
        None, ge=0, le=31_536_000, description="Seconds until the retry, instead of the backoff"
    )


class ReleaseBody(_Body):
    token: str = Field(min_length=1)


Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class CompletedOutcome(CompleteBody):
    """An attempt that succeeded, as `complete` takes it."""

    id: str = Field(min_length=1, max_length=128, description="The task's id")

    def outcome(self) -> Outcome:
        return Completion(self.id, self.token, self.result)


class FailedOutcome(FailBody):
    """An attempt that failed, as `fail` takes it."""

    id: str = Field(min_length=1, max_length=128, description="The task's id")

    def outcome(self) -> Outcome:
        return Failure(self.id, self.token, self.error, self.retry, self.retry_after)


def _outcome_kind(item: Any) -> str:
    """An item with an `error` is a failure; any other, a completion."""
    return "failed" if isinstance(item, dict) and "error" in item else "completed"


class OutcomesBody(_Body):
    """A batch of attempts' outcomes, and the tasks the worker wants leased with them."""

    outcomes: list[
        Annotated[
            Annotated[CompletedOutcome, Tag("completed")] | Annotated[FailedOutcome, Tag("failed")],
            Discriminator(_outcome_kind),
        ]
    ] = Field(min_length=1, max_length=MAX_OUTCOMES, description="Applied in this order")
    next: int = Field(0, ge=0, le=MAX_NEXT, description="Lease up to this many tasks with the outcomes")
    worker_id: str | None = Field(None, min_length=1, max_length=128, description="Who leases; needed with next")
    queues: list[Name] | None = Field(None, max_length=100, description="Lease from these queues; omitted: any")
    types: list[Name] | None = Field(None, max_length=1000, description="Lease these types; omitted: any")


class WorkerReportBody(_Body):
    """What a worker reports of itself with its heartbeat; a field left out keeps its last value."""

    host: str | None = Field(None, min_length=1, max_length=255)
    pid: Count | None = None
    queues: list[Name] | None = Field(None, max_length=100, description="Queues it takes from; empty: any")
    types: list[Name] | None = Field(None, max_length=1000, description="Task types it takes; empty: any")
    concurrency: int | None = Field(None, ge=1, le=MAX_COUNT, description="Tasks it runs at once, at most")
    active: Count | None = Field(None, description="Tasks running now")
    processed: Count | None = Field(None, description="Tasks completed since it started")
    failed: Count | None = Field(None, description="Attempts failed since it started")

    def details(self) -> WorkerDetails:
        return WorkerDetails(**self.model_dump())


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorInfo


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 256},
    "description": "Acts as unique_key; the same key with a different body is 409 idempotency_conflict",
}

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Malformed JSON",
        401: "No valid API key",
        403: "The key's role may not do this",
        404: "No such task",
        409: "Conflict with the task's state or lease",
        413: "Body or payload too large",
        422: "Validation failed; details name each field",
        429: "Rate limited; see Retry-After",
        503: "Queue full or backend unavailable; see Retry-After",
    }.items()
}


class TaskSubmission(BaseModel):
    """The submit body as documented; `core.spec.parse_spec` enforces it (a test keeps the
    two field sets equal)."""

    model_config = ConfigDict(extra="forbid", title="TaskSubmission")

    type: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$", description="Selects the handler")
    queue: str = Field("default", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    payload: Any = Field(default_factory=dict, description="Any JSON, at most max_payload_bytes encoded")
    priority: int | str = Field(1, description="0-3 or low, normal, high, critical")
    max_retries: int = Field(3, ge=0, le=100)
    timeout: float = Field(300, gt=0, le=86400, description="Seconds one attempt may run")
    scheduled_at: str | None = Field(None, description="RFC 3339 with offset; at most a year ahead")
    delay: float | None = Field(None, ge=0, le=31536000, description="Seconds from now; not with scheduled_at")
    unique_key: str | None = Field(None, min_length=1, max_length=256)
    unique_ttl: int = Field(86400, ge=1, le=2592000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    webhook: str | None = Field(None, description="http(s) URL POSTed on a terminal state")


TASK_SPEC_SCHEMA: dict[str, Any] = TaskSubmission.model_json_schema()


def _ref(path: str, method: str) -> str:
    """An OpenAPI operationRef: `/` in the path escaped as `~1` (JSON Pointer)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def links(task_id: str, token: str | None = None) -> dict[str, Any]:
    """OpenAPI links from a response that holds a task (at the JSON Pointer `task_id`) to
    what a client does next with it: with a lease `token`, a worker's calls; else a
    producer's. They document the API's flow, and stateful fuzzing follows them."""
    task = "/api/v1/tasks/{task_id}"
    if token is None:
        calls = {"GetTask": (task, "get"), "CancelTask": (task, "delete"), "RetryTask": (task + "/retry", "post")}
        return {
            name: {"operationRef": _ref(path, method), "parameters": {"task_id": f"$response.body#{task_id}"}}
            for name, (path, method) in calls.items()
        }
    calls = {name: (f"{task}/{name.lower()}", "post") for name in ("Heartbeat", "Complete", "Fail", "Release")}
    body: dict[str, Any] = {"token": f"$response.body#{token}"}
    return {
        name: {
            "operationRef": _ref(path, method),
            "parameters": {"task_id": f"$response.body#{task_id}"},
            "requestBody": {**body, "error": "failed"} if name == "Fail" else body,
        }
        for name, (path, method) in calls.items()
    }


def task_response(description: str, task_id: str = "/id") -> dict[str, Any]:
    """A documented response that holds a task, with its links."""
    return {"description": description, "links": links(task_id)}


def _schedule_task_schema() -> dict[str, Any]:
    """A submit body's schema without the fields each tick sets (422 in a schedule's task)."""
    schema = copy.deepcopy(TASK_SPEC_SCHEMA)
    for name in REFUSED_TASK_FIELDS:
        del schema["properties"][name]
    schema["title"] = "ScheduleTask"
    return schema


class ScheduleDefinitionBody(BaseModel):
    """`POST /api/v1/schedules` as documented; `core.schedules.parse_definition` enforces it."""

    model_config = ConfigDict(extra="forbid", title="ScheduleDefinition")

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=f"^{NAME_RE.pattern}$")
    cron: str | None = Field(
        None, description="5 fields, or @hourly, @daily, @weekly, @monthly, @yearly; exactly one of cron and every"
    )
    every: float | None = Field(None, ge=1, le=MAX_EVERY_S, description="Seconds between ticks (from the Unix epoch)")
    timezone: str | None = Field(
        "UTC", description="IANA name (null: UTC); cron's wall times are in it (with every: only shown)"
    )
    task: dict[str, Any] = Field(description="The task each tick submits, as POST /api/v1/tasks takes it")


SCHEDULE_SCHEMA: dict[str, Any] = ScheduleDefinitionBody.model_json_schema()
SCHEDULE_SCHEMA["properties"]["task"] = {**_schedule_task_schema(), "description": "The task each tick submits"}


class Schedule(BaseModel):
    """A schedule as the API shows it (`wire.schedule_json`); times RFC 3339 UTC."""

    name: str
    cron: str | None
    every: float | None = Field(description="Seconds; null for a cron schedule")
    timezone: str
    task: dict[str, Any] = Field(description="The task each tick submits, defaults filled in")
    paused: bool
    created_at: str
    updated_at: str
    next_run_at: str | None = Field(description="Null while paused")
    last_run_at: str | None = Field(description="The last tick fired")
    last_task_id: str | None = Field(description="The task that tick submitted")


class ScheduleList(BaseModel):
    schedules: list[Schedule] = Field(description="By name")


def schedule_response(description: str) -> dict[str, Any]:
    return {"model": Schedule, "description": description}
