"""The cuttable proxy the live-feed test relies on does what it says: forwards, cuts open
connections, refuses new ones while cut, and accepts again on the same port once restored."""

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.helpers.proxy import cuttable_proxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback server that echoes what it receives, one thread per connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    return sock.recv(1024)


def test_the_proxy_forwards_cuts_refuses_and_restores(echo_port: int) -> None:
    with cuttable_proxy(echo_port) as proxy:
        first = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        echoed = round_trip(first, b"before")
        proxy.cut()
        after_cut = first.recv(1024)  # the open connection ends: EOF, as a dropped socket
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        proxy.restore()
        second = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        echoed_again = round_trip(second, b"after")
        for sock in (first, second):
            sock.close()

    assert (echoed, after_cut, echoed_again) == (b"before", b"", b"after")
