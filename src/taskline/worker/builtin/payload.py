"""Reading a built-in handler's payload: each malformed field a `Fail` that names it."""

import math
import re
from typing import Any, cast

from taskline.worker.outcomes import Fail


class HandlerError(Exception):
    """An attempt failed for a reason that may pass: the task is retried while `max_retries` allows."""


def fields_of(handler: str, payload: Any, *, allowed: frozenset[str], required: tuple[str, ...]) -> dict[str, Any]:
    """The payload as an object with only `allowed` keys and every `required` one; else `Fail`."""
    if not isinstance(payload, dict):
        raise Fail(f"{handler}: the payload must be an object, not {type(payload).__name__}")
    if unknown := sorted(payload.keys() - allowed):
        raise Fail(f"{handler}: unknown field(s) {unknown}; known: {sorted(allowed)}")
    if missing := [name for name in required if name not in payload]:
        raise Fail(f"{handler}: missing field(s) {missing}")
    return payload


def seconds_of(handler: str, field: str, value: Any, *, zero_ok: bool) -> float:
    is_number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not is_number or value < 0 or (value == 0 and not zero_ok):
        raise Fail(f"{handler}: {field} must be a number {'≥' if zero_ok else '>'} 0 of seconds, not {value!r}")
    return cast(float, value)  # as given: {"seconds": 1} sleeps and answers 1, not 1.0


def string_map(handler: str, field: str, value: Any, name_pattern: re.Pattern[str]) -> dict[str, str]:
    """An object of header names to string values, with no line breaks to smuggle headers in."""
    if not isinstance(value, dict):
        raise Fail(f"{handler}: {field} must be an object, not {type(value).__name__}")
    for name, item in value.items():
        if not name_pattern.fullmatch(name) or not isinstance(item, str) or any(c in item for c in "\r\n\0"):
            raise Fail(f"{handler}: {field}: {name!r}: {item!r} is not a valid header")
    return value
