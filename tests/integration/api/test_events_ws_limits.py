"""`/ws` keys, connection caps and slow readers, on both backends."""

import json
import math
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from taskline.events.hub import SUBSCRIBER_BUFFER
from tests.helpers.live import wait_until
from tests.integration.api.conftest import StartServer
from tests.integration.api.events_ws import has, listen
from tests.integration.api.test_metrics_api import scrape, value

KEYS = {"producer": "p-key", "worker": "w-key", "admin": "a-key"}


def test_any_valid_key_may_listen_and_others_are_refused(start_server: StartServer) -> None:
    with start_server(api_keys=",".join(f"{key}:{role}" for role, key in KEYS.items())) as live:
        for key in (None, "wrong"):
            params = {"api_key": key} if key else {}
            with pytest.raises(InvalidStatus) as refused, listen(live, **params):
                pass
            assert refused.value.response.status_code == 401
            assert json.loads(refused.value.response.body or b"")["error"]["code"] == "unauthorized"
        with live.client(KEYS["admin"]) as admin:
            for role, key in KEYS.items():
                with listen(live, headers={"X-API-Key": key}) as by_header, listen(live, api_key=key) as by_query:
                    task = admin.post("/api/v1/tasks", json={"type": "echo", "queue": role}).json()
                    assert by_header.until(has("task.created", task["id"]))
                    assert by_query.until(has("task.created", task["id"]))


def test_a_client_may_hold_only_so_many_streams(start_server: StartServer) -> None:
    with start_server() as live, listen(live) as first:
        opened = [listen(live) for _ in range(19)]
        for socket in opened:
            socket.__enter__()
        try:
            with pytest.raises(InvalidStatus) as refused, listen(live):
                pass
            assert refused.value.response.status_code == 429
        finally:
            for socket in opened:
                socket.__exit__(None, None, None)
        with listen(live):  # a slot is free again once one closes
            pass
        assert first.socket.close_code is None


def test_a_reader_that_stops_reading_is_told_it_lagged_and_holds_the_server_back_nowhere(
    start_server: StartServer,
) -> None:
    count = _tasks_to_overflow_the_kernel()
    queue = "bulk-" + "q" * 59  # as long as a queue name may be: every event carries it
    # Uncompressed: permessage-deflate shrinks these near-identical events ~15-fold, and then
    # 15,000 of them fit in the server's kernel send buffer and no event is ever dropped.
    with (
        start_server(workers="4") as live,
        live.client() as http,
        listen(live, queue=queue, compression=None) as slow,
    ):
        for start in range(0, count, 1000):  # submitted and run while `slow` reads nothing
            batch = [_task(queue, n) for n in range(start, min(count, start + 1000))]
            assert http.post("/api/v1/tasks/bulk", json=batch).status_code == 201
        _wait_for_all_completed(http, count)

        received = slow.until(lambda got: any(m["event"] == "lagged" for m in got), timeout_s=60)
        received += slow.quiet(1.0)
        series = scrape(http)

    lagged_at = next(n for n, m in enumerate(received) if m["event"] == "lagged")
    assert set(received[lagged_at]) == {"event", "ts"}
    assert received[lagged_at + 1 :]  # the stream goes on after the notice
    events = [m for m in received if m["event"] != "lagged"]
    assert {m["event"] for m in events} <= {"task.created", "task.started", "task.completed"}
    assert min(len(json.dumps(m)) for m in events) >= EVENT_BYTES  # what the task count was sized by
    # What an operator sees: the one stream lost events, and its buffer never held more than its bound.
    dropped = value(series, "taskline_events_dropped_total")
    assert dropped > 0
    assert value(series, "taskline_event_buffer_high_water") == SUBSCRIBER_BUFFER
    assert value(series, "taskline_event_subscribers") == 1
    # Every event of the 3 per task (created, started, completed) was either sent or dropped.
    assert len(events) + dropped == 3 * count


EVENT_BYTES = 800
"""The least a task event of this test takes as JSON (a summary of ~550 bytes with a 64-character
queue, plus a 256-character unique key)."""


def _tasks_to_overflow_the_kernel() -> int:
    """Enough tasks that their events are three times what the kernel's send buffer for one socket
    can grow to (loopback autotunes it up to tcp_wmem's maximum) plus the transport's own
    64 KiB: only then must the server's bounded per-subscriber buffer overflow."""
    try:
        kernel_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        kernel_max = 4 * 1024 * 1024  # Linux's default
    events_needed = 3 * (kernel_max + 64 * 1024) // EVENT_BYTES
    return max(5000, math.ceil(events_needed / 3 / 1000) * 1000)


def _task(queue: str, n: int) -> dict[str, Any]:
    # A random unique key: as big as one may be, and random so no compression undoes its size.
    return {"type": "echo", "queue": queue, "payload": {"n": n}, "unique_key": secrets.token_urlsafe(192)}


def _wait_for_all_completed(http: httpx.Client, count: int) -> None:
    def done() -> bool:
        return int(http.get("/api/v1/stats").json()["states"]["completed"]) == count

    wait_until(done, timeout_s=180, what=f"{count} tasks completed")
