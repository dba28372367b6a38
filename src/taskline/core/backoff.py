"""Retry backoff: exponential with a cap and full jitter (SPEC §2)."""

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Backoff:
    """`min(cap, base × 2^(attempt−1))`, scaled by a uniform draw ("full jitter").

    The draw is an argument so that backends stay deterministic (a Lua script may not call
    a random source) and tests can pin it; backends draw one per task from their own rng.
    """

    base_s: float = 1.0
    cap_s: float = 3600.0

    def ceiling_s(self, attempt: int) -> float:
        """The largest delay after failed attempt number `attempt` (1-based)."""
        return float(min(self.cap_s, self.base_s * 2 ** max(attempt - 1, 0)))

    def delay_s(self, attempt: int, jitter: float) -> float:
        return jitter * self.ceiling_s(attempt)
