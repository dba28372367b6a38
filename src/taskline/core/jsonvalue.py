"""How deep a JSON value a client hands over (payload, metadata, a result) may nest.

orjson, which encodes every answer, encodes at most 254 nested arrays and objects. A task's
values sit inside the answers that carry them (`{"tasks": [{"payload": …}]}` is 3 levels
deep, a webhook's `{"task": {"payload": …}}` 2), so a value that encoded on its own at 252
levels was stored, and then every task listing that included it answered 500 until it was
purged. A value is taken only if it still encodes inside `ENVELOPE` more levels: measured
with the encode that sizes it anyway, at the cost of four small lists, not of a walk.
"""

from typing import Any

import orjson

ENCODER_DEPTH = 254
"""orjson's own limit (tests/unit/test_jsonvalue.py pins it)."""
ENVELOPE = 4
"""Levels kept free for the answers that carry a value: the deepest is 3, plus one spare."""
MAX_DEPTH = ENCODER_DEPTH - ENVELOPE


class NotJson(ValueError):
    """The value nests deeper than MAX_DEPTH, or is not JSON at all; `str()` says which."""


def encoded_size(value: Any) -> int:
    """The size of `value` encoded as JSON.

    Raises:
        NotJson: it nests deeper than MAX_DEPTH levels or holds something JSON cannot carry.
    """
    try:
        return len(orjson.dumps([[[[value]]]])) - 2 * ENVELOPE  # ENVELOPE levels around it
    except orjson.JSONEncodeError as exc:
        if "recursion" in str(exc).lower():
            raise NotJson(f"nests deeper than {MAX_DEPTH} levels of arrays and objects") from None
        raise NotJson(f"is not JSON: {exc}") from None
