"""Priorities by number or name, and the order key that puts a task in its place in a queue."""

from enum import IntEnum


class Priority(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    CRITICAL = 3


PRIORITY_NAMES: dict[str, Priority] = {p.name.lower(): p for p in Priority}

# Strict ordering puts the priority above any due time: 2**42 ms is ~139 years, so every
# higher-priority task sorts before every lower one, then FIFO by due time.
_PRIORITY_BAND_MS = 2**42


def parse_priority(value: object) -> Priority:
    """Accept an int 0–3 or a case-insensitive name; refuse booleans and floats.

    Raises:
        ValueError: with a sentence fit for a validation error.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer 0-3 or one of low, normal, high, critical")
    if isinstance(value, str):
        try:
            return PRIORITY_NAMES[value.lower()]
        except KeyError:
            raise ValueError("must be one of low, normal, high, critical") from None
    if not 0 <= value <= 3:
        raise ValueError("must be between 0 and 3")
    return Priority(value)


def order_key(priority: int, due_ms: int, aging_s: float = 0.0) -> int:
    """The sort key of a pending task: lower leases first.

    Strict (aging 0): priority bands, FIFO by due time inside a band. With aging, a task
    counts as due `aging_s × priority` seconds earlier (SPEC §2), so a long-waiting low
    task eventually overtakes fresh high ones instead of starving.
    """
    if aging_s > 0:
        return due_ms - int(aging_s * 1000) * priority
    return (3 - priority) * _PRIORITY_BAND_MS + due_ms
