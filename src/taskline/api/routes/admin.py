"""Admin routes (SPEC §3 "Admin"): workers, queues, manual retry and the dead-letter queue;
admin role only. `/admin/health` lives with `/health` in health.py.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

import taskline.api.paths  # noqa: F401  (registers the `segments` path convertor)
from taskline.api.auth import ADMINS
from taskline.api.body import read_options
from taskline.api.deps import service_of
from taskline.api.guard import requires
from taskline.api.render import JSONResponse
from taskline.api.routes.tasks import TaskId, retry_task
from taskline.api.schemas import ERRORS
from taskline.errors import ValidationFailed
from taskline.wire import queue_json, task_json, worker_json

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERRORS)
QueueName = Annotated[str, Path(description="The queue's name", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
WorkerId = Annotated[str, Path(min_length=1, max_length=128, description="The worker's id, as it polls with")]


@router.get("/workers", summary="Workers seen in the last minute")
@requires(ADMINS)
async def workers(request: Request) -> Response:
    """`{"workers": [...]}` by id, each with id, host, pid, queues and types (empty: any),
    concurrency, active, processed, failed, state (`active`/`paused`), started_at, last_seen.
    A worker that only polls shows its first poll's queues and types and no host or counts."""
    return JSONResponse({"workers": [worker_json(w) for w in await service_of(request).workers()]})


@router.get("/workers/{worker_id:segments}", summary="One worker seen in the last minute")
@requires(ADMINS)
async def worker(request: Request, worker_id: WorkerId) -> Response:
    """`{"workers": [worker]}`, the list's shape (SPEC §3 gives one for both); 404 when no
    such worker was seen in the last minute."""
    return JSONResponse({"workers": [worker_json(await service_of(request).worker(worker_id))]})


@router.post("/workers/{worker_id:segments}/pause", summary="The worker takes no new tasks and finishes what it has")
@requires(ADMINS)
async def pause_worker(request: Request, worker_id: WorkerId) -> Response:
    """`{"workers": [worker]}` with state `paused`; the worker stops taking tasks within a
    second. 404 if the registry has no such worker."""
    return JSONResponse({"workers": [worker_json(await service_of(request).pause_worker(worker_id))]})


@router.post("/workers/{worker_id:segments}/resume", summary="A paused worker takes tasks again")
@requires(ADMINS)
async def resume_worker(request: Request, worker_id: WorkerId) -> Response:
    """`{"workers": [worker]}` with state `active`, within a second. 404 if the registry has
    no such worker."""
    return JSONResponse({"workers": [worker_json(await service_of(request).resume_worker(worker_id))]})


@router.get("/queues", summary="Every queue's depth and state counts")
@requires(ADMINS)
async def queues(request: Request) -> Response:
    return JSONResponse({"queues": [queue_json(q) for q in await service_of(request).queues()]})


@router.post("/queues/{name}/pause", summary="Stop workers taking from a queue (submits still accepted)")
@requires(ADMINS)
async def pause_queue(request: Request, name: QueueName) -> Response:
    await service_of(request).pause_queue(name)
    return JSONResponse({"queue": name, "paused": True})


@router.post("/queues/{name}/resume", summary="Let workers take from a paused queue again")
@requires(ADMINS)
async def resume_queue(request: Request, name: QueueName) -> Response:
    await service_of(request).resume_queue(name)
    return JSONResponse({"queue": name, "paused": False})


@router.delete("/queues/{name}", summary="Delete a queue's pending tasks (one priority, or all)")
@requires(ADMINS)
async def purge_queue(
    request: Request,
    name: QueueName,
    priority: Annotated[str | None, Query(description="low, normal, high, critical or 0-3; omitted: all")] = None,
) -> Response:
    return JSONResponse({"purged": await service_of(request).purge(name, priority=priority)})


@router.post("/tasks/{task_id}/retry", summary="Re-run a failed or cancelled task")
@requires(ADMINS)
async def retry(request: Request, task_id: TaskId) -> Response:
    return JSONResponse(task_json(await retry_task(request, task_id)))


@router.get("/dlq", summary="Failed tasks, most recently failed first")
@requires(ADMINS)
async def dlq(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    page = await service_of(request).dlq_list(limit=limit, cursor=cursor)
    return JSONResponse({"tasks": [task_json(t) for t in page.tasks], "next_cursor": page.next_cursor})


@router.post(
    "/dlq/retry",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "ids": {
                                "type": "array",
                                "items": {"type": "string", "minLength": 1},
                                "minItems": 1,
                                "maxItems": 1000,
                            }
                        },
                        "additionalProperties": False,
                    }
                }
            },
        }
    },
    summary="Retry the listed failed tasks, or all of them",
)
@requires(ADMINS)
async def dlq_retry(request: Request) -> Response:
    """`{"ids": [...]}` retries those (ids not failed are skipped); no body retries every failed task."""
    body = await read_options(request, frozenset({"ids"}))
    if body is not None and "ids" in body and body["ids"] is None:
        # Only leaving `ids` out means all: a client whose list came out null must not
        # retry every failed task.
        message = "must be an array of task ids; leave ids out to retry every failed task"
        raise ValidationFailed("ids must be a list of task ids", [{"field": "ids", "message": message}])
    ids = body.get("ids") if body else None
    return JSONResponse({"retried": await service_of(request).dlq_retry(ids)})


@router.delete("/dlq", summary="Delete every failed task")
@requires(ADMINS)
async def dlq_delete(request: Request) -> Response:
    return JSONResponse({"deleted": await service_of(request).dlq_delete()})
