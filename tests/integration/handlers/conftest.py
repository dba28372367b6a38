"""Real servers on free loopback ports for the built-in handlers: a Starlette app under
uvicorn, an aiosmtpd SMTP server, and a silent TCP server that never answers."""

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from taskline.worker.builtin import MAX_HTTP_BODY_BYTES


@dataclass
class WebServer:
    port: int
    hits: list[str] = field(default_factory=list)  # request paths, in order

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


async def _echo(request: Request) -> Response:
    """What the server received, so a test can check what the handler sent."""
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "content_type": request.headers.get("content-type"),
            "x_token": request.headers.get("x-token"),
            "body": body.decode(),
        }
    )


async def _status(request: Request) -> Response:
    return PlainTextResponse("try later", status_code=int(request.path_params["code"]))


_ROUTES = [
    Route("/json", lambda _: JSONResponse({"hello": "world", "n": [1, 2]})),
    Route("/text", lambda _: PlainTextResponse("plain text")),
    Route("/echo", _echo, methods=["GET", "POST", "PUT", "DELETE"]),
    Route("/status/{code:int}", _status),
    Route("/redirect", lambda _: RedirectResponse("/json")),
    Route("/big", lambda _: Response(b"[" + b"1," * MAX_HTTP_BODY_BYTES + b"1]", media_type="application/json")),
]


def _listening_socket() -> socket.socket:
    # Bound and listening before uvicorn starts: a client connecting early waits in the backlog.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture(scope="module")
async def web() -> AsyncIterator[WebServer]:
    sock = _listening_socket()
    server = WebServer(port=sock.getsockname()[1])
    app = Starlette(routes=_ROUTES)

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            server.hits.append(scope["path"])
        await app(scope, receive, send)

    config = uvicorn.Config(counting, lifespan="off", ws="none", log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    serving = asyncio.create_task(uv.serve(sockets=[sock]))
    yield server
    uv.should_exit = True
    await serving
    sock.close()


class SilentServer:
    """Accepts connections, sends an optional greeting, never answers; notes when the client hangs up."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.spoke = asyncio.Event()  # the client sent its first bytes
        self.hung_up = asyncio.Event()  # the client closed the connection
        self.port = 0

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.greeting)
        if await reader.read(4096):
            self.spoke.set()
        while await reader.read(4096):
            pass
        self.hung_up.set()
        writer.close()


@pytest.fixture
async def start_silent() -> AsyncIterator[Callable[[bytes], Awaitable[SilentServer]]]:
    servers: list[asyncio.Server] = []

    async def start(greeting: bytes = b"") -> SilentServer:
        silent = SilentServer(greeting)
        server = await asyncio.start_server(silent._converse, "127.0.0.1", 0)
        servers.append(server)
        silent.port = server.sockets[0].getsockname()[1]
        return silent

    yield start
    for server in servers:
        server.close()


class Mailbox:
    """An aiosmtpd handler that keeps what it is sent; `@refused.example` is refused for good,
    `@busy.example` for now."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[str, str]] = []
        self.port = 0

    async def handle_RCPT(  # aiosmtpd calls its hooks by these names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user"
        if address.endswith("@busy.example"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """A real SMTP server without TLS that accepts AUTH in the clear (loopback only)."""
    box = Mailbox()
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(box, hostname="localhost", loop=loop, auth_require_tls=False, authenticator=box.authenticate)

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()
    await server.wait_closed()
