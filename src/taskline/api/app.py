"""`create_app(settings)`: the FastAPI application, its routes and middleware.

Its lifespan runs a `taskline.server.Server` (the backend, the service, the scheduler and
the built-in worker) and hands the service to the routes; the app only assembles routes.
"""

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from taskline import __version__
from taskline.api import errors
from taskline.api.auth import SECURITY_SCHEMES
from taskline.api.closing import Closing
from taskline.api.guard import RoleGuard, RouteAccess, declared, routes_of
from taskline.api.lean import LeanRoutes
from taskline.api.limits import BodyLimit, RateLimit, TakeToken
from taskline.api.redact import redact_keys_in_uvicorn_logs
from taskline.api.routes import admin, health, identity, metrics, schedules, series, tasks, workers, ws
from taskline.backends.base import Backend
from taskline.config import Settings
from taskline.core.clock import Clock
from taskline.dashboard import routes as dashboard
from taskline.metrics.http import HttpMeter, HttpMetrics
from taskline.server import Server

log = logging.getLogger("taskline")


def create_app(settings: Settings, *, backend: Backend | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app. Pass `backend` to share one already open (it is then not closed here)."""
    key_roles = settings.key_roles()  # fail at start, not on the first request, if malformed
    settings.postgres_dsn()  # the same for TASKLINE_POSTGRES_URL
    redact_keys_in_uvicorn_logs()  # however the app is served: /ws takes a key in its query

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.closing.bind()
        if not key_roles:
            log.warning("no API keys are configured (TASKLINE_API_KEYS): the API is open to anyone who can reach it")
        async with Server(settings, backend=backend, clock=clock, closing=app.state.closing.wait) as server:
            app.state.server = server
            app.state.service = server.service
            if settings.rate_limit_rps > 0:
                app.state.take_token = partial(
                    server.service.take_token, rate=settings.rate_limit_rps, burst=settings.rate_limit_burst
                )
            yield

    app = FastAPI(
        title="Taskline",
        version=__version__,
        description="A distributed task queue service: submit tasks over HTTP from any language; "
        "workers lease them, run them and report back.",
        lifespan=lifespan,
        # Taskline counts its own requests (/metrics); FastAPI's OpenTelemetry bridge, on by
        # default, looked for configured providers on every request (~6% of a submit's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    _document_security(app)
    app.state.key_roles = key_roles
    app.state.started = time.monotonic()
    app.state.take_token = None
    app.state.closing = Closing()
    app.state.http_meter = HttpMeter()  # per app, not global: tests build many apps in one process
    errors.install(app)
    app.state.sockets = ws.SocketLimits()
    routers = [module.router for module in (tasks, series, schedules, workers, admin, health, metrics, identity, ws)]
    for router in routers:
        app.include_router(router)
    app.include_router(dashboard.router)  # not lean: a page load is not a hot path
    # Built now, not with the middleware on the first request: a route declaring no roles fails here.
    framework_open = (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    access = RouteAccess(app.routes, settings, framework_open=[path for path in framework_open if path])
    app.state.route_access = access  # who may call what: SECURITY.md's tests read it

    def take_token() -> TakeToken | None:
        take: TakeToken | None = app.state.take_token
        return take

    # Added last runs first: the caller's role is checked before anything about its request
    # (who first, then what), size before the rate limit spends a token, and the lean routes
    # (innermost) answer only requests that passed all three.
    app.add_middleware(LeanRoutes, routes=[route for router in routers for route in router.routes])
    app.add_middleware(RateLimit, take_token=take_token, keys_on=bool(key_roles))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RoleGuard, access=access, key_roles=key_roles)
    if settings.cors_origin_list():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After", "X-Taskline-Source"],
        )
    # Outermost, so it also counts what the limits and CORS answer themselves.
    app.add_middleware(HttpMetrics, meter=app.state.http_meter)
    return app


def _document_security(app: FastAPI) -> None:
    """Every operation takes a key unless it says `security: []`: the routes the guard opens
    (`open_route`, and `/metrics`, open by default), read from the same declarations."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # FastAPI keeps it in app.openapi_schema
            document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            document["security"] = [{name: []} for name in SECURITY_SCHEMES]
            for route in routes_of(app.routes):
                found = declared(route)
                operations = document["paths"].get(route.path, {})
                if found is not None and (found.roles is None or found.open_if is not None):
                    for method in route.methods or ():
                        if method.lower() in operations:
                            operations[method.lower()]["security"] = []
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
