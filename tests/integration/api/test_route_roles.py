"""SPEC §4's roles on every route the app serves, `/ws`, `/metrics` and the dashboard's among
them, walked from the app's own route table: a new route that is not in `EXPECTED` fails
here, and every caller is refused (401 or 403) before anything about its request is read."""

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.types import ASGIApp
from websockets.exceptions import InvalidStatus

from taskline.api.app import create_app
from taskline.api.guard import Resolved, routes_of
from taskline.config import Settings
from tests.helpers.live import LiveServer, live_server
from tests.integration.api.events_ws import listen

OPEN = "open"
READ = frozenset({"producer", "worker", "admin"})
PRODUCE = frozenset({"producer", "admin"})
WORK = frozenset({"worker", "admin"})
ADMIN = frozenset({"admin"})

# Who may call what, written from SPEC §4 (not read from the code it checks).
EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/health"): OPEN,
    ("GET", "/admin/health"): OPEN,
    ("GET", "/metrics"): OPEN,  # TASKLINE_OPEN_METRICS=false: ADMIN (see METRICS_CLOSED)
    ("GET", "/"): OPEN,  # the dashboard's page shell and its files
    ("HEAD", "/"): OPEN,
    ("GET", "/dashboard/{name}"): OPEN,
    ("HEAD", "/dashboard/{name}"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("HEAD", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("HEAD", "/docs"): OPEN,
    ("GET", "/docs/oauth2-redirect"): OPEN,
    ("HEAD", "/docs/oauth2-redirect"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("HEAD", "/redoc"): OPEN,
    ("WEBSOCKET", "/ws"): READ,
    ("GET", "/api/v1/whoami"): READ,
    ("GET", "/api/v1/tasks/{task_id}"): READ,
    ("GET", "/api/v1/tasks"): READ,
    ("GET", "/api/v1/stats"): READ,
    ("GET", "/api/v1/stats/series"): READ,
    ("GET", "/api/v1/queues"): READ,
    ("POST", "/api/v1/tasks"): PRODUCE,
    ("POST", "/api/v1/tasks/bulk"): PRODUCE,
    ("DELETE", "/api/v1/tasks/{task_id}"): PRODUCE,
    ("POST", "/api/v1/tasks/{task_id}/retry"): PRODUCE,
    ("GET", "/api/v1/schedules"): READ,
    ("GET", "/api/v1/schedules/{name}"): READ,
    ("POST", "/api/v1/schedules"): PRODUCE,
    ("DELETE", "/api/v1/schedules/{name}"): PRODUCE,
    ("POST", "/api/v1/schedules/{name}/pause"): PRODUCE,
    ("POST", "/api/v1/schedules/{name}/resume"): PRODUCE,
    ("GET", "/api/v1/poll"): WORK,
    ("POST", "/api/v1/tasks/{task_id}/heartbeat"): WORK,
    ("POST", "/api/v1/tasks/{task_id}/complete"): WORK,
    ("POST", "/api/v1/tasks/{task_id}/fail"): WORK,
    ("POST", "/api/v1/tasks/{task_id}/release"): WORK,
    ("POST", "/api/v1/outcomes"): WORK,
    ("POST", "/api/v1/workers/{worker_id}/heartbeat"): WORK,
    ("DELETE", "/api/v1/workers/{worker_id}"): WORK,
    ("GET", "/admin/workers"): ADMIN,
    ("GET", "/admin/workers/{worker_id}"): ADMIN,
    ("POST", "/admin/workers/{worker_id}/pause"): ADMIN,
    ("POST", "/admin/workers/{worker_id}/resume"): ADMIN,
    ("GET", "/admin/queues"): ADMIN,
    ("POST", "/admin/queues/{name}/pause"): ADMIN,
    ("POST", "/admin/queues/{name}/resume"): ADMIN,
    ("DELETE", "/admin/queues/{name}"): ADMIN,
    ("POST", "/admin/tasks/{task_id}/retry"): ADMIN,
    ("GET", "/admin/dlq"): ADMIN,
    ("POST", "/admin/dlq/retry"): ADMIN,
    ("DELETE", "/admin/dlq"): ADMIN,
}
METRICS_CLOSED = {**EXPECTED, ("GET", "/metrics"): ADMIN}
KEYS = {"producer": "key-p", "worker": "key-w", "admin": "key-a"}
CALLERS: dict[str, str | None] = {"no key": None, "a wrong key": "key-wrong", **KEYS}
# Every parameter any route takes, each out of range or malformed, and a body that is not JSON:
# whoever is refused is refused for who they are, never for what they sent.
BAD_QUERY = "limit=-1&wait=-5&max=0&worker_id=&priority=bogus&minutes=0&state=bogus&since=bogus&next=-1"
BAD_BODY = b'{"not json'


def _listing(settings: Settings) -> dict[tuple[str, str], frozenset[str] | str]:
    access = create_app(settings).state.route_access
    return {(method, path): OPEN if roles is None else frozenset(roles) for method, path, roles in access.listing()}


@pytest.mark.parametrize(("open_metrics", "expected"), [(True, EXPECTED), (False, METRICS_CLOSED)])
def test_every_route_the_app_serves_has_the_roles_the_spec_gives(open_metrics: bool, expected: dict) -> None:
    assert _listing(Settings(open_metrics=open_metrics)) == expected


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    keys = ",".join(f"{key}:{role}" for role, key in KEYS.items())
    with live_server(Path(tmp_path_factory.mktemp("roles")), api_keys=keys, open_metrics="false") as live:
        yield live


def _expected_refusal(allowed: frozenset[str] | str, key: str | None) -> int | None:
    """401, 403, or None when the caller may call the route."""
    if allowed == OPEN:
        return None
    role = next((role for role, known in KEYS.items() if known == key), None)
    if role is None:
        return 401
    return None if role in allowed else 403


def _http_status(http: httpx.Client, method: str, path: str, key: str | None) -> httpx.Response:
    headers = {"content-type": "application/json", **({"X-API-Key": key} if key else {})}
    content = BAD_BODY if method in ("POST", "DELETE") else None
    return http.request(method, f"{path}?{BAD_QUERY}", content=content, headers=headers)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_route_refuses_a_caller_by_role_before_reading_its_request(guarded: LiveServer, caller: str) -> None:
    key = CALLERS[caller]
    with guarded.client(KEYS["admin"]) as admin:
        before = admin.get("/api/v1/stats").json()
    seen: dict[tuple[str, str], int] = {}
    with guarded.client() as http:
        for method, template in METRICS_CLOSED:
            path = template.replace("{task_id}", "t-1").replace("{worker_id}", "w-1").replace("{name}", "q-1")
            if method == "WEBSOCKET":
                status = _socket_status(guarded, key)
            else:
                response = _http_status(http, method, path, key)
                status = response.status_code
                if status in (401, 403) and method != "HEAD":
                    assert response.json()["error"]["code"] == {401: "unauthorized", 403: "forbidden"}[status]
            seen[(method, template)] = status
    with guarded.client(KEYS["admin"]) as admin:
        assert admin.get("/api/v1/stats").json() == before  # nobody changed anything

    for route, status in seen.items():
        refusal = _expected_refusal(METRICS_CLOSED[route], key)
        if refusal is None:
            assert status not in (401, 403), (caller, route, status)
        else:
            assert status == refusal, (caller, route, status)


def _socket_status(live: LiveServer, key: str | None) -> int:
    """The HTTP status `/ws` answers the upgrade with (101 when it is accepted), given a `since`
    that is not an event id: a refused key is told so before the bad parameter is."""
    params = {"since": "bogus", **({"api_key": key} if key else {})}
    try:
        with listen(live, **params):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_a_worker_key_with_bad_parameters_on_an_admin_route_is_403_not_422(guarded: LiveServer) -> None:
    with guarded.client(KEYS["worker"]) as worker, guarded.client(KEYS["admin"]) as admin:
        refused = worker.get("/admin/dlq", params={"limit": "-5"})
        refused_body = worker.post("/admin/dlq/retry", content=b"[", headers={"content-type": "application/json"})
        validated = admin.get("/admin/dlq", params={"limit": "-5"})

    assert [refused.status_code, refused_body.status_code] == [403, 403]
    assert refused.json()["error"]["code"] == "forbidden"
    assert validated.status_code == 422  # the same request from a role that may: then what it sent


@contextlib.asynccontextmanager
async def _mounted(
    tmp_path: Path, root_path: str, *, parent: bool, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app under `root_path`: as a server passes it (`uvicorn --root-path`, whose `path`
    then starts with it) or, with `parent`, inside a parent ASGI app's `Mount`."""
    keys = ",".join(f"{key}:{role}" for role, key in KEYS.items())
    app = create_app(Settings(sqlite_path=tmp_path / "t.db", api_keys=keys, **settings))
    outer: ASGIApp = Starlette(routes=[Mount(root_path, app=app)]) if parent else app
    transport = httpx.ASGITransport(app=outer, root_path="" if parent else root_path)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://m") as http:
        yield http


@pytest.mark.parametrize("parent", [False, True], ids=["root_path", "mount"])
@pytest.mark.parametrize("root_path", ["/taskline", "/api", "/api/v1"])
async def test_the_guard_reads_a_path_as_the_router_does_under_a_root_path(
    tmp_path: Path, root_path: str, parent: bool
) -> None:
    """Mounted under a prefix (root_path set, as a proxy or a parent ASGI app does), a route is
    still the route the guard looks up: refused without a key, not run unguarded. A prefix the
    API's own paths start with (`/api`, `/api/v1`) once let the lean routes match the raw path:
    `POST /api/v1/tasks` under `/api` was a submit with no key, and `/complete` reached the
    backend. Under the prefix those paths name no route of the app: 404, and nothing is stored."""
    admin, worker, producer = ({"X-API-Key": KEYS[role]} for role in ("admin", "worker", "producer"))
    submit = {"type": "echo", "queue": "q"}
    async with _mounted(tmp_path, root_path, parent=parent) as http:
        stats = f"{root_path}/api/v1/stats"
        before = (await http.get(stats, headers=admin)).json()["total"]
        raw = [
            await http.post("/api/v1/tasks", json=submit),
            await http.post("/api/v1/tasks/x/complete", json={"token": "t"}),
            await http.post("/api/v1/tasks", json=submit, headers=worker),
        ]
        after_raw = (await http.get(stats, headers=admin)).json()["total"]
        anonymous = await http.post(f"{root_path}/api/v1/tasks", json=submit)
        anonymous_complete = await http.post(f"{root_path}/api/v1/tasks/x/complete", json={"token": "t"})
        admin_route = await http.get(f"{root_path}/admin/dlq", headers=worker)
        whoami = await http.get(f"{root_path}/api/v1/whoami", headers=worker)
        submitted = await http.post(f"{root_path}/api/v1/tasks", json=submit, headers=producer)
        slashed = await http.get(f"{root_path}/admin/workers/", headers=admin)

    if root_path == "/taskline" and not parent:  # not a prefix of the raw paths: the app's own, checked
        assert [answer.status_code for answer in raw] == [401, 401, 403]
    else:  # under the prefix (or outside the parent's Mount) they name no route: the backend is not reached
        assert [answer.status_code for answer in raw] == [404, 404, 404]
        assert "no task" not in raw[1].text
    assert after_raw == before
    assert [anonymous.status_code, anonymous_complete.status_code, admin_route.status_code] == [401, 401, 403]
    assert (whoami.status_code, whoami.json()["role"]) == (200, "worker")
    assert submitted.status_code == 201
    # A trailing slash is redirected within the prefix (the path a server passes starts with it).
    assert (slashed.status_code, slashed.headers["location"]) == (307, f"http://m{root_path}/admin/workers")


@pytest.mark.parametrize("parent", [False, True], ids=["root_path", "mount"])
async def test_the_rate_limit_holds_under_a_root_path(tmp_path: Path, parent: bool) -> None:
    """The rate limit reads a path as the router does too: under a prefix it once read the raw
    path, which starts with the prefix, and limited nothing."""
    admin = {"X-API-Key": KEYS["admin"]}
    async with _mounted(tmp_path, "/api", parent=parent, rate_limit_rps=0.5, rate_limit_burst=2) as http:
        statuses = [(await http.get("/api/api/v1/stats", headers=admin)).status_code for _ in range(3)]
        health = await http.get("/api/health")

    assert statuses == [200, 200, 429]
    assert health.status_code == 200


def test_the_route_index_picks_the_route_a_scan_in_the_routers_order_picks() -> None:
    """The guard's index (`RouteAccess.resolve`) only narrows where it looks: for any method and
    path it finds the first route, in the router's order, whose method and pattern match, with
    the same path values; and no route where none matches."""
    app = create_app(Settings())
    access = app.state.route_access
    ordered = [route for route in routes_of(app.routes) if route.path_regex is not None]
    methods = {method for method, _, _ in access.listing()}
    paths = {"/", "", "/api/v1/tasks/", "/api/v1//complete", "/nowhere", "/api/v1/tasks/a/b/complete"}
    for _, template, _ in access.listing():
        for value in ("x", "7", "a.b", "", "a/b"):
            path = re.sub(r"\{[^}]*\}", value, template)
            paths |= {path, path + "/", path.rsplit("/", 1)[0]}

    for method in methods:
        for path in paths:
            websocket = method == "WEBSOCKET"
            expected = next(
                (
                    (route.original_route, match.groupdict())
                    for route in ordered
                    if (
                        isinstance(route.original_route, WebSocketRoute)
                        if websocket
                        else method in (route.methods or ())
                    )
                    and (match := route.path_regex.match(path))
                ),
                None,
            )
            found = access.resolve(method, path)
            assert (None if not isinstance(found, Resolved) else (found.route, found.path_values)) == expected, (
                method,
                path,
            )
