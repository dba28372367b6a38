"""Reading a JSON body: malformed JSON is 400 `invalid_json` (size is enforced earlier, by
`limits.BodyLimit`, before anything is read into memory)."""

from typing import Any

import orjson
from fastapi import Request

from taskline.errors import InvalidJson


async def read_json(request: Request, *, optional: bool = False) -> Any:
    raw = await request.body()
    if optional and not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from None
