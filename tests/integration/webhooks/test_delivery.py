"""Webhooks end to end (SPEC §6): real `taskline serve` processes on each backend POST to a
real receiver on a loopback port, which checks every signature."""

import socket

import httpx
import pytest

from tests.helpers.live import LiveServer, wait_until
from tests.helpers.servers import free_port
from tests.integration.webhooks.conftest import Receiver, StartServer, receiving


def cancelled_with_hook(http: httpx.Client, url: str, **fields: object) -> str:
    """A task with a webhook, cancelled (a terminal state, no worker needed); its id."""
    created = http.post("/api/v1/tasks", json={"type": "hooked", "webhook": url, **fields})
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    assert http.delete(f"/api/v1/tasks/{task_id}").status_code == 200
    return task_id


def webhook_status(http: httpx.Client, task_id: str) -> dict[str, object]:
    status: dict[str, object] = http.get(f"/api/v1/tasks/{task_id}").json()["webhook_status"]
    return status


def settled(http: httpx.Client, task_id: str, state: str, *, timeout_s: float = 20) -> dict[str, object]:
    wait_until(lambda: webhook_status(http, task_id)["state"] == state, timeout_s=timeout_s, what=f"webhook {state}")
    return webhook_status(http, task_id)


def test_a_terminal_task_is_posted_once_signed(start_server: StartServer, receiver: Receiver) -> None:
    with start_server() as server, server.client() as http:
        task_id = cancelled_with_hook(http, receiver.url, payload={"n": 1})

        status = settled(http, task_id, "delivered")

    assert status == {"state": "delivered", "attempts": 1, "last_status": 200, "last_error": None}
    (hit,) = receiver.hits
    assert hit.signed
    assert hit.body["event"] == "task.cancelled"
    assert (hit.body["task"]["id"], hit.body["task"]["state"]) == (task_id, "cancelled")
    assert hit.body["task"]["payload"] == {"n": 1}
    assert hit.delivery


def test_failed_attempts_are_retried_with_the_same_delivery_id(start_server: StartServer, receiver: Receiver) -> None:
    receiver.answers = [500, 503]
    with start_server() as server, server.client() as http:
        task_id = cancelled_with_hook(http, receiver.url)

        status = settled(http, task_id, "delivered")

    assert status == {"state": "delivered", "attempts": 3, "last_status": 200, "last_error": None}
    assert len(receiver.hits) == 3
    assert len(set(receiver.deliveries())) == 1
    assert all(hit.signed for hit in receiver.hits)


def test_a_receiver_that_always_fails_is_given_up_after_max_attempts(
    start_server: StartServer, receiver: Receiver
) -> None:
    receiver.answers = [500] * 10
    with start_server(webhook_max_attempts="3") as server, server.client() as http:
        task_id = cancelled_with_hook(http, receiver.url)

        status = settled(http, task_id, "failed")

        assert status == {"state": "failed", "attempts": 3, "last_status": 500, "last_error": "answered 500"}
        assert len(receiver.hits) == 3
        assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "cancelled"  # the task is untouched


@pytest.mark.parametrize("start_server", ["sqlite"], indirect=True)  # the dispatcher is the same on both
def test_a_redirect_is_an_answer_not_followed(start_server: StartServer, receiver: Receiver) -> None:
    receiver.answers = [302]
    with start_server(webhook_max_attempts="1") as server, server.client() as http:
        task_id = cancelled_with_hook(http, receiver.url)

        status = settled(http, task_id, "failed")

    assert status["last_status"] == 302
    assert "redirects are not followed" in str(status["last_error"])
    assert len(receiver.hits) == 1


def test_a_delivery_survives_a_killed_server(start_server: StartServer) -> None:
    receiver = Receiver(free_port())  # not listening yet: every attempt is refused
    env = {"webhook_max_attempts": "1000"}
    with start_server(**env) as first, first.client() as http:
        task_id = cancelled_with_hook(http, receiver.url)
        wait_until(lambda: webhook_status(http, task_id)["attempts"] >= 1, what="a refused attempt")
        first.process.kill()  # SIGKILL: nothing is finished or handed back
        first.process.wait()

    with receiving(receiver), start_server(**env) as second, second.client() as http:
        # A delivery claimed by the killed server is taken again once its claim (30 s) runs out.
        status = settled(http, task_id, "delivered", timeout_s=60)

    assert status["state"] == "delivered"
    assert receiver.hits[0].signed
    assert len(set(receiver.deliveries())) == 1


def test_a_private_webhook_is_refused_at_submit_unless_allowed(start_server: StartServer) -> None:
    with start_server(webhook_allow_private="false") as server, server.client() as http:
        refused = http.post("/api/v1/tasks", json={"type": "t", "webhook": "http://127.0.0.1:9/hook"})

        assert refused.status_code == 422
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["webhook"]


def test_a_name_that_resolves_to_a_private_address_fails_at_delivery(
    start_server: StartServer, receiver: Receiver
) -> None:
    host = socket.gethostname()
    try:
        address = socket.getaddrinfo(host, receiver.port)[0][4][0]
    except socket.gaierror:
        pytest.skip("this machine's name does not resolve")
    if not (address.startswith("127.") or address == "::1"):
        pytest.skip(f"this machine's name resolves to {address}, not to loopback")
    with start_server(webhook_allow_private="false") as server, server.client() as http:
        task_id = cancelled_with_hook(http, f"http://{host}:{receiver.port}/hook")

        status = settled(http, task_id, "failed")

    assert status["attempts"] == 1
    assert "private, loopback or link-local" in str(status["last_error"])
    assert receiver.hits == []


@pytest.mark.parametrize("start_server", ["redis"], indirect=True)  # one SQLite file has one server
def test_two_servers_on_one_redis_deliver_each_once(start_server: StartServer, receiver: Receiver) -> None:
    with start_server() as first, start_server() as second, first.client() as http:
        ids = [cancelled_with_hook(http, receiver.url) for _ in range(20)]
        for task_id in ids:
            settled(http, task_id, "delivered")
        servers: tuple[LiveServer, ...] = (first, second)
        assert all(s.process.poll() is None for s in servers)

    assert sorted(hit.body["task"]["id"] for hit in receiver.hits) == sorted(ids)
    assert len(set(receiver.deliveries())) == 20
