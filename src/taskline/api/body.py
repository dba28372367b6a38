"""Reading a JSON body: malformed JSON is 400 `invalid_json` (size is enforced earlier, by
`limits.BodyLimit`, before anything is read into memory)."""

from typing import Any

import orjson
from fastapi import Request

from taskline.errors import InvalidJson, ValidationFailed


async def read_json(request: Request) -> Any:
    return _parse(await request.body())


async def read_options(request: Request, allowed: frozenset[str]) -> dict[str, Any] | None:
    """An optional body of options: None when there is none, else an object of `allowed` keys.

    A JSON `null` (or any non-object) is refused, not taken for "no body": for
    `POST /admin/dlq/retry`, no body means "retry every failed task".

    Raises:
        ValidationFailed: the body is not an object, or holds a key not in `allowed`.
    """
    raw = await request.body()
    if not raw.strip():
        return None
    body = _parse(raw)
    if not isinstance(body, dict) or set(body) - allowed:
        shape = ", ".join(f'"{key}": ...' for key in sorted(allowed))
        raise ValidationFailed(
            f"the body may only hold {', '.join(sorted(allowed))}", [{"field": "", "message": f"must be {{{shape}}}"}]
        )
    return body


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from None
