"""The SSRF guard's connection step (webhooks.targets): the name is resolved once and the
connection made to the very address that was checked. A resolver that answers a public
address for the check and loopback after (DNS rebinding) plays the attacker's DNS; a real
loopback server is what the second answer would reach, and must never see a connection."""

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterable

import httpcore
import httpx
import pytest

from taskline.webhooks.targets import CheckedNetwork, TargetRefused, _CheckedTransport

pytestmark = pytest.mark.timeout(30)
PUBLIC = "93.184.215.14"  # a global address: the rule lets it through


class Rebinding:
    """A DNS that answers `first` once, then `then` (what a rebinding attacker's DNS does)."""

    def __init__(self, first: list[str], then: list[str]) -> None:
        self.answers = [first, then]
        self.asked = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        return self.answers[min(self.asked, len(self.answers)) - 1]


class Recording(httpcore.AsyncNetworkBackend):
    """The real network, noting each address a connection is made to."""

    def __init__(self) -> None:
        self.real = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return await self.real.connect_tcp(host, port, timeout=0.5)  # the public address may not answer here

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP server on 127.0.0.1: its port and a list that grows by one per connection."""
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], connections
    server.close()
    await server.wait_closed()


def client(dns: Rebinding, network: Recording) -> httpx.AsyncClient:
    transport = _CheckedTransport(CheckedNetwork(resolve=dns, inner=network), ssl.create_default_context())
    return httpx.AsyncClient(transport=transport, timeout=2, follow_redirects=False)


async def test_a_rebinding_dns_answer_never_reaches_the_address_it_rebinds_to(loopback: tuple[int, list[int]]) -> None:
    port, connections = loopback
    dns, network = Rebinding([PUBLIC], ["127.0.0.1"]), Recording()

    async with client(dns, network) as http:
        with pytest.raises(httpx.TransportError):  # the public address does not answer in a sandbox
            await http.post(f"http://rebind.example:{port}/hook", content=b"{}")

    assert dns.asked == 1  # one lookup: the one that was checked
    assert network.connected == [PUBLIC]  # ...and the connection went to what it answered
    assert connections == []


async def test_a_name_with_any_private_address_is_refused_before_any_connection(
    loopback: tuple[int, list[int]],
) -> None:
    port, connections = loopback
    dns, network = Rebinding([PUBLIC, "127.0.0.1"], [PUBLIC]), Recording()

    async with client(dns, network) as http:
        with pytest.raises(TargetRefused, match=r"127\.0\.0\.1, a private, loopback or link-local address"):
            await http.get(f"http://mixed.example:{port}/")

    assert network.connected == []
    assert connections == []


@pytest.mark.parametrize("target", ["127.0.0.1", "[::ffff:127.0.0.1]", "169.254.169.254", "localhost"])
async def test_an_address_in_the_url_goes_through_the_same_check(loopback: tuple[int, list[int]], target: str) -> None:
    port, connections = loopback
    network = Recording()
    transport = _CheckedTransport(CheckedNetwork(inner=network), ssl.create_default_context())

    async with httpx.AsyncClient(transport=transport, timeout=2) as http:
        with pytest.raises(TargetRefused):
            await http.get(f"http://{target}:{port}/")

    assert network.connected == []
    assert connections == []
