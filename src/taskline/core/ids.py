"""UUIDv7 task ids: unique across processes and sortable by creation time."""

import os
import random
import threading
import time
import uuid
from collections.abc import Iterable

_lock = threading.Lock()
_last_ms = 0
_seq = 0
# Ids need to be unique, not secret: a generator seeded from the OS costs a fifth of a read of
# os.urandom (a syscall). Our own, not the `random` module's, which user code may seed (two
# processes seeded alike would then make the same ids); reseeded in a forked child.
_random = random.Random()
os.register_at_fork(after_in_child=_random.seed)


def new_task_id() -> str:
    """A UUIDv7 (RFC 9562) string.

    Within one millisecond the 12-bit `rand_a` field is a counter seeded at random, so ids
    made by one process stay strictly increasing even faster than the clock ticks.
    """
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _seq = int.from_bytes(os.urandom(2)) & 0x7FF  # leave headroom before overflow
        else:
            _seq += 1
            if _seq > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        seq = _seq
    rand_b = _random.getrandbits(62)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    digits = f"{value:032x}"  # str(uuid.UUID(int=value)) without its checks: half the time
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def is_task_id(text: str) -> bool:
    """True for a canonical UUID string; anything else can never name a task."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


MIN_PREFIX_DIGITS = 8
"""The fewest hex digits an id prefix may have: the canonical form's first group. A UUIDv7's first
12 digits are its creation millisecond, so 8 of them already narrow it to about a minute; fewer
would name every task of hours or days and could only ever be ambiguous."""

_DASHES_AFTER = (8, 12, 16, 20)  # hex digits before each dash of the canonical form


def id_prefix(text: str) -> str | None:
    """`text` as the start of a canonical id (lower case, dashes where a full id has them), if it
    can be one: at least MIN_PREFIX_DIGITS hex digits, with or without the dashes. Else None."""
    digits = text.strip().lower().replace("-", "")
    if not MIN_PREFIX_DIGITS <= len(digits) <= 32 or any(c not in "0123456789abcdef" for c in digits):
        return None
    parts = [digits[a:b] for a, b in zip((0, *_DASHES_AFTER), (*_DASHES_AFTER, 32), strict=True)]
    return "-".join(p for p in parts if p)


def short_length(task_id: str, neighbours: Iterable[str]) -> int:
    """How many characters of `task_id` (dashes included) tell it apart from every id in
    `neighbours`, and at least MIN_PREFIX_DIGITS: a prefix one character past the longest
    prefix it shares with any of them."""
    shared = 0
    for other in neighbours:
        if other == task_id:
            continue
        n = 0
        while n < len(task_id) and n < len(other) and task_id[n] == other[n]:
            n += 1
        shared = max(shared, n)
    length = max(shared + 1, MIN_PREFIX_DIGITS)
    return length + 1 if task_id[length - 1 : length] == "-" else length  # never end on a dash
