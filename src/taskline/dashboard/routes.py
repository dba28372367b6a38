"""Serving the dashboard: `GET /` is the page shell, `GET /dashboard/<file>` its assets.

Both are open (SPEC §4: the page asks for a key and sends it on its own API calls) and kept
out of the OpenAPI document. Every answer carries a strict Content-Security-Policy: the page
has no inline script or style, so a payload that slips markup into the DOM still cannot run.
The assets are read once at import: the set is fixed by the package, and a request can only
name one of them (no path is ever joined from user input).
"""

import hashlib
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskline.api.guard import open_route
from taskline.errors import NotFound

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file: its bytes, media type and a strong ETag of its content."""

    body: bytes
    media_type: str
    etag: str


def _load_assets() -> dict[str, Asset]:
    assets = {}
    for entry in resources.files("taskline.dashboard").joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _MEDIA_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[entry.name] = Asset(body, _MEDIA_TYPES[suffix], etag)
    return assets


ASSETS = _load_assets()


def _serve(request: Request, asset: Asset) -> Response:
    # no-cache, not max-age: an upgraded server must never run an old app.js against its new API;
    # the ETag keeps the revalidation to a 304.
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
        "ETag": asset.etag,
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.api_route("/", methods=["GET", "HEAD"])
@open_route
async def page(request: Request) -> Response:
    """The page shell; the hash part of the URL (`#/tasks/<id>`) picks the view in the browser."""
    return _serve(request, ASSETS["index.html"])


@router.api_route("/dashboard/{name}", methods=["GET", "HEAD"])
@open_route
async def asset(request: Request, name: str) -> Response:
    """One of the page's files by name (`app.js`, `app.css`, a view module)."""
    found = ASSETS.get(name)
    if found is None:
        raise NotFound(f"the dashboard has no file {name!r}")
    return _serve(request, found)
