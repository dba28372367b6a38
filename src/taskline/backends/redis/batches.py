"""A bulk submit spanning queues, all or nothing on one Redis and on a Redis Cluster alike.

Each queue's keys live in the slot of its hash tag, so no one script (nor MULTI) can hold the
queues of a bulk on a cluster; storing queue by queue and withdrawing after a refusal left part
of a batch leasable whenever the connection dropped or the process died in between. So the bulk
is a two-phase commit, the submitting process its coordinator and the scheduler its recovery:

1. open: the batch (id and queues) enters `{~batches}:open` with a deadline, before anything is
   staged, so whatever a crash leaves behind can be found;
2. stage (stage_batch.lua, every queue at once): each queue's part is checked as a submit is
   (unique keys, max_queue_size) and kept aside under the batch id, invisible to lease, listing
   and stats, with its room in the queue reserved;
3. decide (decide_batch.lua, in the `{~batches}` slot): commit is recorded — the one atomic
   point: before it the batch is nothing, after it all of it;
4. commit (commit_batch.lua, every queue at once): each part is stored as submit.lua stores a
   submit; then close: the batch leaves `open` and its decision is forgotten.

A refusal (a full queue) or a failure before the decision gives the batch up: abort is
recorded, each part dropped. Whatever the coordinator does not finish (it died, its connection
dropped, it stalled) the scheduler finishes once the deadline has passed (`resolve_abandoned`,
run with lease recovery): it asks for abort, which is recorded unless commit came first, and
commits or drops every part by what was decided. Both steps are idempotent (a part is stored or
dropped once, whoever gets there first), so the coordinator and the scheduler may race freely.
"""

import asyncio
import uuid
from collections.abc import Sequence
from typing import Literal

from taskline.backends.redis.calls import Args, submit_call, submit_keys, submit_outcomes
from taskline.backends.redis.codec import decode_task, text, to_ms
from taskline.backends.redis.context import RedisContext
from taskline.core.task import Submitted, Task
from taskline.errors import BackendUnavailable, TasklineError

DEADLINE_S = 30.0
"""How long a bulk's coordinator has to reach its decision; past it the scheduler gives the batch
up (or, once commit is recorded, finishes storing it). Far above the few round trips it takes,
each bounded by the command timeout (connecting.COMMAND_TIMEOUT_S)."""

RESOLVED_PER_TICK = 100
"""Abandoned batches the scheduler resolves per call of `resolve_abandoned`."""

Decision = Literal["commit", "abort"]


async def submit_across(ctx: RedisContext, parts: dict[str, list[Task]], now_ms: int) -> dict[str, list[Submitted]]:
    """Store `parts` (queue -> its new tasks), all of them or none: the outcome of each task by queue.

    Raises:
        QueueFull: a queue has no room for its part; nothing was stored.
        BackendUnavailable: Redis failed before the decision (nothing was stored), or after it
            (the rest is stored by the scheduler after the deadline, as if this had answered).
    """
    batch = uuid.uuid4().hex
    entry = " ".join([batch, *parts])  # queue names never hold a space (core.spec)
    await ctx.pipeline([("zadd", (ctx.keys.batches_open, {entry: now_ms + to_ms(DEADLINE_S)}))])
    calls = {queue: _part(ctx, queue, tasks, now_ms) for queue, tasks in parts.items()}
    staged = await asyncio.gather(
        *(_stage(ctx, queue, batch, now_ms, part) for queue, part in calls.items()), return_exceptions=True
    )
    refusals = [r for r in staged if isinstance(r, BaseException)]
    if refusals:
        await _give_up(ctx, entry, batch, list(parts), now_ms)
        raise _worst(refusals)
    if await _decide(ctx, entry, batch, "commit") != "commit":
        await _give_up(ctx, entry, batch, list(parts), now_ms)
        raise BackendUnavailable("the bulk submit took too long and was given up; nothing of it was stored")
    replies = await asyncio.gather(*(_commit(ctx, queue, batch, now_ms) for queue in parts), return_exceptions=True)
    outcomes = {}
    for queue, reply in zip(parts, replies, strict=True):
        if isinstance(reply, BaseException):
            raise reply  # committed: the scheduler stores what is left once the deadline passes
        tasks = parts[queue]
        outcomes[queue] = await _read_back(ctx, queue, tasks) if reply is None else submit_outcomes(queue, tasks, reply)
    await _close(ctx, entry, batch)
    return outcomes


async def resolve_abandoned(ctx: RedisContext, now_ms: int) -> int:
    """Finish the bulks whose coordinator missed its deadline: store every part of those whose
    decision was commit, drop every part of the others. Returns how many were resolved; a batch
    with a queue on a shard that does not answer is left for the next call."""
    (entries,) = await ctx.pipeline([("zrangebyscore", (ctx.keys.batches_open, "-inf", now_ms, 0, RESOLVED_PER_TICK))])
    resolved = 0
    for raw in entries:
        entry = text(raw)
        batch, *queues = entry.split(" ")
        try:
            if await _decide(ctx, entry, batch, "abort") == "commit":
                done = await asyncio.gather(*(_commit(ctx, q, batch, now_ms) for q in queues), return_exceptions=True)
            else:
                done = await asyncio.gather(*(_abort(ctx, q, batch, now_ms) for q in queues), return_exceptions=True)
            if any(isinstance(d, BaseException) for d in done):
                continue  # a shard did not answer: the rest is idempotent, all is tried again next time
            await _close(ctx, entry, batch)
        except BackendUnavailable:
            continue
        resolved += 1
    return resolved


def _part(ctx: RedisContext, queue: str, tasks: list[Task], now_ms: int) -> tuple[str, bytes]:
    """A queue's part as stage_batch.lua takes it: its pending types (in the order of the pending
    keys submit.lua would be given), and submit.lua's per-task arguments as ARGV carries them,
    so its commit stores exactly what a submit would."""
    keys = ctx.keys.queue(queue)
    call = submit_call(keys, tasks, now_ms=now_ms, config=ctx.config, wake_channel=ctx.keys.wake_channel)
    types = [key.removeprefix(keys.pending("")) for key in call.keys[len(submit_keys(keys)) :]]
    return " ".join(types), _lua_strings(call.args[4:])  # after now_ms, max_queue_size, channel, queue


def _lua_strings(values: Args) -> bytes:
    """A msgpack array of `values`, each as a msgpack str of the bytes redis-py would send as an
    argument: Redis's cmsgpack reads no bin type (records are bytes), and a str is any bytes to it."""
    out = bytearray(_header(len(values), ((16, 0x90), (1 << 16, 0xDC), (1 << 32, 0xDD))))
    for value in values:
        raw = value if isinstance(value, bytes) else (repr(value) if isinstance(value, float) else str(value)).encode()
        out += _header(len(raw), ((32, 0xA0), (1 << 8, 0xD9), (1 << 16, 0xDA), (1 << 32, 0xDB))) + raw
    return bytes(out)


def _header(length: int, forms: tuple[tuple[int, int], ...]) -> bytes:
    """The msgpack header of an array or str of `length`: a fix form (the length in the tag) or
    a tag and the length in 1, 2 or 4 bytes."""
    (fix_below, fix_tag), *sized = forms
    if length < fix_below:
        return bytes([fix_tag | length])
    for below, tag in sized:
        if length < below:
            return bytes([tag]) + length.to_bytes((below.bit_length() - 1) // 8, "big")
    raise ValueError(f"{length} values or bytes are more than msgpack holds")


def _staged_types(staged: bytes) -> list[str]:
    """The pending types of a staged part (stage_batch.lua: after the 4-byte reservation, their
    2-byte length and the types)."""
    length = int.from_bytes(staged[4:6], "big")
    return staged[6 : 6 + length].decode().split()


async def _stage(ctx: RedisContext, queue: str, batch: str, now_ms: int, part: tuple[str, bytes]) -> int:
    keys = ctx.keys.queue(queue)
    script_keys = [keys.tasks, keys.counts, keys.unique, keys.staged, keys.aborted]
    args: Args = [now_ms, ctx.config.max_queue_size, batch, now_ms + to_ms(DEADLINE_S), *part]
    # With TASKLINE_REDIS_WAIT_REPLICAS each step waits for its replicas: a failover that lost a
    # stage or the decision after a part was committed would leave the batch half stored.
    return int(await ctx.scripts.run("stage_batch", script_keys, args, replicas=ctx.config.redis_wait_replicas))


async def _commit(ctx: RedisContext, queue: str, batch: str, now_ms: int) -> list[object] | None:
    """Store a queue's staged part; its submit reply, or None if nothing was staged (any more)."""
    keys = ctx.keys.queue(queue)
    (staged,) = await ctx.pipeline([("hget", (keys.staged, batch))])
    if staged is None:
        return None
    script_keys = [*submit_keys(keys), keys.staged, *(keys.pending(t) for t in _staged_types(staged))]
    args: Args = [now_ms, ctx.keys.wake_channel, queue, batch]
    reply = await ctx.scripts.run("commit_batch", script_keys, args, replicas=ctx.config.redis_wait_replicas)
    return None if reply is None else list(reply)


async def _abort(ctx: RedisContext, queue: str, batch: str, now_ms: int) -> None:
    keys = ctx.keys.queue(queue)
    await ctx.scripts.run("abort_batch", [keys.counts, keys.staged, keys.aborted], [now_ms, batch])


async def _decide(ctx: RedisContext, entry: str, batch: str, wanted: Decision) -> str:
    script_keys = [ctx.keys.batches_open, ctx.keys.batches_decided]
    replicas = ctx.config.redis_wait_replicas
    return text(await ctx.scripts.run("decide_batch", script_keys, [entry, batch, wanted], replicas=replicas))


async def _close(ctx: RedisContext, entry: str, batch: str) -> None:
    await ctx.scripts.run("close_batch", [ctx.keys.batches_open, ctx.keys.batches_decided], [entry, batch])


async def _give_up(ctx: RedisContext, entry: str, batch: str, queues: Sequence[str], now_ms: int) -> None:
    """Abort and drop every part now, if Redis lets us; else the scheduler does it after the deadline."""
    try:
        if await _decide(ctx, entry, batch, "abort") != "abort":
            return  # cannot happen: only this process asks for commit, and it did not
        dropped = await asyncio.gather(*(_abort(ctx, q, batch, now_ms) for q in queues), return_exceptions=True)
        if not any(isinstance(d, BaseException) for d in dropped):
            await _close(ctx, entry, batch)
    except TasklineError:
        pass


def _worst(refusals: list[BaseException]) -> BaseException:
    """The error to answer with: a refusal of ours (a full queue) before an outage, which a retry
    may get past; anything else (a cancellation, a bug) before both."""
    others = [r for r in refusals if not isinstance(r, TasklineError)]
    if others:
        return others[0]
    return next((r for r in refusals if not isinstance(r, BackendUnavailable)), refusals[0])


async def _read_back(ctx: RedisContext, queue: str, tasks: list[Task]) -> list[Submitted]:
    """The outcomes of a part the scheduler stored before its coordinator came to it: each task as
    stored, or the holder of its unique key when another task took it first."""
    keys = ctx.keys.queue(queue)
    (records,) = await ctx.pipeline([("hmget", (keys.tasks, [t.id for t in tasks]))])
    outcomes = []
    for task, record in zip(tasks, records, strict=True):
        if record is not None:
            outcomes.append(Submitted(decode_task(task.id, queue, record), created=True))
            continue
        (holder,) = await ctx.pipeline([("hget", (keys.unique, task.unique_key or ""))])
        (held,) = await ctx.pipeline([("hget", (keys.tasks, holder or ""))])
        if holder is None or held is None:
            raise BackendUnavailable("the bulk was stored, but a task of it is gone already; list the queue to see")
        outcomes.append(Submitted(decode_task(text(holder), queue, held), created=False))
    return outcomes
