"""`GET /api/v1/whoami`: the caller's role, so a client (the dashboard) can show what its key
may do before trying, rather than learning it from a 403 per button."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskline.api.auth import READERS
from taskline.api.guard import caller_role, requires
from taskline.api.render import JSONResponse
from taskline.api.schemas import ERRORS

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=ERRORS)


@router.get("/whoami", summary="The role of the key this request carries")
@requires(READERS)
async def whoami(request: Request) -> Response:
    """`{"role": "admin"|"producer"|"worker", "keys": bool}`; `keys` says whether API keys are
    configured. Any valid key may ask; in open mode every caller is admin and `keys` is false.
    401 without a valid key when keys are on."""
    return JSONResponse({"role": caller_role(request.scope), "keys": bool(request.app.state.key_roles)})
