"""Turn redis-py's exceptions into taskline.errors, so callers handle one tree."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from redis import exceptions as redis_errors

from taskline.errors import BackendUnavailable, InternalError, TasklineError

# Error replies that mean "this Redis cannot do the work now" rather than "this request is
# wrong": out of memory, a replica after a failover, a cluster resharding or electing, a
# long script blocking the server. They are 503s that go away; any other reply is a bug.
_PASSING_REPLIES = (
    redis_errors.OutOfMemoryError,
    redis_errors.ReadOnlyError,
    redis_errors.TryAgainError,
    redis_errors.ClusterDownError,
    redis_errors.MasterDownError,
)
_PASSING_PREFIXES = ("BUSY ", "NOREPLICAS ", "LOADING ")
_UNREACHABLE = ("cannot be connected", "not covered", "No targets")


@contextmanager
def redis_unavailable(*, blocking: bool = False) -> Iterator[None]:
    """Raise BackendUnavailable for a Redis that cannot be reached or cannot work now, and
    InternalError for any other error reply.

    `blocking`: the call ran on redis-py's blocking client (the blocking `Client`), which no
    cancellation of a coroutine that happens to be running can interrupt: it is not made a
    CancelledError, which would report a write Redis has done as not done.

    Script error replies that mean something (LEASE_LOST, ...) are translated by the script
    runner before they get here. What is left of the replies is a script or command that
    failed on a healthy Redis (a Lua runtime error, a wrong type): our bug, a 500, and
    retrying will not help, so it must not pass for an outage.
    """
    try:
        yield
    except (redis_errors.RedisError, redis_errors.RedisClusterException, OSError) as exc:
        if not blocking:
            _raise_if_cancelled()
        raise _translated(exc) from exc
    if not blocking:
        _raise_if_cancelled()


def _raise_if_cancelled() -> None:
    """redis-py can lose a cancellation that lands as a command completes: the command returns
    (or fails as if the connection had closed) and the task, still marked cancelling, runs on;
    a loop around Redis calls (scheduler, dispatcher, event hub) then never stops. So a task
    being cancelled leaves every Redis call cancelled, whatever redis-py made of it."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        return
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _translated(exc: Exception) -> TasklineError:
    if isinstance(exc, redis_errors.RedisClusterException):
        # Not a RedisError: the cluster client's own complaints. Those about reaching nodes
        # (none answers, a slot nobody serves) are outages; the rest (keys of several slots
        # in one command) are our bugs.
        if isinstance(exc, redis_errors.SlotNotCoveredError) or any(s in str(exc) for s in _UNREACHABLE):
            return BackendUnavailable(f"redis cluster: {exc}")
        return InternalError(f"redis cluster client refused a command: {exc}")
    if isinstance(exc, redis_errors.ResponseError):
        if isinstance(exc, _PASSING_REPLIES) or str(exc).startswith(_PASSING_PREFIXES):
            return BackendUnavailable(f"redis: {exc}")
        return InternalError(f"redis refused a command: {exc}")
    return BackendUnavailable(f"redis: {exc}")  # unreachable, refused, or a socket that died below redis-py


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (a BackendUnavailable from `redis_unavailable`) is Redis not answering at
    all (refused, reset, timed out, still loading its data), which waiting may cure, rather
    than a Redis that answered and said no (another record format, a database the cluster
    lacks), which it will not."""
    return isinstance(exc.__cause__, redis_errors.ConnectionError | redis_errors.TimeoutError | OSError)
