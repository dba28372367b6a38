"""A `/ws` listener for the event tests: a real WebSocket client (the `websockets` library)."""

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.helpers.live import LiveServer


class Listener:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    def next(self, timeout_s: float = 10) -> dict[str, Any]:
        return dict(json.loads(self.socket.recv(timeout=timeout_s)))

    def until(self, done: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 20) -> list[dict[str, Any]]:
        """Messages received until `done(received)` holds."""
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while not done(received):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {len(received)} messages: {names(received)[-5:]}")
            try:
                received.append(self.next(remaining))
            except TimeoutError:
                continue
        return received

    def quiet(self, within_s: float = 0.5) -> list[dict[str, Any]]:
        """What else arrives within `within_s` (for asserting that nothing more does)."""
        extra: list[dict[str, Any]] = []
        try:
            while True:
                extra.append(self.next(within_s))
        except TimeoutError:
            return extra


def ws_url(server: LiveServer, **params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"ws://127.0.0.1:{server.port}/ws" + (f"?{query}" if query else "")


@contextmanager
def listen(
    server: LiveServer, *, headers: dict[str, str] | None = None, compression: str | None = "deflate", **params: str
) -> Iterator[Listener]:
    url = ws_url(server, **params)
    # max_queue=1: the client library holds next to nothing, so a reader that stops reading
    # is behind at the server, as a slow consumer would be.
    # A small receive window too, so the kernel does not absorb megabytes on the reader's behalf.
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    raw.connect(("127.0.0.1", server.port))
    with connect(
        url, sock=raw, additional_headers=headers, proxy=None, open_timeout=10, max_queue=1, compression=compression
    ) as conn:
        yield Listener(conn)


def names(messages: list[dict[str, Any]], task_id: str | None = None) -> list[str]:
    return [m["event"] for m in messages if task_id is None or m.get("task", {}).get("id") == task_id]


def has(name: str, task_id: str | None = None) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda received: name in names(received, task_id)


def close_code(socket: ClientConnection) -> int | None:
    try:
        socket.recv(timeout=10)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    return None
