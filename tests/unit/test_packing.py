"""hiredis packs our commands into exactly the bytes redis-py would."""

import pytest
from redis.asyncio.connection import Connection

from taskline.backends.redis.packing import packing_with_hiredis


@pytest.mark.parametrize(
    "args",
    [
        ("EVALSHA", "0" * 40, 2, "taskline:{q}:tasks", "taskline:{q}:counts", 1.5, 1_800_000_000_000, b"\x00\xff", "é"),
        ("CLIENT SETINFO", "LIB-NAME", "redis-py"),
        ("SET", "k", ""),
    ],
)
def test_hiredis_packing_matches_redis_py(args: tuple[object, ...]) -> None:
    plain = Connection()
    packed = packing_with_hiredis(Connection)()

    assert b"".join(packed.pack_command(*args)) == b"".join(plain.pack_command(*args))
