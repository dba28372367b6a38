"""`GET /metrics`: Prometheus text. Open unless `TASKLINE_OPEN_METRICS=false`, then admin only."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskline import __version__
from taskline.api.auth import ADMINS
from taskline.api.deps import service_of
from taskline.api.guard import requires
from taskline.metrics.collector import CONTENT_TYPE, HistoryFigures, Snapshot, render

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}},
)
@requires(ADMINS, open_if="open_metrics")
async def metrics(request: Request) -> Response:
    """Task counters, run and wait histograms, queue depths and workers, read from the backend
    (the same on every instance sharing it), and this process's HTTP request and event-stream metrics;
    the archive outbox's depth and lag (PostgreSQL history) and this process's archived count.

    Open by default; with `TASKLINE_OPEN_METRICS=false` it takes an admin key (401 without a
    valid key, 403 for other roles)."""
    service = service_of(request)
    server = request.app.state.server
    # The outbox always: entries piling up with no server archiving them must show (0 when empty).
    backlog = await service.archive_backlog()
    lag_s = 0.0 if backlog.oldest_at is None else max(0.0, service.clock.now() - backlog.oldest_at)
    archiver = server.archiver
    history = HistoryFigures(
        archiver.archived if archiver is not None else 0,
        backlog.depth,
        lag_s,
        archiver.set_aside if archiver is not None else 0,
    )
    snapshot = Snapshot(
        tasks=await service.task_metrics(),
        queues=await service.queues(),
        workers=await service.workers(),
        http=request.app.state.http_meter,
        events=request.app.state.server.hub.stats(),
        version=__version__,
        backend=service.backend_name,
        history=history,
    )
    return Response(render(snapshot), media_type=CONTENT_TYPE)
