"""Turn redis-py's exceptions into taskline.errors, so callers handle one tree."""

from collections.abc import Iterator
from contextlib import contextmanager

from redis import exceptions as redis_errors

from taskline.errors import BackendUnavailable


@contextmanager
def redis_unavailable() -> Iterator[None]:
    """Raise BackendUnavailable for anything Redis raises inside the block.

    Script error replies that mean something (LEASE_LOST, ...) are translated by the script
    runner before they get here; whatever is left is a store that cannot do the work.
    """
    try:
        yield
    except redis_errors.RedisError as exc:
        raise BackendUnavailable(f"redis: {exc}") from exc
    except OSError as exc:  # a socket that died below redis-py's own handling
        raise BackendUnavailable(f"redis: {exc}") from exc
