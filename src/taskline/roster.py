"""`Roster`: this process's view of the worker registry, so that a poll costs no write.

A poll must register its worker and learn whether it is paused, but the poll → complete
path is the hot one: so each worker's sighting is written at most once per `REFRESH_S` by
this process, and its paused state is remembered in between. A pause made elsewhere (another
API instance on the same Redis) is therefore seen within `REFRESH_S`, as SPEC §5 asks; one
made through this process is seen at once, and wakes the polls waiting on it.
"""

import asyncio
import time
from dataclasses import dataclass, field

from taskline.backends.base import Backend
from taskline.core.workers import SEEN_WITHIN_S, WorkerDetails, WorkerRecord
from taskline.waiting import wait_event

REFRESH_S = 1.0
_MAX_REMEMBERED = 10_000


@dataclass(slots=True)
class _Sighting:
    written_at: float  # time.monotonic() of the last write
    paused: bool
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Roster:
    """Sightings of workers, written through to the backend at most once per `REFRESH_S` each."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._seen: dict[str, _Sighting] = {}

    async def paused(self, worker_id: str, first_details: WorkerDetails, *, since: float) -> bool:
        """Whether `worker_id` is paused, recording that it was seen (a poll that began at `since`).

        `first_details` are written only with this process's first sighting of the worker: a
        poll's queues and types describe an HTTP worker that reports nothing else, while a
        worker that reports itself (`report`) knows better than any one of its polls. A poll
        begun before its worker said it left records nothing (`Backend.register_worker`).
        """
        seen = self._seen.get(worker_id)
        if seen is not None and time.monotonic() - seen.written_at < REFRESH_S:
            return seen.paused
        details = WorkerDetails() if seen else first_details
        record = await self._backend.register_worker(worker_id, details, since=since)
        return record is not None and self._note(record).paused

    async def report(self, worker_id: str, details: WorkerDetails, *, since: float) -> WorkerRecord | None:
        """Write a worker's own report of itself (its heartbeat, received at `since`) and return
        its record; None if the worker said it left after the heartbeat came in."""
        record = await self._backend.register_worker(worker_id, details, since=since)
        return None if record is None else self._note(record)

    def changed(self, record: WorkerRecord) -> None:
        """Take a pause or resume made through this process into account at once."""
        self._note(record)

    def forget(self, worker_id: str) -> None:
        self._seen.pop(worker_id, None)

    async def wait_for_change(self, worker_id: str, timeout_s: float) -> None:
        """Wait up to `timeout_s` for this process to pause or resume the worker."""
        seen = self._seen.get(worker_id)
        changed = seen.changed if seen is not None else asyncio.Event()  # forgotten: just wait
        await wait_event(changed, timeout_s)

    def _note(self, record: WorkerRecord) -> WorkerRecord:
        now = time.monotonic()
        seen = self._seen.get(record.id)
        if seen is None:
            if len(self._seen) >= _MAX_REMEMBERED:
                self._seen = {k: s for k, s in self._seen.items() if now - s.written_at < SEEN_WITHIN_S}
            self._seen[record.id] = _Sighting(now, record.paused)
            return record
        if seen.paused != record.paused:
            seen.changed.set()  # wakes the polls waiting out a pause
            seen.changed = asyncio.Event()
        seen.written_at, seen.paused = now, record.paused
        return record
