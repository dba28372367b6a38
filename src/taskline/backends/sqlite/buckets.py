"""Rate-limit token buckets for the SQLite backend, kept in memory.

One process serves a SQLite file, so every API request already passes through this object:
memory holds the buckets as well as the file would, without a write transaction (and with
`synchronous=FULL`, an fsync) per HTTP request. Buckets reset on restart, which only ever
lets a client in, never locks one out.
"""

from dataclasses import dataclass

from taskline.core.clock import Clock

MAX_BUCKETS = 10_000  # past this, full buckets (idle clients) are dropped: they hold nothing


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """Per-client token buckets, refilled continuously from the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str, *, rate: float, burst: int) -> float:
        """Spend one of `client`'s tokens: 0 when allowed, else the seconds until one is there."""
        if rate <= 0:
            return 0.0
        now = self._clock.now()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._drop_full(now, rate, burst)
            bucket = self._buckets[client] = _Bucket(tokens=float(burst), at=now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate

    def _drop_full(self, now: float, rate: float, burst: int) -> None:
        refill_s = burst / rate
        self._buckets = {client: b for client, b in self._buckets.items() if now - b.at < refill_s}
