"""Hot routes answered without FastAPI's per-request machinery ("lean routes").

A route function marked `@lean` is declared with FastAPI's decorators like any other, so the
OpenAPI document is generated from its signature and models, and FastAPI can still serve it.
`LeanRoutes`, the innermost middleware, answers the requests to such a route itself: it
validates the path and query parameters and the JSON body with the same pydantic fields
(a model built once from the signature) and calls the function, skipping the router, the
dependency solving and the exception middleware (docs/benchmarks.md: ~140 µs a request).

Only requests that validate take this path. One that does not (a bad parameter, a body
that is not JSON or not `application/json`, a body that breaks off) is handed on to FastAPI
with its body replayed (or what broke it off raised again), so every error keeps exactly
the shape it has always had. The middlewares outside (metrics, CORS, body limit, rate
limit) see both paths alike. To make a route lean, put `@lean` under its route decorator.
"""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskline.api.errors import http_error, taskline_error_response
from taskline.api.guard import resolved_route
from taskline.errors import TasklineError

Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Response]])
_MARK = "__taskline_lean__"


def lean(endpoint: Endpoint) -> Endpoint:
    """Mark a route function to be served by `LeanRoutes` (put it under the route decorator).

    The function takes a `Request`, path parameters, query parameters and at most one pydantic
    model as its JSON body, declared as FastAPI would read them, and returns a `Response`.
    """
    setattr(endpoint, _MARK, True)
    return endpoint


class _Declined(Exception):
    """The lean path will not take this request; FastAPI answers it."""


@dataclass(slots=True)
class _Plan:
    """How to call one lean route function from a raw request."""

    route: APIRoute
    call: Callable[..., Awaitable[Response]]
    request_arg: str | None
    params: type[BaseModel] | None  # path and query parameters, validated together
    query_names: frozenset[str]
    body: tuple[str, type[BaseModel]] | None  # the argument's name and its model

    def arguments(self, request: Request, path_values: dict[str, str], raw_body: bytes | None) -> dict[str, Any]:
        """The function's keyword arguments, or _Declined if anything does not validate."""
        kwargs: dict[str, Any] = {}
        if self.request_arg is not None:
            kwargs[self.request_arg] = request
        try:
            if self.params is not None:
                given: dict[str, str] = dict(path_values)
                if self.query_names:
                    query = request.query_params  # repeated names: the last wins, as in FastAPI
                    given.update((name, query[name]) for name in self.query_names if name in query)
                kwargs.update(self.params.model_validate(given).__dict__)
            if self.body is not None:
                name, model = self.body
                kwargs[name] = model.model_validate_json(raw_body or b"")
        except ValidationError:
            raise _Declined from None
        return kwargs


def _plan(route: APIRoute) -> _Plan:
    call = route.endpoint
    hints = get_type_hints(call, include_extras=True)
    path_names = frozenset(route.param_convertors)
    request_arg = None
    body: tuple[str, type[BaseModel]] | None = None
    fields: dict[str, Any] = {}
    query_names: set[str] = set()
    for name, parameter in inspect.signature(call).parameters.items():
        annotation = hints[name]
        bare = get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
        if bare is Request:
            request_arg = name
        elif inspect.isclass(bare) and issubclass(bare, BaseModel):
            if body is not None:
                raise TypeError(f"{call.__qualname__}: a lean route takes at most one body model")
            body = name, bare
        else:
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            fields[name] = (annotation, default)
            if name not in path_names:
                query_names.add(name)
    params = create_model(f"{call.__name__}_params", **fields) if fields else None
    return _Plan(route, call, request_arg, params, frozenset(query_names), body)


def _json_content(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
    return False


class LeanRoutes:
    """Serves the `@lean` routes of `routes` (read once, when the app builds its middleware).

    It never matches a path itself: it serves a request only if `guard.RoleGuard`, outside it,
    resolved the request to a lean route and let it through (`guard.resolved_route`), so the
    route run is the route whose roles were checked, read as the router reads a path (after
    root_path). Without the guard in front, FastAPI serves everything.
    """

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        # By the route's identity: routes compare by value (Starlette's __eq__) and do not hash.
        self._plans: dict[tuple[str, int], _Plan] = {}
        for route in routes:
            if isinstance(route, APIRoute) and getattr(route.endpoint, _MARK, False):
                plan = _plan(route)
                for method in (route.methods or set()) - {"HEAD"}:
                    self._plans[(method, id(route))] = plan

    def _match(self, scope: Scope) -> tuple[_Plan, dict[str, str]] | None:
        found = resolved_route(scope)
        if found is None:
            return None
        plan = self._plans.get((scope["method"], id(found.route)))
        return None if plan is None else (plan, dict(found.path_values))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._match(scope) if scope["type"] == "http" else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        plan, path_values = matched
        raw_body: bytes | None = None
        if plan.body is not None:
            if not _json_content(scope):
                await self.app(scope, receive, send)
                return
            raw_body, broke = await _read_body(receive)
            if broke is not None or not raw_body:
                await self.app(scope, _replay(raw_body, broke, receive), send)
                return
        # On the raw receive: the body is read already, and the endpoint's
        # `request.is_disconnected()` must hear a client that has gone, not the body again.
        request = Request(scope, receive)
        try:
            kwargs = plan.arguments(request, path_values, raw_body)
        except _Declined:
            await self.app(scope, receive if raw_body is None else _replay(raw_body, None, receive), send)
            return
        # What the router would record: the metrics label requests by the route.
        scope.update(route=plan.route, endpoint=plan.call, path_params=path_values)
        try:
            response = await plan.call(**kwargs)
        except TasklineError as exc:  # as errors.install renders them on FastAPI's path
            response = taskline_error_response(exc)
        except StarletteHTTPException as exc:
            response = await http_error(request, exc)
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Exception | None]:
    """The whole body, or what came of it and the exception that broke it off."""
    chunks: list[bytes] = []
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), _Disconnected()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks), None
    except Exception as exc:  # e.g. limits.BodyLimit's PayloadTooLarge: FastAPI answers it as before
        return b"".join(chunks), exc


class _Disconnected(Exception):
    """The client went before its body was complete."""


def _replay(body: bytes, broke: Exception | None, receive: Receive) -> Receive:
    """A receive that hands out `body` again (or raises what broke it off), then goes on as `receive`."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if not pending:
            return await receive()
        pending = False
        if isinstance(broke, _Disconnected):
            return {"type": "http.disconnect"}
        if broke is not None:
            raise broke
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
