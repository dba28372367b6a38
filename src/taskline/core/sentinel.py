"""`UNCHANGED`: the value that means "keep what the task has", distinct from None."""

from typing import Any, Final


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final[Any] = _Unchanged()
"""Sentinel for `retry(payload=...)`: keep the payload the task has (None is a payload)."""
