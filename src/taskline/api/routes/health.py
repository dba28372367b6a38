"""Liveness with the backend's answer: 200 healthy, 503 when the store does not answer; on a
Redis Cluster, 200 while any node answers, with the nodes that do not listed."""

import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskline import __version__
from taskline.api.deps import service_of
from taskline.api.guard import open_route
from taskline.api.render import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is the server and its backend up?")
@router.get("/admin/health", summary="Is the server and its backend up?")
@open_route
async def health(request: Request) -> Response:
    service = service_of(request)
    # One bounded look (a hung store is unhealthy, not a hung check); on a cluster one round of
    # PINGs says both whether any node answers and which do not.
    healthy, down = await service.health()
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "backend": service.backend_name,
        "version": __version__,
        "uptime_s": round(time.monotonic() - request.app.state.started, 3),
    }
    if healthy and down is not None:
        body["unreachable_nodes"] = down  # a Redis Cluster: up while any node answers
    return JSONResponse(body, status_code=200 if healthy else 503)
