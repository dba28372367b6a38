"""`events()` for both kinds of client: over `/ws` with reconnects, or straight from the store.

A dropped connection is reopened with backoff and resumed with `since=<last id delivered>`;
a resume may repeat events of that millisecond from other streams, so ids already delivered
are skipped. Both yield `Event`s and `Lagged` notices (events the reader will never see).

`Event` is the client's: its `schedule` is the `taskline.client.Schedule` that
`client.schedules` returns, decoded from the `/ws` JSON by the same converter (a `redis://`
client's events go through that JSON too), so a user meets one shape of a schedule.
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from taskline.client.errors import error_from_response
from taskline.client.schedules import Schedule, schedule_from_json, schedule_to_json
from taskline.core.task import Task
from taskline.core.workers import WorkerRecord
from taskline.errors import RetryLater, Unauthorized, ValidationFailed
from taskline.events import types as server
from taskline.events.filter import EventFilter
from taskline.events.follow import BACKOFF_S, follow
from taskline.events.types import LAGGED, EventName, Lagged
from taskline.service import TaskService
from taskline.wire import (
    event_json,
    from_rfc3339,
    rfc3339,
    task_from_json,
    task_summary_json,
    worker_from_json,
    worker_json,
)

log = logging.getLogger("taskline.client")

_REMEMBERED = 10_000  # ids kept to skip repeats; a resume repeats at most one millisecond's worth
_CLOSE_UNAUTHORIZED = 4401
_CLOSE_POLICY = 1008


@dataclass(frozen=True, slots=True)
class Event:
    """One event (SPEC §3 `/ws`): `task` a summary (no payload, result, metadata or errors),
    `worker`, or `schedule` (its `task` a summary too: type, queue and priority); a
    `schedule.fired` has both `schedule` and the `task` it submitted."""

    id: str
    name: EventName
    ts: float
    task: Task | None = None
    worker: WorkerRecord | None = None
    schedule: Schedule | None = None

    @property
    def queue(self) -> str | None:
        """The queue of its task, or of the tasks its schedule submits; None for a worker's."""
        if self.task is not None:
            return self.task.queue
        return None if self.schedule is None else str(self.schedule.task.get("queue", "default"))


def event_from_json(data: dict[str, Any]) -> Event | Lagged:
    """The `Event` (or `Lagged` notice) a `/ws` message describes (`wire.event_json`)."""
    ts = from_rfc3339(data["ts"]) or 0.0
    if data["event"] == LAGGED:
        return Lagged(ts=ts)
    task = data.get("task")
    worker = data.get("worker")
    schedule = data.get("schedule")
    return Event(
        id=data["id"],
        name=EventName(data["event"]),
        ts=ts,
        task=None
        if task is None
        else task_from_json({**task, "payload": {}, "result": None, "metadata": {}, "errors": []}),
        worker=None if worker is None else worker_from_json(worker),
        schedule=None if schedule is None else schedule_from_json(schedule),
    )


def event_to_json(item: Event | Lagged) -> dict[str, Any]:
    """The `/ws` message an `Event` (or `Lagged` notice) was read from: `event_from_json`'s inverse."""
    if isinstance(item, Lagged):
        return {"event": LAGGED, "ts": rfc3339(item.ts)}
    data: dict[str, Any] = {"id": item.id, "event": item.name.value, "ts": rfc3339(item.ts)}
    if item.schedule is not None:
        data["schedule"] = schedule_to_json(item.schedule)
    if item.task is not None:
        data["task"] = task_summary_json(item.task)
    if item.worker is not None:
        data["worker"] = worker_json(item.worker)
    return data


def _from_store(event: server.Event) -> Event:
    """A store's event as the client's: through the JSON `/ws` would send (one converter)."""
    converted = event_from_json(event_json(event))
    assert isinstance(converted, Event)
    return converted


class _Delivered:
    """The ids lately delivered, oldest forgotten first, and the last of them."""

    def __init__(self, since: str | None) -> None:
        self.last = since
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event: Event) -> bool:
        if event.id in self._ids:
            return False
        self._ids[event.id] = None
        if len(self._ids) > _REMEMBERED:
            self._ids.popitem(last=False)
        self.last = event.id
        return True


def socket_url(url: str, filter: EventFilter, since: str | None) -> str:
    """The `/ws` address of server `url` with the filter and `since` as query parameters. The
    key goes in a header: in a URL it would end up in proxies' and servers' access logs."""
    base = url.rstrip("/")
    scheme, rest = base.split("://", 1)
    params = {
        "events": ",".join(sorted(filter.names)) if filter.names else None,
        "task_id": filter.task_id,
        "queue": filter.queue,
        "since": since,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws" + (f"?{query}" if query else "")


async def socket_events(
    url: str, filter: EventFilter, since: str | None, *, api_key: str | None
) -> AsyncIterator[Event | Lagged]:
    """Events from the server's `/ws`, reconnecting after a drop until the caller stops.

    Raises:
        Unauthorized: the server refused the key.
        ValidationFailed: the server refused the filter or `since`.
    """
    delivered = _Delivered(since)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    failures = 0
    connected_before = False
    while True:
        if connected_before and delivered.last is None:
            # Dropped before any event told us where we were: what happened meanwhile is
            # unknown, so say so rather than resume silently from the end.
            yield Lagged(ts=time.time())
        target = socket_url(url, filter, delivered.last)
        try:
            async with connect(target, additional_headers=headers, proxy=None) as socket:
                failures = 0
                connected_before = True
                async for message in socket:
                    item = event_from_json(orjson.loads(message))
                    if isinstance(item, Lagged) or delivered.first_time(item):
                        yield item
                _refused_by_close(socket.close_code, socket.close_reason)
        except InvalidStatus as exc:
            _refused_by_status(exc)
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            if isinstance(exc, ConnectionClosed):
                _refused_by_close(exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else None)
            log.debug("event stream from %s dropped: %r", url, exc)
        except InvalidURI:
            raise
        except WebSocketException as exc:
            log.debug("event stream from %s failed: %r", url, exc)
        await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
        failures += 1


def _refused_by_close(code: int | None, reason: str | None) -> None:
    """Raise if the server closed for a reason that reconnecting would not cure."""
    if code == _CLOSE_UNAUTHORIZED:
        raise Unauthorized(reason or "the API key was refused")
    if code == _CLOSE_POLICY and reason and "too many" not in reason:
        raise ValidationFailed(reason)


def _refused_by_status(exc: InvalidStatus) -> None:
    """Raise the error an HTTP refusal stands for, unless waiting cures it (429, 5xx)."""
    response = exc.response
    try:
        body = orjson.loads(response.body or b"")
    except orjson.JSONDecodeError:
        body = None
    error = error_from_response(response.status_code, body, response.headers.get("Retry-After"))
    if isinstance(error, RetryLater) or response.status_code >= 500:
        log.debug("event stream refused for now: %s", error.message)
        return
    raise error


async def store_events(service: TaskService, filter: EventFilter, since: str | None) -> AsyncIterator[Event | Lagged]:
    """Events straight from the store's log (a `redis://` client), resuming after outages."""
    async with contextlib.aclosing(follow(service, since=since, queue=filter.queue)) as reads:
        async for events in reads:
            if isinstance(events, Lagged):
                yield events
                continue
            for event in events:
                if filter.matches(event):
                    yield _from_store(event)
