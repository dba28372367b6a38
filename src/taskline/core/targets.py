"""The one rule for where Taskline may send a request on a user's behalf (SPEC §6).

Webhooks and the built-in `http` handler both follow it: no private, loopback, link-local,
multicast or otherwise non-global address, unless `TASKLINE_WEBHOOK_ALLOW_PRIVATE=true`.
Pure: the DNS lookup that feeds it lives in `taskline.webhooks.targets`.
"""

import ipaddress

ALLOW_HINT = "TASKLINE_WEBHOOK_ALLOW_PRIVATE=true allows it"
_LOCAL_NAMES = ("localhost", "localhost.")


def refused_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `text` names if the rule refuses it, else None (also for a non-address).

    An IPv4-mapped IPv6 address is judged as the IPv4 one (`::ffff:127.0.0.1` is loopback).
    """
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        return address
    return None


def refused_literal_host(host: str) -> str | None:
    """Why a URL's host is refused before any DNS lookup, or None: a literal private address
    or a name that always means this machine (`localhost`, `*.localhost`, RFC 6761)."""
    lowered = host.lower()
    if lowered in _LOCAL_NAMES or lowered.rstrip(".").endswith(".localhost"):
        return f"{host} is this machine, a loopback address ({ALLOW_HINT})"
    address = refused_address(lowered)
    if address is not None:
        return f"{host} is {address}, a private, loopback or link-local address ({ALLOW_HINT})"
    return None
