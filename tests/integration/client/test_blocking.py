"""The blocking `Client` on its own connections: shared by threads, called inside a running
event loop, without a loop thread for a producer's calls, and past a keep-alive connection
the server closed while it sat idle."""

import http.server
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from taskline import Client
from tests.integration.client.conftest import Target

THREADS = 4
EACH = 10


def test_threads_share_one_client(client: Client, queue: str) -> None:
    def produce(n: int) -> list[str]:
        return [client.get(client.submit("echo", {"n": n, "i": i}, queue=queue).id).id for i in range(EACH)]

    with ThreadPoolExecutor(THREADS) as pool:
        ids = [task_id for batch in pool.map(produce, range(THREADS)) for task_id in batch]

    listed = {task.id for task in client.list(queue=queue)}
    assert len(set(ids)) == THREADS * EACH
    assert listed == set(ids)


async def test_a_sync_helper_of_an_async_app_can_use_it(target: Target, queue: str) -> None:
    def enqueue_report(client: Client) -> str:  # what an async web app's sync helper does
        return client.submit("report", {"for": "me"}, queue=queue).id

    with Client(target.url) as client:
        task_id = enqueue_report(client)
        got = client.get(task_id)
        stats = client.stats()  # straight on Redis: a call that keeps the loop thread

    assert got.queue == queue
    assert stats.total >= 1


def test_a_producer_loop_starts_no_thread(target: Target, queue: str) -> None:
    before = {t.name for t in threading.enumerate()}
    with Client(target.url) as client:
        task = client.submit("echo", queue=queue)
        client.submit_many([{"type": "echo", "queue": queue}])
        cancelled = client.wait(client.cancel(task.id).id, timeout=10)
        retried = client.retry(task.id, payload={"again": True})
        started = {t.name for t in threading.enumerate()} - before

    assert started == set()
    assert (cancelled.state, retried.state, retried.payload) == ("cancelled", "pending", {"again": True})


def test_a_task_submitted_elsewhere_is_found(target: Target, queue: str) -> None:
    with target.server.client() as http:
        response = http.post("/api/v1/tasks", json={"type": "echo", "queue": queue})
        task_id = response.json()["id"]
    with Client(target.url) as client:
        got = client.get(task_id)
    with Client(target.url) as client:
        cancelled = client.cancel(task_id)

    assert (got.id, got.queue, got.state) == (task_id, queue, "pending")
    assert cancelled.state == "cancelled"


class _OneAnswerPerConnection(http.server.BaseHTTPRequestHandler):
    """Answers as HTTP/1.1 keep-alive would, then closes: what a server's idle timeout does."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"states": {}, "total": 0, "workers": 0}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def closing_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneAnswerPerConnection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_connection_closed_while_idle_is_replaced(closing_server: str) -> None:
    with Client(closing_server, retries=0) as client:
        totals = [client.stats().total for _ in range(3)]

    assert totals == [0, 0, 0]
