"""External-worker routes: long poll, heartbeat, complete, fail. Any language that speaks
HTTP is a worker through these four; a worker may also report itself to the worker registry
(`/api/v1/workers/{id}/heartbeat`) and say it left (`DELETE /api/v1/workers/{id}`)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from taskline.api.auth import WORKERS, authorize
from taskline.api.closing import unless_abandoned
from taskline.api.deps import service_of
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS, CompleteBody, FailBody, HeartbeatBody, ReleaseBody, WorkerReportBody
from taskline.wire import lease_json, rfc3339, task_json

router = APIRouter(prefix="/api/v1", tags=["workers"], responses=ERRORS)
TaskId = Annotated[str, Path(description="The task's id")]
WorkerId = Annotated[str, Path(min_length=1, max_length=128, description="The worker's id, as it polls with")]
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
    """200 `{"tasks": [...]}` with each task's `lease`; 204 when nothing came within `wait`.

    The poll registers `worker_id` in the worker registry (`/admin/workers`); a paused
    worker's poll leases nothing (204 after `wait`, or its tasks if resumed meanwhile)."""
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


@router.post("/workers/{worker_id}/heartbeat", summary="Report this worker to the registry; learn if it is paused")
async def worker_heartbeat(request: Request, worker_id: WorkerId, body: WorkerReportBody) -> Response:
    """An addition to SPEC §3 for "workers register and heartbeat" (SPEC §5): a worker sends
    its details about once a second (any field left out keeps its last value) and gets
    200 `{"state": "active" | "paused"}`. A paused worker takes no new tasks and finishes
    what it has. Polling alone also registers a worker, without these details."""
    authorize(request, WORKERS)
    record = await service_of(request).worker_heartbeat(worker_id, body.details())
    return JSONResponse({"state": record.state.value})


@router.delete("/workers/{worker_id}", status_code=204, summary="Say this worker has shut down")
async def worker_left(request: Request, worker_id: WorkerId) -> Response:
    """An addition to SPEC §3: a worker shutting down leaves `/admin/workers` at once instead of
    a minute after its last sighting. 204 whether or not the registry knew it."""
    authorize(request, WORKERS)
    await service_of(request).worker_left(worker_id)
    return Response(status_code=204)
