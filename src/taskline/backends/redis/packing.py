"""Commands packed into the Redis protocol by hiredis (C), not by redis-py's Python loop.

redis-py's asyncio connections pack every argument in Python; for our script calls that
was a tenth of a worker's time per task. hiredis (already installed for parsing) packs the
same bytes; a test holds the two to the same output.
"""

from typing import Any

import hiredis
from redis.asyncio.connection import AbstractConnection


class HiredisPacking:
    """Mixed in before a redis-py connection class."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:  # "CLIENT SETINFO": Redis wants two words
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]


def packing_with_hiredis(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """`connection_class` (TCP, TLS or unix socket, as the URL chose) with hiredis packing."""
    return type(f"Hiredis{connection_class.__name__}", (HiredisPacking, connection_class), {})
