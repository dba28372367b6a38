"""Read-side queries of the Redis backend: get, listing, the DLQ, counts, stats and timers.

Reads cost O(queues) round-trip work, never O(tasks): counts come from each queue's counts
hash, listing scans a bounded slice of each queue's creation log per call.
"""

from taskline.backends.redis.codec import decode_task, from_ms, log_range, parse_log_id, text
from taskline.backends.redis.context import Command, RedisContext
from taskline.backends.redis.fanout import answered
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Task, TaskFilter, TaskPage
from taskline.errors import ValidationFailed

LOG_SCAN = 1000
"""Creation-log entries one queue scans per list call; a sparse filter returns a short page."""


def _log_cursor(position: tuple[int, int]) -> str:
    return f"{position[0]}-{position[1]}"


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("the cursor is not one this listing gave", [{"field": "cursor", "message": "is not valid"}])


class Inspector:
    """Answers the read-only Backend methods."""

    def __init__(self, ctx: RedisContext) -> None:
        self._ctx = ctx
        self._keys = ctx.keys
        self._catalog = ctx.catalog
        self._scripts = ctx.scripts
        self._pipeline = ctx.pipeline

    async def get(self, task_id: str) -> Task | None:
        found = await self._catalog.find(task_id)
        if found is None:
            return None
        task = decode_task(task_id, found[0], found[1])
        self._catalog.remember(task_id, task.queue, task.type)
        return task

    async def find_ids(self, prefix: str, *, limit: int) -> list[str]:
        """Ids with `prefix` across queues: each queue's creation log read over the prefix's range."""
        first, last = log_range(prefix)
        found: list[str] = []
        for queue in await self._catalog.queues(fresh=True):
            keys = self._keys.queue(queue)
            reply = await self._scripts.run("find_ids", [keys.tasks, keys.log], [first, last, prefix, limit])
            found += [text(task_id) for task_id in reply]
        return sorted(found)[:limit]

    async def queue_stats(self) -> list[QueueStats]:
        queues = await self._catalog.queues(fresh=True)
        commands: list[Command] = []
        for queue in queues:
            keys = self._keys.queue(queue)
            commands += [("hgetall", (keys.counts,)), ("exists", (keys.paused,))]
        replies = await self._pipeline(commands)
        stats = []
        for i, queue in enumerate(queues):
            counts = {text(k): int(v) for k, v in replies[2 * i].items()}
            stats.append(
                QueueStats(
                    name=queue,
                    paused=bool(replies[2 * i + 1]),
                    pending=[counts.get(f"pending:{p}", 0) for p in range(4)],
                    **{s.value: counts.get(s.value, 0) for s in TaskState if s is not TaskState.PENDING},
                )
            )
        return stats

    async def counts(self) -> dict[TaskState, int]:
        totals = dict.fromkeys(TaskState, 0)
        for q in await self.queue_stats():
            totals[TaskState.PENDING] += sum(q.pending)
            for state in TaskState:
                if state is not TaskState.PENDING:
                    totals[state] += getattr(q, state.value)
        return totals

    async def next_timer(self) -> float | None:
        queues = await self._catalog.queues(fresh=True)
        commands: list[Command] = []
        for queue in queues:
            keys = self._keys.queue(queue)
            for index in (keys.scheduled, keys.retrying, keys.running):
                commands.append(("zrange", (index, 0, 0, False, True)))
        replies = await self._ctx.partial_pipeline(commands)  # a shard that is down has no timers to wait for
        heads = [float(reply[0][1]) for reply in replies if answered(reply)]
        return from_ms(min(heads)) if heads else None

    async def list_tasks(self, filter: TaskFilter, *, limit: int, cursor: str | None) -> TaskPage:
        """Newest first across queues, merged on the creation-log id (which sorts as task ids do)."""
        try:
            if cursor is not None:
                parse_log_id(cursor)
        except ValueError:
            raise _bad_cursor() from None
        queues = [filter.queue] if filter.queue is not None else await self._catalog.queues(fresh=True)
        start = "+" if cursor is None else f"({cursor}"
        state = filter.state.value if filter.state is not None else ""
        matches: list[tuple[tuple[int, int], str, str, bytes]] = []
        frontier: tuple[int, int] | None = None  # entries at or above it were scanned in every queue
        for queue in queues:
            keys = self._keys.queue(queue)
            args: list[str | int | float] = [start, limit, LOG_SCAN, state, filter.type or ""]
            reply = await self._scripts.run("list", [keys.tasks, keys.log], args)
            if reply[0]:
                last = parse_log_id(text(reply[0]))
                frontier = last if frontier is None else max(frontier, last)
            for i in range(1, len(reply), 3):
                matches.append((parse_log_id(text(reply[i])), queue, text(reply[i + 1]), reply[i + 2]))
        matches.sort(key=lambda m: m[0], reverse=True)
        if frontier is not None:
            matches = [m for m in matches if m[0] >= frontier]
        page = matches[:limit]
        tasks = [decode_task(task_id, queue, raw) for _, queue, task_id, raw in page]
        for task in tasks:
            self._catalog.remember(task.id, task.queue, task.type)
        if len(page) == limit and (frontier is not None or len(matches) > limit):
            next_cursor: str | None = _log_cursor(page[-1][0])
        elif frontier is not None:
            next_cursor = _log_cursor(frontier)
        else:
            next_cursor = None
        return TaskPage(tasks, next_cursor)

    async def dlq_list(self, *, limit: int, cursor: str | None) -> TaskPage:
        """Failed tasks by failed time, newest first; the cursor is `<failed_ms>:<id>` of the last one."""
        queues = await self._catalog.queues(fresh=True)
        top: float | str = "+inf"
        last_id = ""
        if cursor is not None:
            ms, _, last_id = cursor.partition(":")
            try:
                top = float(ms)
            except ValueError:
                raise _bad_cursor() from None
        ties = [0] * len(queues)
        if cursor is not None:  # entries sharing the cursor's score may lie on either side of it
            ties = [
                int(n)
                for n in await self._pipeline([("zcount", (self._keys.queue(q).failed, top, top)) for q in queues])
            ]
        commands: list[Command] = [
            ("zrevrangebyscore", (self._keys.queue(q).failed, top, "-inf", 0, limit + 1 + ties[i], True))
            for i, q in enumerate(queues)
        ]
        entries: list[tuple[float, str, str]] = []
        for queue, reply in zip(queues, await self._pipeline(commands), strict=True):
            for member, score in reply:
                task_id = text(member)
                if cursor is None or (score, task_id) < (top, last_id):
                    entries.append((score, task_id, queue))
        entries.sort(reverse=True)
        page = entries[:limit]
        records = await self._pipeline([("hget", (self._keys.queue(q).tasks, i)) for _, i, q in page])
        tasks = [decode_task(i, q, raw) for (_, i, q), raw in zip(page, records, strict=True) if raw is not None]
        next_cursor = f"{int(page[-1][0])}:{page[-1][1]}" if len(entries) > limit else None
        return TaskPage(tasks, next_cursor)
