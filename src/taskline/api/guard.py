"""Roles checked in one place, before anything else about a request is looked at (SPEC §4).

Every route declares who may call it with `@requires(roles)` (or `@open_route`) under its
route decorator; `RoleGuard`, a middleware, finds the route a request is for and answers
401/403 itself before FastAPI (or `lean.LeanRoutes`) validates a parameter or reads the body.
So a worker key with bad parameters on an admin route is told 403, not 422, and no route
can be forgotten: building the app fails on a route that declares nothing.

A middleware keyed by route rather than a FastAPI dependency: dependencies are solved after
the body is parsed, and cost a fifth of a submit's CPU (docs/benchmarks.md).
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from fastapi.routing import RouteContext, iter_route_contexts

# The router's own reading of a path (the part after root_path): the guard must look up exactly
# the route the router will run, or a mounted app (root_path set) would pass unguarded.
from starlette._utils import get_route_path
from starlette.datastructures import Headers, QueryParams
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from taskline.api.auth import presented_key, role_of
from taskline.api.errors import taskline_error_response
from taskline.config import Role, Settings
from taskline.errors import Forbidden, TasklineError, Unauthorized

Access: TypeAlias = frozenset[Role] | None
"""The roles that may call a route; None: anyone, with or without a key."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_MARK = "__taskline_access__"
_WEBSOCKET = "WEBSOCKET"  # the "method" a WebSocket route is listed under
ROLE_SCOPE_KEY = "taskline.role"
"""Where the guard leaves the caller's role in the ASGI scope (see `caller_role`)."""
CLOSE_UNAUTHORIZED = 4401
CLOSE_POLICY = 1008


@dataclass(frozen=True, slots=True)
class Declared:
    """What a route declares: its roles, and a boolean setting that, when true, opens it."""

    roles: Access
    open_if: str | None = None

    def access(self, settings: Settings) -> Access:
        return None if self.open_if is not None and getattr(settings, self.open_if) else self.roles


def requires(roles: frozenset[Role], *, open_if: str | None = None) -> Callable[[Endpoint], Endpoint]:
    """Only callers with one of `roles` may call the route; `open_if` names a boolean setting
    that opens it to anyone (`/metrics`: `open_metrics`)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _MARK, Declared(roles, open_if))
        return endpoint

    return mark


def open_route(endpoint: Endpoint) -> Endpoint:
    """Anyone may call the route, with or without a key (SPEC §4's open routes)."""
    setattr(endpoint, _MARK, Declared(None))
    return endpoint


def routes_of(routes: Iterable[BaseRoute]) -> list[RouteContext]:
    """Every route as the router matches it, the included routers' routes among them."""
    return list(iter_route_contexts(list(routes)))


def declared(route: BaseRoute | RouteContext) -> Declared | None:
    """What `route`'s endpoint declares, or None if it declares nothing."""
    found = getattr(getattr(route, "endpoint", None), _MARK, None)
    return found if isinstance(found, Declared) else None


def caller_role(scope: Mapping[str, Any]) -> Role:
    """The role the guard found for this request (admin in open mode); guarded routes only."""
    role: Role = scope[ROLE_SCOPE_KEY]
    return role


def client_identity(scope: Scope, key: str | None, *, keys_on: bool) -> str:
    """Whom a request counts against (rate limit, `/ws` caps): its key, hashed and never kept as
    is, when keys are on (the guard has checked it by then), else its IP. In open mode a key
    means nothing: counting by it would let a client dodge its limits with a new key each time."""
    if keys_on and key is not None:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


def request_key(scope: Scope) -> str | None:
    """The key a request carries; a WebSocket may also carry it as `?api_key=` (SPEC §3),
    since a browser cannot set headers on one."""
    if scope["type"] == "websocket":
        in_query = QueryParams(scope.get("query_string", b"")).get("api_key")
        if in_query:
            return in_query
    return presented_key(Headers(scope=scope))


class RouteAccess:
    """Each route's access, looked up by method and path as the router would match them."""

    def __init__(self, routes: Iterable[BaseRoute], settings: Settings, *, framework_open: Iterable[str]) -> None:
        """`framework_open`: paths FastAPI itself serves (docs, openapi.json), open by SPEC §4.

        Raises:
            TypeError: a route declares no access (a new route must say who may call it).
        """
        opened = frozenset(framework_open)
        self._ordered: list[tuple[frozenset[str], str, RouteContext, Access]] = []
        for route in routes_of(routes):
            found = declared(route)
            if found is None and route.path not in opened:
                raise TypeError(f"the route {route.path} declares no roles: add @requires(...) or @open_route")
            websocket = isinstance(route.original_route, WebSocketRoute)
            methods = frozenset({_WEBSOCKET}) if websocket else frozenset(route.methods or ())
            access = None if found is None else found.access(settings)
            self._ordered.append((methods, route.path or "", route, access))
        # The hot routes have fixed paths: a dict answers them unless an earlier route with a
        # parameter would match the same path first (the router takes the first full match).
        self._static: dict[tuple[str, str], Access] = {}
        for index, (methods, path, route, access) in enumerate(self._ordered):
            if route.param_convertors:
                continue
            for method in methods:
                if isinstance(self._scan(method, path, self._ordered[:index]), _NoRoute):
                    self._static.setdefault((method, path), access)

    def of(self, method: str, path: str) -> "Access | _NoRoute":
        """The access of the route the router would pick, or `_NO_ROUTE` (404, 405: not ours)."""
        found = self._static.get((method, path), _NO_ROUTE)
        return self._scan(method, path, self._ordered) if isinstance(found, _NoRoute) else found

    @staticmethod
    def _scan(
        method: str, path: str, ordered: list[tuple[frozenset[str], str, RouteContext, Access]]
    ) -> "Access | _NoRoute":
        for methods, _, route, access in ordered:
            if method in methods and route.path_regex.match(path):
                return access
        return _NO_ROUTE

    def listing(self) -> list[tuple[str, str, Access]]:
        """(method, path, access) of every route: what SECURITY.md and its tests read."""
        return [(method, path, access) for methods, path, _, access in self._ordered for method in sorted(methods)]


class _NoRoute:
    """No route matches: the request goes on to the router, which answers 404 or 405."""


_NO_ROUTE = _NoRoute()


class RoleGuard:
    """401 without a valid key, 403 for a role the route does not allow; before anything else."""

    def __init__(self, app: ASGIApp, access: RouteAccess, key_roles: Mapping[str, Role]) -> None:
        self.app = app
        self.access = access
        self.key_roles = key_roles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        allowed = self.access.of(_WEBSOCKET if kind == "websocket" else scope["method"], get_route_path(scope))
        if isinstance(allowed, _NoRoute):
            await self.app(scope, receive, send)
            return
        if allowed is not None:
            try:
                role = role_of(self.key_roles, request_key(scope))
                if role not in allowed:
                    raise Forbidden(f"the {role} role may not do this")
            except (Unauthorized, Forbidden) as refused:
                await _refuse(scope, receive, send, refused)
                return
            scope[ROLE_SCOPE_KEY] = role
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, error: TasklineError) -> None:
    if scope["type"] == "http":
        await taskline_error_response(error)(scope, receive, send)
    else:
        close_code = CLOSE_UNAUTHORIZED if isinstance(error, Unauthorized) else CLOSE_POLICY
        await refuse_socket(WebSocket(scope, receive, send), error, close_code)


async def refuse_socket(websocket: WebSocket, error: TasklineError, close_code: int) -> None:
    """An HTTP answer in SPEC's shape before the upgrade if the server can send one (with the
    Retry-After any other route gives the same error), else a close."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(taskline_error_response(error))
    else:
        await websocket.close(close_code, error.message[:120])
