"""The `X-Taskline-Signature` header: `sha256=<hex HMAC-SHA256 of the raw body>` (SPEC §6).

`verify` is what a receiver runs; it is short and uses the standard library only, so it
can be copied into a receiver as it stands.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Taskline-Signature"
DELIVERY_HEADER = "X-Taskline-Delivery"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`, exactly as sent."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` (the header's value, None if absent) signs the raw `body` with
    `secret`. Compares in constant time; check the raw bytes, before parsing the JSON."""
    if not signature:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
