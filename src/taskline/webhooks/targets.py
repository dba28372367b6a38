"""The target rule after DNS (SPEC §6): a name is resolved, and every address it resolves to
must pass `core.targets`. Used by webhook delivery and the built-in `http` handler alike.

The check and the connection are one step (`checked_transport`): the name is resolved once,
and the connection goes to one of the addresses that were checked, never to whatever a
second lookup answers. So a DNS answer that changes between the check and the connect (DNS
rebinding: a public address for the check, 127.0.0.1 for the request) reaches nothing. TLS
still names the host (SNI and certificate checks use the URL's name, not the address), and
every new connection is checked, so a redirect hop could not escape it either (neither
caller follows redirects: a 3xx is an answer).
"""

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from taskline.core.targets import ALLOW_HINT, refused_address

Resolve = Callable[[str, int], Awaitable[list[str]]]
"""A name and port to the addresses to connect to (tests give their own to play a rebinding DNS)."""


class TargetRefused(Exception):
    """The host resolves to a private, loopback or link-local address; `str()` says which."""


class TargetUnresolvable(Exception):
    """The host's name does not resolve; `str()` says why."""


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives `host`, in its order, each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in infos))


async def checked_addresses(host: str, port: int, *, resolve: Resolve = system_resolve) -> list[str]:
    """Resolve `host` once; its addresses, unless any of them is private, loopback or link-local.

    Raises:
        TargetRefused: an address is refused.  TargetUnresolvable: no address at all.
    """
    try:
        addresses = await resolve(host, port)
    except socket.gaierror as exc:
        raise TargetUnresolvable(f"cannot resolve {host}: {exc.strerror}") from exc
    except (UnicodeError, ValueError) as exc:  # a name DNS cannot carry: no retry will help
        raise TargetRefused(f"{host!r} is not a host name DNS can resolve: {exc}") from exc
    if not addresses:
        raise TargetUnresolvable(f"cannot resolve {host}: no address")
    for text in addresses:
        address = refused_address(text)
        if address is not None:
            raise TargetRefused(f"{host} is {address}, a private, loopback or link-local address ({ALLOW_HINT})")
    return addresses


class CheckedNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network, connecting only to addresses `checked_addresses` let through."""

    def __init__(self, *, resolve: Resolve = system_resolve, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await checked_addresses(host, port, resolve=self._resolve):
            try:  # to the checked address itself: no second lookup that could answer otherwise
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:  # the next address, as a resolver's list
                failure = exc
        assert failure is not None  # checked_addresses returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("a Unix socket is never a target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _CheckedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, network: CheckedNetwork, tls: ssl.SSLContext) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        super().__init__(verify=tls, trust_env=False, limits=limits)
        # httpx's transport takes no network backend (encode/httpx#3749 proposes one): the pool
        # it built is replaced by the same pool over ours. tests/integration/webhooks/
        # test_targets.py fails loudly if a new httpx stops using it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network,
        )


def target_transport(
    *, allow_private: bool, tls: ssl.SSLContext | None = None, resolve: Resolve = system_resolve
) -> httpx.AsyncHTTPTransport:
    """The transport for requests made on a user's behalf: every connection checked by the
    rule and made to the address checked, unless `allow_private` (then a plain one)."""
    context = tls if tls is not None else httpx.create_ssl_context()
    if allow_private:
        return httpx.AsyncHTTPTransport(verify=context, trust_env=False)
    return _CheckedTransport(CheckedNetwork(resolve=resolve), context)
