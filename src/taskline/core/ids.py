"""UUIDv7 task ids: unique across processes and sortable by creation time."""

import os
import random
import threading
import time
import uuid

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
