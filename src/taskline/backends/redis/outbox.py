"""The webhook outbox on Redis (SPEC §6): claiming due deliveries and settling attempts.

Deliveries sit in each queue's `outbox` zset and `deliveries` hash, written by the script
that ended the task (_lib.lua `announce`). A sweep first asks every known queue, in one
pipelined round trip, whether anything is due, and runs the claim script only where it is:
idle, it costs one SMEMBERS and one pipeline.
"""

import orjson
import ormsgpack

from taskline.backends.redis.codec import task_from_values, text, to_ms
from taskline.backends.redis.context import RedisContext
from taskline.backends.redis.fanout import answered
from taskline.core.webhooks import Delivery, DeliveryOutcome


async def claim(ctx: RedisContext, now_ms: int, *, limit: int, claim_s: float) -> list[Delivery]:
    """Up to `limit` due deliveries across the queues, each made due again at now + `claim_s`."""
    queues = await ctx.catalog.queues(fresh=True)
    commands = [("zrangebyscore", (ctx.keys.queue(q).outbox, "-inf", now_ms, 0, 1)) for q in queues]
    heads = await ctx.partial_pipeline(commands)  # a shard that is down is claimed from next time
    claimed: list[Delivery] = []
    for queue, head in zip(queues, heads, strict=True):
        if not answered(head) or len(claimed) >= limit:
            continue
        keys = ctx.keys.queue(queue)
        args: list[str | int | float] = [now_ms, limit - len(claimed), to_ms(claim_s)]
        reply = await ctx.scripts.run("claim_deliveries", [keys.outbox, keys.deliveries], args)
        for delivery_id, raw in zip(reply[::2], reply[1::2], strict=True):
            claimed.append(_delivery(text(delivery_id), queue, raw))
    return claimed


def _delivery(delivery_id: str, queue: str, raw: bytes) -> Delivery:
    """A delivery as `_lib.lua` stores it: [task id, event, attempts, the record nested]."""
    task_id, event, attempts, record = ormsgpack.unpackb(raw)
    task = task_from_values(task_id, queue, record)
    return Delivery(delivery_id, task_id, queue, event, attempts, task)


async def settle(ctx: RedisContext, delivery: Delivery, outcome: DeliveryOutcome, now_ms: int) -> bool:
    """Apply one attempt's outcome in one script; False if it was settled already."""
    keys = ctx.keys.queue(delivery.queue)
    ended_ms = delivery.task.completed_at
    args: list[str | int | float] = [
        delivery.id,
        delivery.task_id,
        delivery.attempts,
        outcome.state,
        now_ms + to_ms(outcome.retry_in_s),
        orjson.dumps(outcome.webhook_status()).decode(),
        "" if ended_ms is None else to_ms(ended_ms),
        outcome.metric,
    ]
    script_keys = [keys.outbox, keys.deliveries, keys.tasks, keys.metrics, keys.archive]
    return bool(await ctx.scripts.run("settle_delivery", script_keys, args))
