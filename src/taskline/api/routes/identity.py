"""`GET /api/v1/whoami`: the caller's role, so a client (the dashboard) can show what its key
may do before trying, rather than learning it from a 403 per button."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskline.api.auth import presented_key, role_of
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=ERRORS)


@router.get("/whoami", summary="The role of the key this request carries")
async def whoami(request: Request) -> Response:
    """`{"role": "admin"|"producer"|"worker", "keys": bool}`; `keys` says whether API keys are
    configured. Any valid key may ask; in open mode every caller is admin and `keys` is false.
    401 without a valid key when keys are on."""
    key_roles = request.app.state.key_roles
    role = role_of(key_roles, presented_key(request.headers))
    return JSONResponse({"role": role, "keys": bool(key_roles)})
