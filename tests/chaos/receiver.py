"""A real webhook receiver on a loopback port: it writes down every delivery it answers 2xx.

It refuses (503) the first try of one delivery in five, chosen by the delivery id, so the
dispatcher's retries are part of every run."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from tests.chaos.history import Delivered
from tests.helpers.servers import free_port


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5, and each delivery is a connection of its own
    # (HTTP/1.0): a dispatcher's 16 connections at once overflowed it, and the dropped SYNs were
    # sent again a second later, so the receiver took a batch a second (~16 deliveries/s, too few
    # for a 100,000-task run) where the dispatcher does hundreds (docs/benchmarks.md).
    request_queue_size = 128
    daemon_threads = True


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.delivered: list[Delivered] = []
        self.refused = 0
        self._lock = threading.Lock()
        self._tried: set[str] = set()
        self._server = _Server(("127.0.0.1", self.port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="chaos-receiver", daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def task_ids(self) -> set[str]:
        with self._lock:
            return {d.task_id for d in self.delivered}

    def take(self, delivery_id: str, body: dict[str, Any]) -> bool:
        """Whether to answer 2xx; a delivery answered so is written down."""
        with self._lock:
            first_try = delivery_id not in self._tried
            self._tried.add(delivery_id)
            if first_try and hashlib.sha256(delivery_id.encode()).digest()[0] % 5 == 0:
                self.refused += 1
                return False
            self.delivered.append(Delivered(body["task"]["id"], delivery_id, body["event"]))
            return True


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:  # a dispatcher killed halfway through its request
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ok = receiver.take(self.headers["X-Taskline-Delivery"], body)
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per delivery would drown the run's output

    return Handler
