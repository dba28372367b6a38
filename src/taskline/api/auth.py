"""API keys and roles (SPEC §4): producer submits and manages, worker works, admin does all;
all three may read. With no keys configured the server is open (and says so at start)."""

import hmac
from collections.abc import Mapping

from taskline.config import Role
from taskline.errors import Unauthorized


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries, from `Authorization: Bearer` or `X-API-Key`."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def role_of(key_roles: Mapping[str, Role], key: str | None) -> Role:
    """The role of `key`; in open mode every caller is admin.

    Raises:
        Unauthorized: keys are on and `key` is missing or unknown.
    """
    if not key_roles:
        return "admin"
    role = None if key is None else matching_role(key_roles, key)
    if role is None:
        raise Unauthorized("a valid API key is required (Authorization: Bearer <key> or X-API-Key)")
    return role


def matching_role(key_roles: Mapping[str, Role], key: str) -> Role | None:
    """The role of the configured key equal to `key`, compared in constant time.

    Every configured key is compared in full, whatever matched: a dict lookup or `==` returns
    sooner the sooner the strings differ, which lets a caller guess a key a byte at a time.
    """
    presented = key.encode()
    found: Role | None = None
    for candidate, role in key_roles.items():
        if hmac.compare_digest(candidate.encode(), presented):
            found = role
    return found


READERS: frozenset[Role] = frozenset({"producer", "worker", "admin"})
PRODUCERS: frozenset[Role] = frozenset({"producer", "admin"})
WORKERS: frozenset[Role] = frozenset({"worker", "admin"})
ADMINS: frozenset[Role] = frozenset({"admin"})

# Documented once for the whole API rather than as per-route security dependencies, which
# FastAPI would resolve on every request; the open routes say so (app._document_security).
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
