"""HTTP responses: JSON encoded with orjson. The task format itself is `taskline.wire`."""

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """orjson-encoded JSON: several times faster than the standard library on task bodies."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
