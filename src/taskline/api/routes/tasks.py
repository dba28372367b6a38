"""Producer routes: submit, bulk submit, read, list, cancel, retry, stats, queues."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from taskline.api.auth import PRODUCERS, READERS
from taskline.api.body import read_json, read_options
from taskline.api.deps import service_of
from taskline.api.guard import requires
from taskline.api.lean import lean
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS, IDEMPOTENCY_KEY, TASK_SPEC_SCHEMA, task_response
from taskline.core.sentinel import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import Source, TaskFilter
from taskline.wire import queue_json, task_json

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=ERRORS)
TaskId = Annotated[
    str,
    Path(
        description="The task's id (a UUIDv7), or a prefix of it of 8 or more hex digits (dashes optional) "
        "that no other stored task's id starts with (409 `ambiguous_id` if several do)"
    ),
]


@router.post(
    "/tasks",
    status_code=201,
    openapi_extra={
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": TASK_SPEC_SCHEMA}}},
    },
    responses={
        201: task_response("The new task"),
        200: task_response("The existing task a unique_key or Idempotency-Key names"),
    },
    summary="Submit a task",
)
@lean
@requires(PRODUCERS)
async def submit(request: Request) -> Response:
    """201 with the new task; 200 with the existing one when `unique_key` (or the
    `Idempotency-Key` header) names a live task."""
    submitted = await service_of(request).submit(
        await read_json(request), idempotency_key=request.headers.get("idempotency-key")
    )
    return JSONResponse(task_json(submitted.task), status_code=201 if submitted.created else 200)


@router.post(
    "/tasks/bulk",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": TASK_SPEC_SCHEMA, "minItems": 1, "maxItems": 1000}
                }
            },
        }
    },
    responses={201: task_response('`{"tasks": [...]}` in request order', task_id="/tasks/0/id")},
    summary="Submit 1–1000 tasks, all or nothing",
)
@lean
@requires(PRODUCERS)
async def submit_bulk(request: Request) -> Response:
    results = await service_of(request).submit_many(await read_json(request))
    return JSONResponse({"tasks": [task_json(r.task) for r in results]}, status_code=201)


SOURCE_HEADER = "X-Taskline-Source"
"""On a task read: `live`, or `history` when the task came from PostgreSQL history."""


@router.get(
    "/tasks/{task_id}",
    summary="Read a task",
    responses={200: {"headers": {SOURCE_HEADER: {"description": "live, or history", "schema": {"type": "string"}}}}},
)
@requires(READERS)
async def get_task(request: Request, task_id: TaskId) -> Response:
    """The task from the live backend, or, once retention removed it and history is on
    (TASKLINE_POSTGRES_URL), from PostgreSQL history; `X-Taskline-Source` says which."""
    task, source = await service_of(request).find(task_id)
    return JSONResponse(task_json(task), headers={SOURCE_HEADER: source})


@router.post(
    "/tasks/short-ids",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 500}
                        },
                        "required": ["ids"],
                        "additionalProperties": False,
                    }
                }
            },
        }
    },
    responses={
        200: {
            "description": '`{"short_ids": {"<id>": "<its abbreviation>"}}`',
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"short_ids": {"type": "object", "additionalProperties": {"type": "string"}}},
                        "required": ["short_ids"],
                    }
                }
            },
        }
    },
    summary="Abbreviate task ids",
)
@requires(READERS)
async def short_ids(request: Request) -> Response:
    """Each id's shortest prefix (at least 8 hex digits) that no other stored task's id starts
    with: what `GET`, `DELETE /tasks/{id}` and `POST /tasks/{id}/retry` take in its place."""
    body = await read_options(request, frozenset({"ids"}))
    ids = body.get("ids") if body else None
    return JSONResponse({"short_ids": await service_of(request).short_ids(ids)})


@router.get("/tasks", summary="List tasks, newest first")
@requires(READERS)
async def list_tasks(
    request: Request,
    state: TaskState | None = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    source: Annotated[
        Source,
        Query(description="`live` (default): the live backend; `history`: PostgreSQL history (TASKLINE_POSTGRES_URL)"),
    ] = "live",
) -> Response:
    """Newest first, filtered by `state`, `type`, `queue`; `next_cursor` pages on. With
    `source=history` the same from PostgreSQL history (422 when the server has none)."""
    page = await service_of(request).list_tasks(
        TaskFilter(state=state, type=type, queue=queue), limit=limit, cursor=cursor, source=source
    )
    return JSONResponse({"tasks": [task_json(t) for t in page.tasks], "next_cursor": page.next_cursor})


@router.delete("/tasks/{task_id}", summary="Cancel a task")
@requires(PRODUCERS)
async def cancel(request: Request, task_id: TaskId) -> Response:
    return JSONResponse(task_json(await service_of(request).cancel(task_id)))


@router.post(
    "/tasks/{task_id}/retry",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"payload": {}}, "additionalProperties": False}
                }
            },
        }
    },
    summary="Re-run a failed or cancelled task",
)
@requires(PRODUCERS)
async def retry(request: Request, task_id: TaskId) -> Response:
    return JSONResponse(task_json(await retry_task(request, task_id)))


async def retry_task(request: Request, task_id: str) -> Any:
    """Shared by this route and `/admin/tasks/{id}/retry`: an optional `{"payload"}` body."""
    body = await read_options(request, frozenset({"payload"}))
    payload = body["payload"] if body and "payload" in body else UNCHANGED
    return await service_of(request).retry(task_id, payload=payload)


@router.get("/stats", summary="Tasks per state, and workers seen in the last minute")
@requires(READERS)
async def stats(request: Request) -> Response:
    stats = await service_of(request).stats()
    states = {state.value: n for state, n in stats.states.items()}
    return JSONResponse({"states": states, "total": stats.total, "workers": stats.workers})


@router.get("/queues", summary="Every queue's depth and state counts")
@requires(READERS)
async def queues(request: Request) -> Response:
    return JSONResponse({"queues": [queue_json(q) for q in await service_of(request).queues()]})
