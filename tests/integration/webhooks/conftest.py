"""A webhook receiver on a loopback port (the standard library's http.server in a thread),
and servers on each backend that can be killed and started again over the same store."""

import http.server
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from taskline.webhooks.signing import verify
from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer, free_port

SECRET = "test-secret"
_redis_db = itertools.count(1)


@dataclass
class Hit:
    delivery: str
    signed: bool
    body: dict[str, Any]


@dataclass
class Receiver:
    """Records every POST; answers each with the next of `answers`, then 200."""

    port: int
    answers: list[int] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def record(self, hit: Hit) -> int:
        with self.lock:
            self.hits.append(hit)
            return self.answers.pop(0) if self.answers else 200

    def deliveries(self) -> list[str]:
        with self.lock:
            return [hit.delivery for hit in self.hits]


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = verify(SECRET, body, self.headers.get("X-Taskline-Signature"))
            status = receiver.record(Hit(self.headers.get("X-Taskline-Delivery", ""), signed, orjson.loads(body)))
            self.send_response(status)
            if 300 <= status < 400:  # somewhere a delivery must never be taken to
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    """Serve `receiver` on its port until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(Receiver(free_port())) as running:
        yield running


StartServer = Callable[..., AbstractContextManager[LiveServer]]


@pytest.fixture(params=["sqlite", "redis"])
def start_server(request: pytest.FixtureRequest, tmp_path: Path) -> StartServer:
    """Starts servers over one store (the same SQLite file, or the same Redis database), with
    the webhook settings of these tests and any further `TASKLINE_*` ones."""
    redis_url = None
    if request.param == "redis":
        import redis

        server: RedisServer = request.getfixturevalue("redis_server")
        redis_url = f"redis://127.0.0.1:{server.port}/{next(_redis_db) % 16}"
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        client.close()

    def start(**env: str) -> AbstractContextManager[LiveServer]:
        settings = {
            "webhook_secret": SECRET,
            "webhook_allow_private": "true",
            "backoff_base": "0.05",
            "backoff_cap": "0.2",
            **env,
        }
        return live_server(tmp_path, redis_url=redis_url, **settings)

    return start
