"""Periodic schedules (SPEC §10): create or replace, read, list, delete, pause, resume.

Routes are thin: the definition is checked by `core.schedules`, stored by the backend, and
fired by the scheduler loop (maintenance/scheduler.py).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from taskline.api.auth import PRODUCERS, READERS
from taskline.api.body import read_json
from taskline.api.deps import service_of
from taskline.api.guard import requires
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS, SCHEDULE_SCHEMA, ScheduleList, schedule_response
from taskline.wire import schedule_json

router = APIRouter(prefix="/api/v1", tags=["schedules"], responses=ERRORS)
ScheduleName = Annotated[str, Path(description="The schedule's name")]


@router.post(
    "/schedules",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SCHEDULE_SCHEMA}},
        }
    },
    responses={
        201: schedule_response("The new schedule"),
        200: schedule_response("The schedule, its definition replaced"),
    },
    summary="Create a schedule, or replace the definition of the one of that name",
)
@requires(PRODUCERS)
async def put_schedule(request: Request) -> Response:
    """201 with the new schedule; 200 when one of that name existed: its definition is replaced
    (paused state, created_at and last run kept; the next run computed afresh), so declaring
    the same schedules again is harmless."""
    schedule, created = await service_of(request).put_schedule(await read_json(request))
    return JSONResponse(schedule_json(schedule), status_code=201 if created else 200)


@router.get(
    "/schedules", summary="List schedules, by name", responses={200: {"model": ScheduleList, "description": "By name"}}
)
@requires(READERS)
async def list_schedules(request: Request) -> Response:
    return JSONResponse({"schedules": [schedule_json(s) for s in await service_of(request).schedules()]})


@router.get(
    "/schedules/{name}",
    summary="Read a schedule: its next run and its last task",
    responses={200: schedule_response("The schedule")},
)
@requires(READERS)
async def get_schedule(request: Request, name: ScheduleName) -> Response:
    return JSONResponse(schedule_json(await service_of(request).schedule(name)))


@router.delete("/schedules/{name}", status_code=204, summary="Delete a schedule (the tasks it submitted stay)")
@requires(PRODUCERS)
async def delete_schedule(request: Request, name: ScheduleName) -> Response:
    await service_of(request).delete_schedule(name)
    return Response(status_code=204)


@router.post(
    "/schedules/{name}/pause",
    summary="Pause a schedule (idempotent)",
    responses={200: schedule_response("The schedule, paused")},
)
@requires(PRODUCERS)
async def pause_schedule(request: Request, name: ScheduleName) -> Response:
    return JSONResponse(schedule_json(await service_of(request).pause_schedule(name)))


@router.post(
    "/schedules/{name}/resume",
    summary="Resume a schedule from the next tick after now (idempotent; none made up)",
    responses={200: schedule_response("The schedule, running")},
)
@requires(PRODUCERS)
async def resume_schedule(request: Request, name: ScheduleName) -> Response:
    return JSONResponse(schedule_json(await service_of(request).resume_schedule(name)))
