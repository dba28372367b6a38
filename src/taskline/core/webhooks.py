"""Webhook deliveries (SPEC §6) as plain values: what the outbox holds and what one attempt led to.

A delivery is made when a task with a `webhook` reaches a terminal state, in the same atomic
step (the outbox). The dispatcher claims due deliveries, makes one attempt each, and settles
each with a `DeliveryOutcome` that `outcome_of` decides; the backend applies it atomically.
"""

from dataclasses import dataclass
from typing import Any, Literal

from taskline.core.backoff import Backoff
from taskline.core.measures import WebhookOutcome
from taskline.core.task import Task

WebhookState = Literal["pending", "delivered", "failed"]


@dataclass(slots=True, frozen=True)
class Delivery:
    """One delivery taken from the outbox: its id (the `X-Taskline-Delivery` header, the same on
    every retry), the task's id and queue, the event, the attempts made before this one, and
    the task as it ended (what is posted, even if the task has changed since)."""

    id: str
    task_id: str
    queue: str
    event: str
    attempts: int
    task: Task


@dataclass(slots=True, frozen=True)
class DeliveryOutcome:
    """What one attempt led to. `state`: delivered (done), pending (try again after `retry_in_s`)
    or failed (given up). `attempts` counts this one."""

    state: WebhookState
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    retry_in_s: float = 0.0

    @property
    def metric(self) -> WebhookOutcome:
        """The /metrics outcome this attempt counts as."""
        return "retried" if self.state == "pending" else self.state

    def webhook_status(self) -> dict[str, Any]:
        """The task's `webhook_status` after this attempt (SPEC §6)."""
        return {
            "state": self.state,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


def outcome_of(
    delivery: Delivery,
    *,
    status: int | None,
    error: str | None,
    max_attempts: int,
    backoff: Backoff,
    jitter: float,
    retry: bool = True,
) -> DeliveryOutcome:
    """Decide what an attempt that got `status` (None: no answer) or `error` leads to.

    A 2xx status is delivered. Anything else is retried after the task backoff while fewer
    than `max_attempts` attempts were made and `retry` holds (a refused target is not), else failed.
    """
    attempts = delivery.attempts + 1
    if status is not None and 200 <= status < 300:
        return DeliveryOutcome("delivered", attempts, last_status=status)
    if error is None:
        error = f"answered {status}" if status is not None else "no answer"
    if retry and attempts < max_attempts:
        delay = backoff.delay_s(attempts, jitter)
        return DeliveryOutcome("pending", attempts, last_status=status, last_error=error, retry_in_s=delay)
    return DeliveryOutcome("failed", attempts, last_status=status, last_error=error)
