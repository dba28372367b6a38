"""`GET /metrics`: Prometheus text. Open unless `TASKLINE_OPEN_METRICS=false`, then admin only."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskline import __version__
from taskline.api.auth import ADMINS, OPEN, authorize
from taskline.api.deps import service_of
from taskline.metrics.collector import CONTENT_TYPE, Snapshot, render

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    openapi_extra=OPEN,
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    """Task counters, run and wait histograms, queue depths and workers, read from the backend
    (the same on every instance sharing it), and this process's HTTP request and event-stream metrics.

    Open by default; with `TASKLINE_OPEN_METRICS=false` it takes an admin key (401 without a
    valid key, 403 for other roles)."""
    if not request.app.state.open_metrics:
        authorize(request, ADMINS)
    service = service_of(request)
    snapshot = Snapshot(
        tasks=await service.task_metrics(),
        queues=await service.queues(),
        workers=await service.workers(),
        http=request.app.state.http_meter,
        events=request.app.state.server.hub.stats(),
        version=__version__,
        backend=service.backend_name,
    )
    return Response(render(snapshot), media_type=CONTENT_TYPE)
