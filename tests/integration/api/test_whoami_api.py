"""`GET /api/v1/whoami` (SPEC §4): the caller's role and whether keys are on. In process on
SQLite: the answer reads only the app's key table, so one backend is enough."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from taskline.api.app import create_app
from taskline.config import Settings


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        yield client


async def test_each_key_is_told_its_role(tmp_path: Path) -> None:
    settings = Settings(sqlite_path=tmp_path / "t.db", api_keys="ka:admin,kp:producer,kw:worker")
    async with serving(settings) as http:
        answers = {
            key: (await http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {key}"})).json()
            for key in ("ka", "kp", "kw")
        }
        by_header = await http.get("/api/v1/whoami", headers={"X-API-Key": "kp"})

    assert answers == {
        "ka": {"role": "admin", "keys": True},
        "kp": {"role": "producer", "keys": True},
        "kw": {"role": "worker", "keys": True},
    }
    assert by_header.json() == {"role": "producer", "keys": True}


async def test_no_or_an_unknown_key_is_401_when_keys_are_on(tmp_path: Path) -> None:
    async with serving(Settings(sqlite_path=tmp_path / "t.db", api_keys="ka:admin")) as http:
        missing = await http.get("/api/v1/whoami")
        unknown = await http.get("/api/v1/whoami", headers={"Authorization": "Bearer nope"})

    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthorized")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "unauthorized")


async def test_open_mode_answers_admin_without_keys(tmp_path: Path) -> None:
    async with serving(Settings(sqlite_path=tmp_path / "t.db")) as http:
        anonymous = await http.get("/api/v1/whoami")
        with_any_key = await http.get("/api/v1/whoami", headers={"Authorization": "Bearer whatever"})

    assert (anonymous.status_code, anonymous.json()) == (200, {"role": "admin", "keys": False})
    assert with_any_key.json() == {"role": "admin", "keys": False}
