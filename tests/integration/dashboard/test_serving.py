"""The dashboard's serving route: the page and its assets are open (keys on or off), carry the
Content-Security-Policy and nosniff, have the right media types, and stay out of the OpenAPI
document; the page's code never builds HTML from strings (the escaping holds by construction)."""

import re
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import httpx
import pytest

from taskline.api.app import create_app
from taskline.config import Settings
from taskline.dashboard.routes import CONTENT_SECURITY_POLICY

STATIC = Path(str(resources.files("taskline.dashboard").joinpath("static")))
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
MODULES = sorted(path.name for path in STATIC.glob("*.js"))


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with API keys on; the static routes need no backend, so no lifespan runs."""
    app = create_app(Settings(sqlite_path=tmp_path / "t.db", api_keys="ka:admin,kp:producer"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash") as client:
        yield client


def assert_protected(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_page_is_open_with_keys_on_while_the_api_is_not(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    api = await http.get("/api/v1/stats")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert_protected(page)
    assert '<script type="module" src="/dashboard/app.js"></script>' in page.text
    assert api.status_code == 401


@pytest.mark.parametrize("name", sorted(path.name for path in STATIC.iterdir()))
async def test_every_asset_is_served_with_its_media_type_and_the_policy(http: httpx.AsyncClient, name: str) -> None:
    response = await http.get(f"/dashboard/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(MEDIA_TYPES[Path(name).suffix])
    assert_protected(response)
    assert response.content == (STATIC / name).read_bytes()


@pytest.mark.parametrize("path", ["/dashboard/nope.js", "/dashboard/..%2Froutes.py", "/dashboard/%2E%2E%2F__init__.py"])
async def test_only_the_packaged_files_are_served(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_head_answers_like_get_without_a_body(http: httpx.AsyncClient) -> None:
    response = await http.head("/")

    assert response.status_code == 200
    assert response.content == b""
    assert_protected(response)


async def test_an_unchanged_asset_revalidates_to_304(http: httpx.AsyncClient) -> None:
    first = await http.get("/dashboard/app.js")
    again = await http.get("/dashboard/app.js", headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""


async def test_the_dashboard_stays_out_of_the_api_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]

    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/dashboard")]


def test_the_page_has_no_inline_script_style_or_handlers() -> None:
    page = (STATIC / "index.html").read_text()

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"<style\b|\sstyle=|\son[a-z]+=", page) == []


# What would turn data into markup or code, or set an inline style the CSP refuses.
_FORBIDDEN = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\.style\b|\beval\(|new Function")


@pytest.mark.parametrize("name", MODULES)
def test_no_module_builds_html_from_strings(name: str) -> None:
    source = (STATIC / name).read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))

    assert _FORBIDDEN.findall(code) == []


@pytest.mark.parametrize("name", MODULES)
def test_every_module_import_is_a_served_file(name: str) -> None:
    imports = re.findall(r'from "\./([^"]+)"', (STATIC / name).read_text())

    assert [target for target in imports if not (STATIC / target).is_file()] == []
