"""`BlockingApiConnection`: the blocking client's requests, on `http.client` keep-alive connections.

http.client because it measured cheapest for a producer submitting one task after another
(`bench/sync_http.py`: client CPU per submit ~460 µs, against urllib3 ~830, httpcore ~1,050,
httpx.Client ~1,730). It has no pool of its own: idle connections wait in a list here, so
threads sharing one client each take their own, and one the server has closed while idle is
dropped before it is used.
"""

import http.client
import select
import threading
from typing import Any, TypeVar
from urllib.parse import urlsplit

from taskline.client import protocol
from taskline.errors import BackendUnavailable

T = TypeVar("T")
MAX_IDLE = 16  # connections kept open between calls; more threads than this open their own

# A reused connection failing this way was most likely closed by the server while idle (its
# keep-alive timeout) before the request reached it. Most likely is not surely: a server that
# took the request and then died fails the same way, so only a call that may be made twice
# (a read, or one with an Idempotency-Key) is sent again on a fresh connection.
_CLOSED_WHILE_IDLE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class BlockingApiConnection:
    def __init__(self, url: str, *, api_key: str | None, timeout: float) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.hostname is None:
            raise ValueError(f"no host in {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base_path = parts.path
        self._timeout = timeout
        self._headers = protocol.request_headers(api_key)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def send(self, call: "protocol.Call[T]") -> T:
        """Make one client call; the answer read, or the error it stands for raised.

        Raises:
            BackendUnavailable: the server could not be reached.
            TasklineError: the class of the error code the server answered.
        """
        headers = self._headers if call.headers is None else {**self._headers, **call.headers}
        path = self._base_path + call.target
        connection, reused = self._take()
        try:
            try:
                response = self._exchange(connection, call.method, path, call.body, headers)
            except _CLOSED_WHILE_IDLE:
                if not (reused and (call.method == "GET" or "Idempotency-Key" in headers)):
                    raise
                connection.close()
                connection = self._open()
                response = self._exchange(connection, call.method, path, call.body, headers)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise BackendUnavailable(f"could not reach {self.url}: {exc!r}") from exc
        status, content, retry_after, keep = response
        if keep:
            self._give_back(connection)
        else:
            connection.close()
        return call.read(protocol.answer(status, content, retry_after))

    @staticmethod
    def _exchange(
        connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes, str | None, bool]:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        return response.status, content, response.getheader("retry-after"), not response.will_close

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection still open (and True), or a new one (and False)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this Client is closed")
            while self._idle:
                connection = self._idle.pop()
                if not _closed_by_peer(connection):
                    return connection, True
                connection.close()
        return self._open(), False

    def _open(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self._timeout)

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection has something to read: the server's close (it sends nothing else)."""
    sock: Any = connection.sock
    if sock is None:
        return False  # never connected: it connects on first use
    poller = select.poll()  # not select.select, which fails on descriptors above 1023
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
