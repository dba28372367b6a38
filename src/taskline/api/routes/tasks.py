"""Producer routes: submit, bulk submit, read, list, cancel, retry, stats, queues."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from taskline.api.auth import PRODUCE, READ
from taskline.api.body import read_json
from taskline.api.deps import Service
from taskline.api.render import JSONResponse, task_json
from taskline.api.schemas import ERRORS, TASK_SPEC_SCHEMA
from taskline.backends.base import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, TaskFilter
from taskline.errors import ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=ERRORS)
TaskId = Annotated[str, Path(description="The task's id (a UUIDv7)")]


@router.post(
    "/tasks",
    status_code=201,
    dependencies=[PRODUCE],
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": TASK_SPEC_SCHEMA}}}},
    summary="Submit a task",
)
async def submit(
    request: Request,
    service: Service,
    idempotency_key: Annotated[str | None, Header(max_length=256)] = None,
) -> Response:
    """201 with the new task; 200 with the existing one when `unique_key` (or the
    `Idempotency-Key` header) names a live task."""
    submitted = await service.submit(await read_json(request), idempotency_key=idempotency_key)
    return JSONResponse(task_json(submitted.task), status_code=201 if submitted.created else 200)


@router.post(
    "/tasks/bulk",
    status_code=201,
    dependencies=[PRODUCE],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": TASK_SPEC_SCHEMA}}},
        }
    },
    summary="Submit 1–1000 tasks, all or nothing",
)
async def submit_bulk(request: Request, service: Service) -> Response:
    results = await service.submit_many(await read_json(request))
    return JSONResponse({"tasks": [task_json(r.task) for r in results]}, status_code=201)


@router.get("/tasks/{task_id}", dependencies=[READ], summary="Read a task")
async def get_task(task_id: TaskId, service: Service) -> Response:
    return JSONResponse(task_json(await service.get(task_id)))


@router.get("/tasks", dependencies=[READ], summary="List tasks, newest first")
async def list_tasks(
    service: Service,
    state: TaskState | None = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    page = await service.list_tasks(TaskFilter(state=state, type=type, queue=queue), limit=limit, cursor=cursor)
    return JSONResponse({"tasks": [task_json(t) for t in page.tasks], "next_cursor": page.next_cursor})


@router.delete("/tasks/{task_id}", dependencies=[PRODUCE], summary="Cancel a task")
async def cancel(task_id: TaskId, service: Service) -> Response:
    return JSONResponse(task_json(await service.cancel(task_id)))


@router.post(
    "/tasks/{task_id}/retry",
    dependencies=[PRODUCE],
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object", "properties": {"payload": {}}}}},
        }
    },
    summary="Re-run a failed or cancelled task",
)
async def retry(task_id: TaskId, request: Request, service: Service) -> Response:
    return JSONResponse(task_json(await retry_task(task_id, request, service)))


async def retry_task(task_id: str, request: Request, service: Service) -> Any:
    """Shared by this route and `/admin/tasks/{id}/retry`: an optional `{"payload"}` body."""
    body = await read_json(request, optional=True)
    if body is not None and (not isinstance(body, dict) or set(body) - {"payload"}):
        raise ValidationFailed(
            "the body may only hold a payload", [{"field": "", "message": 'must be {"payload": ...}'}]
        )
    return await service.retry(task_id, payload=body["payload"] if body and "payload" in body else UNCHANGED)


@router.get("/stats", dependencies=[READ], summary="Tasks per state")
async def stats(service: Service) -> Response:
    counts = await service.stats()
    states = {state.value: counts.get(state, 0) for state in TaskState}
    return JSONResponse({"states": states, "total": sum(states.values()), "workers": 0})


def queue_json(q: QueueStats) -> dict[str, Any]:
    return {
        "name": q.name,
        "paused": q.paused,
        "pending": dict(zip(("low", "normal", "high", "critical"), q.pending, strict=True)),
        "scheduled": q.scheduled,
        "running": q.running,
        "retrying": q.retrying,
        "failed": q.failed,
        "completed": q.completed,
        "cancelled": q.cancelled,
    }


@router.get("/queues", dependencies=[READ], summary="Every queue's depth and state counts")
async def queues(service: Service) -> Response:
    return JSONResponse({"queues": [queue_json(q) for q in await service.queues()]})
