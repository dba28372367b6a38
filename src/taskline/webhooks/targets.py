"""The target rule after DNS (SPEC §6): a name is resolved, and every address it resolves to
must pass `core.targets`. Used by webhook delivery and the built-in `http` handler alike."""

import asyncio
import socket

from taskline.core.targets import ALLOW_HINT, refused_address


class TargetRefused(Exception):
    """The host resolves to a private, loopback or link-local address; `str()` says which."""


class TargetUnresolvable(Exception):
    """The host's name does not resolve; `str()` says why."""


async def check_target(host: str, port: int) -> None:
    """Resolve `host` and refuse it if any of its addresses is private, loopback or link-local.

    The request itself resolves again, so a DNS answer that changes in between (rebinding)
    is not caught; redirects are not followed by either caller, so a hop cannot escape it.

    Raises:
        TargetRefused: an address is refused.  TargetUnresolvable: no address at all.
    """
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetUnresolvable(f"cannot resolve {host}: {exc.strerror}") from exc
    except (UnicodeError, ValueError) as exc:  # a name DNS cannot carry: no retry will help
        raise TargetRefused(f"{host!r} is not a host name DNS can resolve: {exc}") from exc
    for *_, sockaddr in infos:
        address = refused_address(str(sockaddr[0]))
        if address is not None:
            raise TargetRefused(f"{host} is {address}, a private, loopback or link-local address ({ALLOW_HINT})")


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
