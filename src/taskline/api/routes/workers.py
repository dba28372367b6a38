"""External-worker routes: long poll, heartbeat, complete, fail. Any language that speaks
HTTP is a worker through these four; complete and fail (`?next=N`) and the batch route
`/outcomes` also lease the next tasks in the same step, so a busy worker needs no poll. A
worker may also report itself to the worker registry (`/api/v1/workers/{id}/heartbeat`) and
say it left (`DELETE /api/v1/workers/{id}`)."""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

import taskline.api.paths  # noqa: F401  (registers the `segments` path convertor)
from taskline.api.auth import WORKERS
from taskline.api.closing import unless_abandoned
from taskline.api.deps import service_of
from taskline.api.guard import requires
from taskline.api.lean import lean
from taskline.api.render import JSONResponse
from taskline.api.schemas import (
    ERRORS,
    CompleteBody,
    FailBody,
    HeartbeatBody,
    OutcomesBody,
    ReleaseBody,
    WorkerReportBody,
    links,
)
from taskline.core.outcomes import MAX_NEXT, Completion, Failure, LeaseAsk, Outcome
from taskline.core.task import Lease
from taskline.errors import ValidationFailed
from taskline.wire import lease_json, rfc3339, settled_json, task_json

router = APIRouter(prefix="/api/v1", tags=["workers"], responses=ERRORS)
TaskId = Annotated[str, Path(description="The task's id")]
WorkerId = Annotated[str, Path(min_length=1, max_length=128, description="The worker's id, as it polls with")]
NameList = Annotated[str | None, Query(max_length=4096, pattern=r"^[A-Za-z0-9_.:,-]*$")]


def _names(value: str | None) -> list[str] | None:
    names = [name for name in (value or "").split(",") if name]
    return names or None


@router.get(
    "/poll",
    responses={
        200: {"description": "The leased tasks", "links": links("/tasks/0/id", token="/tasks/0/lease/token")},
        204: {"description": "Nothing came within `wait`"},
    },
    summary="Lease tasks, waiting up to `wait` seconds for one",
)
@lean
@requires(WORKERS)
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
    service = service_of(request)
    polling = service.poll(worker_id=worker_id, queues=_names(queues), types=_names(types), wait_s=wait, max=max)
    # A waiting poll ends early when its client goes or the server shuts down; the poll hands
    # back anything it leased as it is cancelled.
    leases = await unless_abandoned(request, request.app.state.closing, polling, []) if wait else await polling
    if not await _unless_gone(request, leases):
        return Response(status_code=204)
    return JSONResponse({"tasks": [lease_json(lease) for lease in leases]})


@router.post("/tasks/{task_id}/heartbeat", summary="Renew a lease; learn of a cancel")
@lean
@requires(WORKERS)
async def heartbeat(request: Request, task_id: TaskId, body: HeartbeatBody) -> Response:
    ack = await service_of(request).heartbeat(task_id, body.token, progress=body.progress)
    return JSONResponse({"expires_at": rfc3339(ack.expires_at), "cancel_requested": ack.cancel_requested})


NextCount = Annotated[int, Query(ge=0, le=MAX_NEXT, description="Lease up to this many tasks in the same step")]
LeasingWorker = Annotated[
    str | None, Query(min_length=1, max_length=128, description="Who leases the next tasks; needed with next")
]


def next_leases(
    count: int, worker_id: str | None, queues: Sequence[str] | None, types: Sequence[str] | None
) -> LeaseAsk | None:
    """What a report asks leased with it (None: nothing, today's plain report).

    Raises:
        ValidationFailed: `next` without `worker_id`, or the lease's fields without `next`.
    """
    if count == 0:
        given = [name for name, value in (("worker_id", worker_id), ("queues", queues), ("types", types)) if value]
        if given:
            details = [{"field": name, "message": "only goes with next of 1 or more"} for name in given]
            raise ValidationFailed("the lease's fields need next", details)
        return None
    if worker_id is None:
        raise ValidationFailed("next needs a worker_id", [{"field": "worker_id", "message": "is required with next"}])
    return LeaseAsk(worker_id, count, queues, types)


async def _unless_gone(request: Request, leases: list[Lease]) -> list[Lease]:
    """`leases`, or none when the client has gone: they are handed back, as nobody will receive
    them (else they would wait out their lease and each cost its task an attempt)."""
    if leases and await request.is_disconnected():
        await service_of(request).hand_back(leases)
        return []
    return leases


async def _report(request: Request, outcome: Outcome, then_lease: LeaseAsk | None) -> Response:
    ended, leases = await service_of(request).settle_one(outcome, then_lease)
    if then_lease is None:
        return JSONResponse(task_json(ended))
    leases = await _unless_gone(request, leases)
    return JSONResponse({**task_json(ended), "next": [lease_json(lease) for lease in leases]})


@router.post("/tasks/{task_id}/complete", summary="Finish an attempt with its result")
@lean
@requires(WORKERS)
async def complete(
    request: Request,
    task_id: TaskId,
    body: CompleteBody,
    next: NextCount = 0,
    worker_id: LeasingWorker = None,
    queues: NameList = None,
    types: NameList = None,
) -> Response:
    """200 with the task. With `next=N` (and `worker_id`; `queues`, `types` as on `/poll`), the
    same step also leases up to N tasks for the worker: the task gains `"next": [task + lease]`."""
    then_lease = next_leases(next, worker_id, _names(queues), _names(types))
    return await _report(request, Completion(task_id, body.token, body.result), then_lease)


@router.post("/tasks/{task_id}/fail", summary="Fail an attempt")
@lean
@requires(WORKERS)
async def fail(
    request: Request,
    task_id: TaskId,
    body: FailBody,
    next: NextCount = 0,
    worker_id: LeasingWorker = None,
    queues: NameList = None,
    types: NameList = None,
) -> Response:
    """200 with the task. `next=N` leases the worker's next tasks in the same step, as on `complete`."""
    then_lease = next_leases(next, worker_id, _names(queues), _names(types))
    outcome = Failure(task_id, body.token, body.error, body.retry, body.retry_after)
    return await _report(request, outcome, then_lease)


@router.post("/outcomes", summary="Report many attempts' outcomes; lease the next tasks in the same step")
@lean
@requires(WORKERS)
async def outcomes(request: Request, body: OutcomesBody) -> Response:
    """200 `{"results": [...], "tasks": [...]}`: per outcome, in order, `{"id", "state"}` or
    `{"id", "error": {"code", "message"}}` (a stale token or unknown task fails alone, with
    `lease_lost` or `not_found`); and with `next=N`, up to N leased tasks as `/poll` gives them."""
    then_lease = next_leases(body.next, body.worker_id, body.queues, body.types)
    settlement = await service_of(request).settle([item.outcome() for item in body.outcomes], then_lease=then_lease)
    results = [settled_json(settled) for settled in settlement.settled]
    leases = await _unless_gone(request, settlement.leases)
    return JSONResponse({"results": results, "tasks": [lease_json(lease) for lease in leases]})


@router.post("/tasks/{task_id}/release", summary="Hand a task back without using up its attempt")
@requires(WORKERS)
async def release(request: Request, task_id: TaskId, body: ReleaseBody) -> Response:
    """running → pending (→ cancelled if a cancel was requested): a worker shutting down gives back
    what it has not started or could not finish, and the attempt does not count."""
    return JSONResponse(task_json(await service_of(request).release(task_id, body.token)))


@router.post(
    "/workers/{worker_id:segments}/heartbeat", summary="Report this worker to the registry; learn if it is paused"
)
@requires(WORKERS)
async def worker_heartbeat(request: Request, worker_id: WorkerId, body: WorkerReportBody) -> Response:
    """An addition to SPEC §3 for "workers register and heartbeat" (SPEC §5): a worker sends
    its details about once a second (any field left out keeps its last value) and gets
    200 `{"state": "active" | "paused"}`. A paused worker takes no new tasks and finishes
    what it has. Polling alone also registers a worker, without these details."""
    state = await service_of(request).worker_heartbeat(worker_id, body.details())
    return JSONResponse({"state": state.value})


@router.delete("/workers/{worker_id:segments}", status_code=204, summary="Say this worker has shut down")
@requires(WORKERS)
async def worker_left(request: Request, worker_id: WorkerId) -> Response:
    """An addition to SPEC §3: a worker shutting down leaves `/admin/workers` at once instead of
    a minute after its last sighting. 204 whether or not the registry knew it."""
    await service_of(request).worker_left(worker_id)
    return Response(status_code=204)
