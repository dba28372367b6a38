"""The webhook dispatcher: a long-lived part of the server that empties the outbox (SPEC §6).

It claims due deliveries, POSTs each (up to CONCURRENCY at once) and settles each attempt:
2xx is delivered; anything else, or no answer within TIMEOUT_S, is retried with the task
backoff until `TASKLINE_WEBHOOK_MAX_ATTEMPTS` attempts, then failed. A target on a private
address (after DNS) fails at once. The task itself is never touched beyond its
`webhook_status`, and a delivery that cannot be settled (the store is down) is claimed
again when its claim runs out: delivery is at least once.
"""

import asyncio
import logging
import random
from dataclasses import dataclass, field

import httpx
import orjson

from taskline import __version__
from taskline.core.backoff import Backoff
from taskline.core.webhooks import Delivery, outcome_of
from taskline.errors import TasklineError
from taskline.service import TaskService
from taskline.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from taskline.webhooks.targets import TargetRefused, TargetUnresolvable, target_transport
from taskline.wire import task_json

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
"""SPEC §6: no answer within this is a failed attempt."""
CLAIM_S = 30.0
"""How long a claimed delivery is kept from other dispatchers: well over an attempt, which
TIMEOUT_S bounds whole (DNS included), and how late a delivery whose dispatcher died is
taken again."""
CONCURRENCY = 16
BATCH = CONCURRENCY  # claim no more than can be sent at once, so no claim waits out its time
IDLE_S = 0.5
"""How often an idle dispatcher looks at the outbox: a delivery waits at most this long."""


@dataclass(slots=True, frozen=True)
class WebhookSettings:
    """What the dispatcher takes from Settings."""

    secret: str | None = None
    max_attempts: int = 5
    allow_private: bool = False
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(slots=True, frozen=True)
class _Attempt:
    status: int | None
    error: str | None
    retry: bool = True


class Dispatcher:
    """Delivers the outbox's webhooks until cancelled (a `Part` without `stop`: a cancelled
    attempt is simply made again once its claim runs out)."""

    def __init__(self, service: TaskService, settings: WebhookSettings, *, rng: random.Random | None = None) -> None:
        self._service = service
        self._settings = settings
        self._rng = rng or random.Random()
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def run(self) -> None:
        """Claim, deliver and settle in a loop; sleep IDLE_S when nothing is due."""
        timeout = httpx.Timeout(TIMEOUT_S)
        transport = target_transport(allow_private=self._settings.allow_private)
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
        ) as client:
            while True:
                try:
                    batch = await self._service.claim_deliveries(limit=BATCH, claim_s=CLAIM_S)
                except TasklineError as exc:  # the store is down: look again later
                    log.warning("webhooks: cannot read the outbox: %s", exc.message)
                    batch = []
                if batch:
                    await asyncio.gather(*(self._deliver(client, delivery) for delivery in batch))
                if len(batch) < BATCH:
                    await asyncio.sleep(IDLE_S)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        async with self._slots:
            try:
                async with asyncio.timeout(TIMEOUT_S):  # SPEC §6: the whole attempt, not each phase
                    attempt = await self._attempt(client, delivery)
            except TimeoutError:
                attempt = _Attempt(None, f"no answer within {TIMEOUT_S:g} s")
            except Exception as exc:  # one bad target must never stop the deliveries of others
                log.exception("webhook %s for task %s failed unexpectedly", delivery.id, delivery.task_id)
                attempt = _Attempt(None, f"could not deliver: {exc!r}", retry=False)
        outcome = outcome_of(
            delivery,
            status=attempt.status,
            error=attempt.error,
            max_attempts=self._settings.max_attempts,
            backoff=self._settings.backoff,
            jitter=self._rng.random(),
            retry=attempt.retry,
        )
        if outcome.state != "delivered":
            log.info(
                "webhook %s for task %s: %s (%s)", delivery.id, delivery.task_id, outcome.state, outcome.last_error
            )
        try:
            await self._service.settle_delivery(delivery, outcome)
        except TasklineError as exc:  # left claimed: it is made again when the claim runs out
            log.warning("webhooks: cannot settle delivery %s: %s", delivery.id, exc.message)

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> _Attempt:
        """One POST; never raises for anything the target or the network does."""
        url = delivery.task.webhook
        if url is None:  # cannot happen: only tasks with a webhook get deliveries
            return _Attempt(None, "the task has no webhook", retry=False)
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            return _Attempt(None, f"not a valid URL: {exc}", retry=False)
        body = orjson.dumps({"event": delivery.event, "task": task_json(delivery.task)})
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"taskline/{__version__}",
            DELIVERY_HEADER: delivery.id,
        }
        if self._settings.secret:
            headers[SIGNATURE_HEADER] = sign(self._settings.secret, body)
        try:
            # The answer's body is never read: a receiver cannot make us hold a large one.
            response = await client.send(
                client.build_request("POST", target, content=body, headers=headers), stream=True
            )
            await response.aclose()
        except TargetRefused as exc:  # the transport checks each connection's address (SPEC §6)
            return _Attempt(None, str(exc), retry=False)
        except TargetUnresolvable as exc:
            return _Attempt(None, str(exc))
        except httpx.TimeoutException:
            return _Attempt(None, f"no answer within {TIMEOUT_S:g} s")
        except httpx.HTTPError as exc:
            return _Attempt(None, str(exc) or type(exc).__name__)
        if response.is_success:
            return _Attempt(response.status_code, None)
        moved = " (redirects are not followed)" if response.is_redirect else ""
        return _Attempt(response.status_code, f"answered {response.status_code}{moved}")
