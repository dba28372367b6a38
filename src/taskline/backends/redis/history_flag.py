"""Whether ends go to the archive outbox: history being on is the store's fact, not each process's.

Every `taskline serve` that archives to PostgreSQL keeps the key `taskline:history` alive (SET
with an expiry of `core.archive.HISTORY_ON_TTL_S`, renewed by its archiver whether or not
PostgreSQL answers), so a rolling restart keeps it and history turned off stops the outbox
growing once the key runs out. Every process on the store reads the key at its first script
call and again at most every REFRESH_S, and runs the scripts' archiving variant while it is
there; a process with TASKLINE_POSTGRES_URL set archives regardless.

A read that fails keeps the last value read, until the next read REFRESH_S later: the key lives
on one shard of a cluster, and every script call asks the flag first, so a failed read that
raised made that shard's outage fail every script on every shard (and a black-holed Redis cost
each call one more command timeout). Meanwhile the scripts run as before: a script that needs
the failed shard fails on its own.
"""

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from taskline.backends.redis.failures import redis_unavailable
from taskline.errors import BackendUnavailable

if TYPE_CHECKING:
    from taskline.backends.redis.connecting import AnyBlockingRedis, AnyRedis

log = logging.getLogger(__name__)

REFRESH_S = 1.0
"""How stale a process's idea of the flag may be: ends in the first second after history comes
on may miss the outbox (as they would have before the server started archiving)."""


class HistoryFlag:
    """The cached flag; `always` (TASKLINE_POSTGRES_URL set here) makes it true without asking."""

    def __init__(self, key: str, *, always: bool, now: Callable[[], float] = time.monotonic) -> None:
        self.key = key
        self.always = always
        self._now = now
        self._on = always
        self._read_at = float("-inf")

    def _due(self) -> bool:
        if self.always or self._now() - self._read_at < REFRESH_S:
            return False
        self._read_at = self._now()  # one caller reads; the others use the value meanwhile
        return True

    def _seen(self, value: object) -> bool:
        self._on = value is not None
        return self._on

    def _kept(self, exc: BackendUnavailable) -> bool:
        log.debug("history flag unread (%s); keeping the last value read, %s", exc.message, self._on)
        return self._on

    async def on(self, client: "AnyRedis") -> bool:
        """Whether ends are archived now: the last value read if Redis does not answer now."""
        if not self._due():
            return self._on
        try:
            with redis_unavailable():
                return self._seen(await client.get(self.key))
        except BackendUnavailable as exc:
            return self._kept(exc)

    def on_blocking(self, client: "AnyBlockingRedis") -> bool:
        """`on` for the blocking client."""
        if not self._due():
            return self._on
        try:
            with redis_unavailable(blocking=True):
                return self._seen(client.get(self.key))
        except BackendUnavailable as exc:
            return self._kept(exc)
