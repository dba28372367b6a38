"""`EventHub`: one reader of the backend's event log per server process, fanned out to every
`/ws` subscriber of that process.

One cursor serves every connection, so a thousand clients cost the backend one blocking read,
not a thousand; and with no connection the hub reads nothing (decoding every event for nobody
cost a busy server a fifth of its CPU). Each subscriber has a bounded buffer the hub only ever appends to: a client
that reads slowly loses its oldest events (and is told `lagged`), never slowing the hub or
the other clients.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

from taskline.events.filter import EventFilter
from taskline.events.follow import follow
from taskline.events.types import Event, EventCursor, Lagged
from taskline.service import TaskService
from taskline.waiting import wait_event

log = logging.getLogger("taskline.events")

SUBSCRIBER_BUFFER = 1000
"""Events held for one subscriber that has not read them yet; older ones are dropped."""
READ_WAIT_S = 1.0  # the longest a stop waits for the current read


class Subscription:
    """One subscriber's filtered, bounded queue of events. Read it with `next()`."""

    def __init__(self, hub: "EventHub", filter: EventFilter, size: int) -> None:
        self.filter = filter
        self.dropped = 0
        self.high_water = 0  # the most events it ever held: stays <= size
        self._hub = hub
        self._size = size
        self._buffer: deque[Event] = deque()
        self._lagged = False
        self._closed = False
        self._ready = asyncio.Event()

    def offer(self, event: Event) -> None:
        """Take an event if it matches; never waits (the hub calls this for every subscriber)."""
        if self._closed or not self.filter.matches(event):
            return
        if len(self._buffer) >= self._size:
            self._buffer.popleft()
            self.dropped += 1
            self._hub.dropped += 1
            self._lagged = True
        self._buffer.append(event)
        self.high_water = max(self.high_water, len(self._buffer))
        self._ready.set()

    async def next(self) -> Event | Lagged | None:
        """The next event, a `Lagged` notice first if some were dropped, or None once closed."""
        while not self._buffer and not self._lagged and not self._closed:
            self._ready.clear()
            await self._ready.wait()
        if self._lagged:
            self._lagged = False
            return Lagged(ts=time.time())
        if self._buffer:
            return self._buffer.popleft()
        return None

    def lag(self) -> None:
        """Events this subscriber should have had are gone: tell it before the next event."""
        self._lagged = True
        self._ready.set()

    def close(self) -> None:
        """Stop receiving (a subscriber leaving, or the hub stopping); `next()` then gives None."""
        self._closed = True
        self._buffer.clear()
        self._ready.set()
        self._hub.unsubscribe(self)


@dataclass(frozen=True, slots=True)
class HubStats:
    """This process's fan-out figures since it started (`/metrics` shows them)."""

    subscribers: int
    read: int
    """Events read from the backend's log (each offered to every subscriber)."""
    dropped: int
    """Events dropped from full subscriber buffers, over all subscribers so far."""
    largest_buffer: int
    """The most events one subscriber's buffer ever held: at most the buffer size."""


class EventHub:
    """Reads the event log while anyone is subscribed and offers each event to every subscriber."""

    def __init__(self, service: TaskService, *, buffer_size: int = SUBSCRIBER_BUFFER) -> None:
        self._service = service
        self.buffer_size = buffer_size
        self._subscribers: set[Subscription] = set()
        self._read = 0
        self._largest_buffer = 0
        self.dropped = 0  # counted by the subscriptions as they drop, so closed ones still count
        self._stopping = False
        # Where reading starts once a subscriber wakes the hub; None while the hub is idle.
        self._start: EventCursor | None = None
        self._waking = asyncio.Lock()
        self._woken = asyncio.Event()

    async def subscribe(self, filter: EventFilter) -> Subscription:
        """A subscription that gets every matching event from the moment this call returns."""
        async with self._waking:  # two first subscribers at once: one cursor, the earlier
            if self._start is None:
                self._start = await self._service.event_cursor()
                self._woken.set()
            subscription = Subscription(self, filter, self.buffer_size)
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._largest_buffer = max(self._largest_buffer, subscription.high_water)
        self._subscribers.discard(subscription)

    def stats(self) -> HubStats:
        """How the fan-out is doing: for `/metrics`, so an operator sees slow readers and bounded buffers."""
        largest = max((s.high_water for s in self._subscribers), default=0)
        return HubStats(len(self._subscribers), self._read, self.dropped, max(largest, self._largest_buffer))

    def stop(self) -> None:
        """Finish: `run` returns after its current read (at most READ_WAIT_S)."""
        self._stopping = True

    async def run(self) -> None:
        """Read and fan out until stopped, idle while nobody listens; backend errors are logged
        and retried."""
        try:
            while not self._stopping:
                if self._start is None:
                    self._woken.clear()
                    await wait_event(self._woken, READ_WAIT_S)
                    continue
                await self._fan_out(self._start)
        finally:
            for subscription in tuple(self._subscribers):
                subscription.close()

    async def _fan_out(self, start: EventCursor) -> None:
        """Read from `start` until stopped or the last subscriber has gone."""
        async with contextlib.aclosing(follow(self._service, start=start, wait_s=READ_WAIT_S)) as reads:
            async for events in reads:
                if self._stopping:
                    return
                if isinstance(events, Lagged):
                    log.warning("the event hub fell behind the events kept; its subscribers are told they lagged")
                    for subscription in tuple(self._subscribers):
                        subscription.lag()
                    continue
                for event in events:
                    for subscription in tuple(self._subscribers):
                        subscription.offer(event)
                self._read += len(events)
                if not self._subscribers:
                    # Idle from here, decided with no await since the look: the next subscriber
                    # takes a fresh cursor rather than joining a read about to end.
                    self._start = None
                    return
