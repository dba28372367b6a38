"""`GET /api/v1/stats/series`: tasks per minute, for the dashboard's throughput and wait charts."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from taskline.api.auth import READERS
from taskline.api.deps import service_of
from taskline.api.guard import requires
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS
from taskline.core.samples import KEPT_MINUTES, MINUTE_S
from taskline.errors import ValidationFailed
from taskline.wire import minute_json

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=ERRORS)
_PARAMETERS = frozenset({"minutes"})


@router.get("/stats/series", summary="Tasks completed, failed, retried, submitted, cancelled per minute")
@requires(READERS)
async def stats_series(
    request: Request,
    minutes: Annotated[int, Query(ge=1, le=KEPT_MINUTES, description="How many minutes, ending now")] = 60,
) -> Response:
    """`{"interval_s": 60, "minutes": [...]}`: exactly `minutes` entries, oldest first, the last
    the current (partial) minute. Each has `start` (RFC 3339), the counts `completed`, `failed`,
    `retried`, `submitted`, `cancelled`, and `wait_s`/`run_s` as `{count, avg, p50, p95}` in
    seconds (percentiles estimated from the histogram buckets; null when the count is 0).
    Cluster-wide, all queues: a minute when no server was running has null figures."""
    # Samples are kept for all queues together, so `?queue=` cannot be answered: refusing an
    # unknown parameter beats answering cluster-wide figures to a caller who asked for one queue.
    if unknown := sorted(set(request.query_params) - _PARAMETERS):
        raise ValidationFailed(
            "unknown query parameter", [{"field": name, "message": "not a parameter of this route"} for name in unknown]
        )
    figures = await service_of(request).series(minutes)
    return JSONResponse({"interval_s": MINUTE_S, "minutes": [minute_json(f) for f in figures]})
