"""A TCP proxy on a loopback port that a test can cut and restore, so a dropped connection
(a WebSocket's included) is a real one: the peer sees its socket closed, then refused."""

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.helpers.servers import free_port

_CHUNK = 65536


class CuttableProxy:
    """Forwards every connection on `url` to `target_port`; `cut()` and `restore()` drop and bring it back.

    While cut, the listening socket is closed, so a new connection is refused (not left hanging in
    the backlog), and every forwarded connection has been closed at both ends. `restore()` listens
    on the same port again, so the page keeps the address it was loaded from.

    With `refuse_websockets` set, a connection (accepted from then on) whose first request asks for
    a WebSocket upgrade is closed unanswered while plain HTTP still passes: a network whose proxy
    blocks WebSockets.
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.refuse_websockets = False
        self.most_open = 0  # the most forwarded connections alive at once so far

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    @property
    def open_connections(self) -> int:
        """Forwarded connections alive now (each counts its client side once)."""
        with self._lock:
            return len(self._open) // 2

    def restore(self) -> None:
        """Listen (again) on the proxy's port."""
        if self._listener is not None:
            return
        listener = socket.socket()
        # The port's old connections may sit in TIME_WAIT after a cut; they must not block the rebind.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._spawn(self._accept, listener)

    def cut(self) -> None:
        """Refuse new connections and close every forwarded one, both ends."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave it waiting.
            _shut(listener)
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        self.cut()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was shut by cut()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _shut(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut() ran meanwhile: this one must not survive it
                    _shut(client)
                    _shut(upstream)
                    return
                self._open.update((client, upstream))
                self.most_open = max(self.most_open, len(self._open) // 2)
            # Only a proxy refusing WebSockets reads HTTP: otherwise bytes pass as they come.
            self._spawn(self._pump_http if self.refuse_websockets else self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump_http(self, client: socket.socket, upstream: socket.socket) -> None:
        """Pass the first request's head on whole, unless it is a refused WebSocket upgrade; then pump."""
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < _CHUNK:
                if not (data := client.recv(_CHUNK)):
                    break
                head += data
        except OSError:
            pass
        # A browser never reuses a kept-alive HTTP connection for a WebSocket: the first request tells.
        if not head or b"\r\nupgrade: websocket" in head.lower():
            self._forget(client, upstream)
            return
        try:
            upstream.sendall(head)
        except OSError:
            self._forget(client, upstream)
            return
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass  # one side was closed, by cut() or by the peer
        # Neither a browser nor uvicorn half-closes a connection it still reads from: an end
        # of either direction ends both, which the other pump then sees as its own end.
        self._forget(source, sink)

    def _forget(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._open.discard(sock)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected, or already shut
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def cuttable_proxy(target_port: int) -> Iterator[CuttableProxy]:
    """A listening proxy to `target_port` on 127.0.0.1, closed on exit."""
    proxy = CuttableProxy(target_port)
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.close()
