"""What a submit may say (SPEC §1): one pure function from a JSON object to a valid spec.

Every rule names its field, so the API's 422 says exactly what to fix. The HTTP layer, the
Python client on Redis and the CLI all come through here: one set of rules.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from taskline.core.jsonvalue import NotJson, encoded_size
from taskline.core.priority import parse_priority
from taskline.core.targets import refused_literal_host
from taskline.errors import PayloadTooLarge, ValidationFailed

NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
MAX_METADATA_BYTES = 64 * 1024
MAX_AHEAD_S = 366 * 86400  # "at most a year ahead", leap years included
FIELDS = frozenset(
    {
        "type", "queue", "payload", "priority", "max_retries", "timeout", "scheduled_at",
        "delay", "unique_key", "unique_ttl", "metadata", "webhook",
    }
)  # fmt: skip
# The optional fields whose response value is null when unset: a null given for one is the
# field left out, so a client that sends every field (or resends a task it read) is not refused.
NULL_MEANS_UNSET = frozenset({"scheduled_at", "delay", "unique_key", "webhook"})


@dataclass(slots=True)
class TaskSpec:
    """A validated submit. `due_at` is None for "now", else the time it becomes leasable."""

    type: str
    queue: str = "default"
    payload: Any = field(default_factory=dict)
    priority: int = 1
    max_retries: int = 3
    timeout: float = 300.0
    due_at: float | None = None
    unique_key: str | None = None
    unique_ttl: int = 86400
    metadata: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, name: str, message: str) -> None:
        self.items.append({"field": name, "message": message})


def _name(errors: _Errors, key: str, value: object, max_len: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_len or not NAME_RE.match(value):
        errors.add(key, f"must be 1-{max_len} characters of A-Z a-z 0-9 _ . : -")
        return ""
    return value


def _int(errors: _Errors, key: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        errors.add(key, f"must be an integer from {lo} to {hi}")
        return lo
    return value


def _number(errors: _Errors, key: str, value: object, lo: float, hi: float, lo_open: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > lo if lo_open else value >= lo) and value <= hi:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    lower = f"above {lo:g} and at most" if lo_open else f"from {lo:g} to"
    errors.add(key, f"must be a number {lower} {hi:g}")
    return lo


def _timestamp(errors: _Errors, value: object, now: float) -> float | None:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            when = parsed.timestamp()
            if when > now + MAX_AHEAD_S:
                errors.add("scheduled_at", "must be at most a year ahead")
            return when
    errors.add("scheduled_at", "must be an RFC 3339 time with an offset, like 2030-01-01T00:00:00Z")
    return None


def stored_json_size(value: object, field: str) -> int:
    """The size of `value` encoded as JSON, or a 422 naming `field` when it cannot be stored:
    nested deeper than `core.jsonvalue` allows, an integer past 64 bits, text with lone
    surrogates, or a value that is not JSON at all (each a 500 from the backend's encoder else).

    Raises:
        ValidationFailed: `value` cannot be stored as JSON.
    """
    try:
        return encoded_size(value)
    except NotJson as exc:
        raise ValidationFailed(f"{field} {exc}", [{"field": field, "message": str(exc)}]) from None


def check_payload_size(payload: Any, max_payload_bytes: int) -> None:
    """Raise PayloadTooLarge if `payload`, encoded, is over the limit (SPEC §1), and
    ValidationFailed if it cannot be stored (`stored_json_size`)."""
    if stored_json_size(payload, "payload") > max_payload_bytes:
        raise PayloadTooLarge(f"payload is larger than {max_payload_bytes} bytes", [{"field": "payload"}])


def _valid_host(host: str) -> bool:
    """A host name DNS can carry (IDNA-encodable, labels of at most 63 bytes), or an address."""
    if not host:
        return False
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def parse_spec(data: object, *, now: float, max_payload_bytes: int, allow_private_webhooks: bool = False) -> TaskSpec:
    """Validate one submitted task. A `webhook` on a literal private, loopback or link-local
    address (or `localhost`) is refused unless `allow_private_webhooks`; names are checked
    after DNS, at delivery (SPEC §6).

    Raises:
        ValidationFailed: details lists `{"field", "message"}` for every broken rule.
        PayloadTooLarge: the payload or metadata encodes larger than allowed.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed("a task must be a JSON object", [{"field": "", "message": "must be an object"}])
    data = {key: value for key, value in data.items() if value is not None or key not in NULL_MEANS_UNSET}
    errors = _Errors()
    for key in data:
        if key not in FIELDS:
            errors.add(key, "is not a field a task may be submitted with")
    spec = TaskSpec(type="")
    if "type" not in data:
        errors.add("type", "is required")
    else:
        spec.type = _name(errors, "type", data["type"], 128)
    if "queue" in data:
        spec.queue = _name(errors, "queue", data["queue"], 64)
    if "priority" in data:
        try:
            spec.priority = int(parse_priority(data["priority"]))
        except ValueError as exc:
            errors.add("priority", str(exc))
    if "max_retries" in data:
        spec.max_retries = _int(errors, "max_retries", data["max_retries"], 0, 100)
    if "timeout" in data:
        spec.timeout = _number(errors, "timeout", data["timeout"], 0, 86400, lo_open=True)
    if "scheduled_at" in data and "delay" in data:
        errors.add("delay", "cannot be given together with scheduled_at")
    elif "scheduled_at" in data:
        spec.due_at = _timestamp(errors, data["scheduled_at"], now)
    elif "delay" in data:
        delay = _number(errors, "delay", data["delay"], 0, 31536000, lo_open=False)
        spec.due_at = now + delay if delay > 0 else None
    if "unique_key" in data:
        key = data["unique_key"]
        if not isinstance(key, str) or not 1 <= len(key) <= 256:
            errors.add("unique_key", "must be a string of 1-256 characters")
        else:
            spec.unique_key = key
    if "unique_ttl" in data:
        spec.unique_ttl = _int(errors, "unique_ttl", data["unique_ttl"], 1, 2592000)
    if "metadata" in data:
        if not isinstance(data["metadata"], dict):
            errors.add("metadata", "must be an object")
        else:
            spec.metadata = data["metadata"]
    if "webhook" in data:
        hook = data["webhook"]
        parts = urlsplit(hook) if isinstance(hook, str) else None
        host = parts.hostname if parts is not None and parts.scheme in ("http", "https") else None
        if host is None or not _valid_host(host):
            errors.add("webhook", "must be an http or https URL")
        elif not allow_private_webhooks and (why := refused_literal_host(host)) is not None:
            errors.add("webhook", f"must not target a private address: {why}")
        else:
            spec.webhook = hook
    if "payload" in data:
        spec.payload = data["payload"]
    if errors.items:
        raise ValidationFailed("the task is not valid", errors.items)
    check_payload_size(spec.payload, max_payload_bytes)
    if spec.metadata and stored_json_size(spec.metadata, "metadata") > MAX_METADATA_BYTES:
        raise PayloadTooLarge(f"metadata is larger than {MAX_METADATA_BYTES} bytes", [{"field": "metadata"}])
    return spec
