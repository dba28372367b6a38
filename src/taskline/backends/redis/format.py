"""The record format a Redis holds: stored on first start, checked at every start.

Records, events and webhook deliveries are written in codec.FORMAT_VERSION. A Redis holding
another format would be read wrongly by every script, so a backend refuses to start on it
rather than fail task by task. Taskline data written before the format was stored (the
`queues` set present, no format key) is format 1: JSON records.
"""

from typing import Any

from taskline.backends.redis.codec import FORMAT_VERSION
from taskline.backends.redis.connecting import AnyBlockingRedis, AnyRedis
from taskline.backends.redis.keys import KeySpace
from taskline.errors import BackendUnavailable

_UNVERSIONED = 1
"""What data without a format key is: the JSON records of the Taskline before formats were stored."""


async def check_format(client: "AnyRedis", keys: KeySpace) -> None:
    """Store this code's format in a Redis without Taskline data; else require it to match.

    Raises:
        BackendUnavailable: the Redis holds Taskline data in another format.
    """
    if _to_store(keys, await client.get(keys.format), await client.exists(keys.queues)):
        # Stored unless another process stored one first: then that one is the answer.
        _to_store(keys, await client.set(keys.format, FORMAT_VERSION, nx=True, get=True), 0)


def check_format_blocking(client: "AnyBlockingRedis", keys: KeySpace) -> None:
    """`check_format` on redis-py's blocking client (the blocking `Client`'s own connections)."""
    if _to_store(keys, client.get(keys.format), client.exists(keys.queues)):
        _to_store(keys, client.set(keys.format, FORMAT_VERSION, nx=True, get=True), 0)


def _to_store(keys: KeySpace, stored: Any, holds_data: int) -> bool:
    """True when the Redis holds no format and no data yet (ours is to be stored); raises when
    it holds another format. `stored` is bytes or None: redis-py types replies loosely."""
    if stored is None:
        if holds_data:
            raise BackendUnavailable(_refusal(keys, _UNVERSIONED))
        return True
    if int(stored) != FORMAT_VERSION:
        raise BackendUnavailable(_refusal(keys, int(stored)))
    return False


def _refusal(keys: KeySpace, found: int) -> str:
    held = f"Taskline data in record format {found} ({'an older' if found < FORMAT_VERSION else 'a newer'} Taskline's)"
    if found < FORMAT_VERSION:
        remedy = (
            "finish its tasks with the Taskline that wrote them, then delete the "
            f"'{keys.namespace}:*' keys (or use an empty Redis database) and start this one"
        )
    else:
        remedy = "run that newer Taskline, or this one on an empty Redis database"
    return f"this Redis holds {held}; this Taskline reads and writes format {FORMAT_VERSION}: {remedy}"
