"""`/ws` keys, connection caps and slow readers, on both backends."""

import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.integration.api.conftest import StartServer
from tests.integration.api.events_ws import has, listen

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
    count = 5000
    with start_server(workers="4") as live, live.client() as http, listen(live) as slow:
        for start in range(0, count, 1000):  # submitted and run while `slow` reads nothing
            batch = [{"type": "echo", "queue": "bulk", "payload": {"n": n}} for n in range(start, start + 1000)]
            assert http.post("/api/v1/tasks/bulk", json=batch).status_code == 201
        _wait_for_all_completed(http, count)

        received = slow.until(lambda got: any(m["event"] == "lagged" for m in got), timeout_s=30)
        received += slow.quiet(1.0)

    lagged_at = next(n for n, m in enumerate(received) if m["event"] == "lagged")
    after = received[lagged_at + 1 :]
    assert set(received[lagged_at]) == {"event", "ts"}
    assert after  # the stream goes on after the notice
    # created, started and completed of each task were announced: the slow reader lost some of them
    assert len([m for m in received if m["event"] != "lagged"]) < 3 * count


def _wait_for_all_completed(http: httpx.Client, count: int) -> None:
    from tests.helpers.live import wait_until

    def done() -> bool:
        return int(http.get("/api/v1/stats").json()["states"]["completed"]) == count

    wait_until(done, timeout_s=120, what=f"{count} tasks completed")
