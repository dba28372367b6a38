"""`GET /ws` (SPEC §3): the live event stream, with `?since=` replay, over a WebSocket.

Every connection subscribes to the process's `EventHub` first and only then replays from
`since`, so no event falls between the replay and the live stream; live events the replay
already sent are skipped by the replay's cursor. Refusals happen before the upgrade where the
server allows (an HTTP answer in SPEC's error shape), else as a close code.
"""

import asyncio
import contextlib
import time
from collections import Counter

import orjson
from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from taskline.api.auth import READERS
from taskline.api.guard import CLOSE_POLICY, client_identity, refuse_socket, request_key, requires
from taskline.errors import RateLimited, TasklineError, ValidationFailed
from taskline.events.filter import EventFilter
from taskline.events.hub import Subscription
from taskline.events.types import Event, EventCursor, EventsLost, Lagged, position
from taskline.service import TaskService
from taskline.wire import event_json

router = APIRouter(tags=["events"])

CLOSE_GOING_AWAY = 1001
CLOSE_ERROR = 1011


class SocketLimits:
    """Open `/ws` connections, per client (API key, else IP) and in all, each with a cap."""

    def __init__(self, *, per_client: int = 20, total: int = 1_000) -> None:
        # Each stream may hold SUBSCRIBER_BUFFER events: the total bounds a process's memory.
        self.per_client = per_client
        self.total = total
        self._open: Counter[str] = Counter()

    def admit(self, client: str) -> bool:
        """Count one more connection of `client`, unless a cap is reached (then False)."""
        if self._open[client] >= self.per_client or self._open.total() >= self.total:
            return False
        self._open[client] += 1
        return True

    def release(self, client: str) -> None:
        self._open[client] -= 1
        if self._open[client] <= 0:
            del self._open[client]


@router.websocket("/ws")
@requires(READERS)  # any role may listen
async def events_socket(websocket: WebSocket) -> None:
    """Stream events matching `?events=a,b&task_id=&queue=`, after replaying from `?since=`."""
    state = websocket.app.state
    params = websocket.query_params
    try:
        names = params["events"].split(",") if params.get("events") else None
        filter = EventFilter.of(names, task_id=params.get("task_id"), queue=params.get("queue"))
        since = params.get("since") or None
        if since is not None:
            position(since)
    except ValueError as exc:
        field = "since" if "event id" in str(exc) else "events"
        await refuse_socket(
            websocket, ValidationFailed(str(exc), [{"field": field, "message": str(exc)}]), CLOSE_POLICY
        )
        return
    limits: SocketLimits = state.sockets
    client = client_identity(websocket.scope, request_key(websocket.scope), keys_on=bool(state.key_roles))
    if not limits.admit(client):
        limited = RateLimited(f"too many event streams open (at most {limits.per_client} per client)")
        await refuse_socket(websocket, limited, CLOSE_POLICY)
        return
    # Subscribed before the handshake completes: whatever the client does once connected is seen.
    try:
        subscription = await state.server.hub.subscribe(filter)
    except TasklineError as exc:  # the store does not answer: 503 before the upgrade
        limits.release(client)
        await refuse_socket(websocket, exc, CLOSE_ERROR)
        return
    try:
        await websocket.accept()
        await _serve(websocket, subscription, since)
    finally:
        subscription.close()
        limits.release(client)


async def _serve(websocket: WebSocket, subscription: Subscription, since: str | None) -> None:
    """Stream until the client leaves, the server closes, or the hub stops."""
    state = websocket.app.state
    streaming = asyncio.ensure_future(_stream(websocket, state.service, subscription, since))
    closing = asyncio.ensure_future(state.closing.wait())
    gone = asyncio.ensure_future(_client_gone(websocket))
    try:
        await asyncio.wait({streaming, closing, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscription.close()
        for task in (streaming, closing, gone):
            task.cancel()
        results = await asyncio.gather(streaming, closing, gone, return_exceptions=True)
    if gone.done() and not gone.cancelled():
        return
    failure = results[0]
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client may be gone meanwhile
        if isinstance(failure, ValueError):
            await websocket.close(CLOSE_POLICY, str(failure)[:120])
        elif isinstance(failure, TasklineError):
            await websocket.close(CLOSE_ERROR, failure.message[:120])
        else:
            await websocket.close(CLOSE_GOING_AWAY, "the server is shutting down")


async def _stream(websocket: WebSocket, service: TaskService, subscription: Subscription, since: str | None) -> None:
    replayed: EventCursor | None = None
    if since is not None:
        try:
            replayed = await service.event_cursor(since, queue=subscription.filter.queue)
            while events := await service.read_events(replayed, wait_s=0):
                for event in events:
                    if subscription.filter.matches(event):
                        await _send(websocket, event)
        except EventsLost:
            replayed = None
            await _send(websocket, Lagged(ts=time.time()))
    while (item := await subscription.next()) is not None:
        if isinstance(item, Event) and replayed is not None and replayed.covers(item):
            continue
        await _send(websocket, item)


async def _send(websocket: WebSocket, item: Event | Lagged) -> None:
    await websocket.send_text(orjson.dumps(event_json(item)).decode())


async def _client_gone(websocket: WebSocket) -> None:
    """Returns once the client disconnects; what it sends is ignored."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
