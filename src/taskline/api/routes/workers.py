"""External-worker routes: long poll, heartbeat, complete, fail. Any language that speaks
HTTP is a worker through these four."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from taskline.api.auth import WORKERS, authorize
from taskline.api.closing import unless_abandoned
from taskline.api.deps import service_of
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS, CompleteBody, FailBody, HeartbeatBody, ReleaseBody
from taskline.wire import lease_json, rfc3339, task_json

router = APIRouter(prefix="/api/v1", tags=["workers"], responses=ERRORS)
TaskId = Annotated[str, Path(description="The task's id")]
NameList = Annotated[str | None, Query(max_length=4096, pattern=r"^[A-Za-z0-9_.:,-]*$")]


def _names(value: str | None) -> list[str] | None:
    names = [name for name in (value or "").split(",") if name]
    return names or None


@router.get("/poll", summary="Lease tasks, waiting up to `wait` seconds for one")
async def poll(
    request: Request,
    worker_id: Annotated[str, Query(min_length=1, max_length=128)],
    types: NameList = None,
    queues: NameList = None,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
    max: Annotated[int, Query(ge=1, le=100)] = 1,
) -> Response:
    """200 `{"tasks": [...]}` with each task's `lease`; 204 when nothing came within `wait`."""
    authorize(request, WORKERS)
    service = service_of(request)
    polling = service.poll(worker_id=worker_id, queues=_names(queues), types=_names(types), wait_s=wait, max=max)
    # A waiting poll ends early when its client goes or the server shuts down; the poll hands
    # back anything it leased as it is cancelled.
    leases = await unless_abandoned(request, request.app.state.closing, polling, []) if wait else await polling
    if leases and await request.is_disconnected():
        await service.hand_back(leases)  # nobody will receive them
        return Response(status_code=204)
    if not leases:
        return Response(status_code=204)
    return JSONResponse({"tasks": [lease_json(lease) for lease in leases]})


@router.post("/tasks/{task_id}/heartbeat", summary="Renew a lease; learn of a cancel")
async def heartbeat(request: Request, task_id: TaskId, body: HeartbeatBody) -> Response:
    authorize(request, WORKERS)
    ack = await service_of(request).heartbeat(task_id, body.token, progress=body.progress)
    return JSONResponse({"expires_at": rfc3339(ack.expires_at), "cancel_requested": ack.cancel_requested})


@router.post("/tasks/{task_id}/complete", summary="Finish an attempt with its result")
async def complete(request: Request, task_id: TaskId, body: CompleteBody) -> Response:
    authorize(request, WORKERS)
    return JSONResponse(task_json(await service_of(request).complete(task_id, body.token, result=body.result)))


@router.post("/tasks/{task_id}/fail", summary="Fail an attempt")
async def fail(request: Request, task_id: TaskId, body: FailBody) -> Response:
    authorize(request, WORKERS)
    ended = await service_of(request).fail(
        task_id, body.token, error=body.error, retry=body.retry, retry_after_s=body.retry_after
    )
    return JSONResponse(task_json(ended))


@router.post("/tasks/{task_id}/release", summary="Hand a task back without using up its attempt")
async def release(request: Request, task_id: TaskId, body: ReleaseBody) -> Response:
    """running → pending (→ cancelled if a cancel was requested): a worker shutting down gives back
    what it has not started or could not finish, and the attempt does not count."""
    authorize(request, WORKERS)
    return JSONResponse(task_json(await service_of(request).release(task_id, body.token)))
