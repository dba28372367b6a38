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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias, TypeVar

from fastapi.routing import RouteContext, iter_route_contexts

# The router's own reading of a path (the part after root_path): the guard must look up exactly
# the route the router will run, or a mounted app (root_path set) would pass unguarded.
from starlette._utils import get_route_path
from starlette.convertors import FloatConvertor, IntegerConvertor, StringConvertor, UUIDConvertor
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
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")  # a path parameter with its convertor named: {worker_id:segments}
ROLE_SCOPE_KEY = "taskline.role"
"""Where the guard leaves the caller's role in the ASGI scope (see `caller_role`)."""
ROUTE_SCOPE_KEY = "taskline.route"
"""Where the guard leaves the route it found (see `resolved_route`)."""
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


class Resolved(NamedTuple):  # a tuple, not a frozen dataclass: built per request, 5× cheaper
    """The route a request is for, as the router would pick it: found once, by the guard, and
    left in the scope (`ROUTE_SCOPE_KEY`) so the lean routes serve exactly that route and never
    match a path again (a second reading of the path once let them run what the guard had not
    checked: under a root_path the two disagreed)."""

    route: BaseRoute  # the route as declared (a router's own route, not FastAPI's wrapper)
    access: Access
    path_values: dict[str, str]  # the path parameters, as matched (not yet converted)


_Candidate: TypeAlias = tuple["re.Pattern[str]", BaseRoute, Access]  # a route's pattern, itself, its access
# Convertors whose match never holds a "/": a route of them matches paths of its own segment count.
_ONE_SEGMENT = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)


class RouteAccess:
    """Each route's access, looked up by method and path as the router would match them.

    The router tries its routes in order and takes the first full match; so does `resolve`,
    but among a few candidates only: fixed paths are a dict, and routes with parameters are
    indexed by method, number of segments and last segment (`/tasks/{id}/complete` is
    `("POST", 5, "complete")`). A worker's complete is one dict lookup and one or two regexes,
    not a scan of every route's.
    """

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
        self._index = _index(self._ordered)
        # A fixed path is a dict lookup unless an earlier route with a parameter would match
        # the same path first (then the index answers it, in the router's order).
        self._static: dict[tuple[str, str], Resolved] = {}
        for methods, path, route, _ in self._ordered:
            if route.param_convertors:
                continue
            for method in methods:
                first = self._find(method, path)
                if isinstance(first, Resolved) and first.route is route.original_route:
                    self._static.setdefault((method, path), first)

    def resolve(self, method: str, path: str) -> "Resolved | _NoRoute":
        """The route the router would pick and its access, or `_NO_ROUTE` (404, 405: not ours).
        `path`: the router's reading of it (`get_route_path`, after root_path)."""
        found = self._static.get((method, path))
        return self._find(method, path) if found is None else found

    def _find(self, method: str, path: str) -> "Resolved | _NoRoute":
        segments = path.count("/")
        index = self._index
        candidates: Iterable[_Candidate] = (
            index.get((method, segments, path.rpartition("/")[2]))
            or index.get((method, segments, None))
            or index.get((method, None, None))
            or ()
        )
        for pattern, route, access in candidates:
            if match := pattern.match(path):
                return Resolved(route, access, match.groupdict())
        return _NO_ROUTE

    def listing(self) -> list[tuple[str, str, Access]]:
        """(method, path, access) of every route: what SECURITY.md and its tests read. Paths as
        OpenAPI writes them: `{worker_id}`, not the router's `{worker_id:segments}`."""
        return [
            (method, _CONVERTOR.sub(r"{\1}", path), access)
            for methods, path, _, access in self._ordered
            for method in sorted(methods)
        ]


def _index(
    ordered: list[tuple[frozenset[str], str, RouteContext, Access]],
) -> dict[tuple[str, int | None, str | None], list[_Candidate]]:
    """Every route filed under the keys of the paths it can match, each list in the router's order.

    A route's key is (method, number of "/", last segment), with None for a last segment that
    holds a parameter, and (method, None, None) for a route whose parameters may span segments
    (a `path` convertor). A path's list under its own key also holds the routes under the wider
    keys that could match it, so one list answers it."""
    # Read from the route once: a RouteContext's attributes are looked up through properties.
    Entry: TypeAlias = tuple[int, _Candidate]  # with the router's order
    exact: dict[tuple[str, int, str], list[Entry]] = {}
    any_last: dict[tuple[str, int], list[Entry]] = {}
    loose: dict[str, list[Entry]] = {}
    for order, (methods, path, route, access) in enumerate(ordered):
        entry = (order, (route.path_regex, route.original_route, access))
        spans = not all(isinstance(convertor, _ONE_SEGMENT) for convertor in route.param_convertors.values())
        last = path[path.rfind("/") + 1 :]
        for method in methods:
            if spans:
                loose.setdefault(method, []).append(entry)
            elif "{" in last:
                any_last.setdefault((method, path.count("/")), []).append(entry)
            else:
                exact.setdefault((method, path.count("/"), last), []).append(entry)

    def in_order(*lists: list[Entry]) -> list[_Candidate]:
        return [
            candidate for _, candidate in sorted((entry for entries in lists for entry in entries), key=lambda e: e[0])
        ]

    index: dict[tuple[str, int | None, str | None], list[_Candidate]] = {}
    for (method, segments, last), entries in exact.items():
        index[(method, segments, last)] = in_order(entries, any_last.get((method, segments), []), loose.get(method, []))
    for (method, segments), entries in any_last.items():
        index[(method, segments, None)] = in_order(entries, loose.get(method, []))
    for method, entries in loose.items():
        index[(method, None, None)] = in_order(entries)
    return index


class _NoRoute:
    """No route matches: the request goes on to the router, which answers 404 or 405."""


_NO_ROUTE = _NoRoute()


class RoleGuard:
    """401 without a valid key, 403 for a role the route does not allow; before anything else.
    The route it found is left in the scope (`resolved_route`) for the lean routes."""

    def __init__(self, app: ASGIApp, access: RouteAccess, key_roles: Mapping[str, Role]) -> None:
        self.app = app
        self.access = access
        self.key_roles = key_roles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = self.access.resolve(_WEBSOCKET if kind == "websocket" else scope["method"], get_route_path(scope))
        if isinstance(found, _NoRoute):
            await self.app(scope, receive, send)
            return
        if found.access is not None:
            try:
                role = role_of(self.key_roles, request_key(scope))
                if role not in found.access:
                    raise Forbidden(f"the {role} role may not do this")
            except (Unauthorized, Forbidden) as refused:
                await _refuse(scope, receive, send, refused)
                return
            scope[ROLE_SCOPE_KEY] = role
        scope[ROUTE_SCOPE_KEY] = found
        await self.app(scope, receive, send)


def resolved_route(scope: Mapping[str, Any]) -> Resolved | None:
    """The route the guard found for this request and let through, if any."""
    found = scope.get(ROUTE_SCOPE_KEY)
    return found if isinstance(found, Resolved) else None


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
