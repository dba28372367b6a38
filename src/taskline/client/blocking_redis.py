"""`BlockingRedisEngine`: the blocking client's calls straight on Redis (`redis://` URLs).

What a producer calls in a loop runs on redis-py's blocking client, with the backend's own
pieces: the spec rules and idempotency checks of `service`, the submit script's call and
reply of `backends.redis.calls`, records read by `codec`. Submit, submit_many, get (and so
wait), cancel and retry run here. The rest goes through the async service on a loop
thread, started the first time one of them is called:
- reads and admin (list, stats, queues, pause/resume, purge, the DLQ, schedules): not what a
  producer calls in a loop, and each spans every queue through the catalog the async backend
  keeps, or is the service's own use case;
- a submit_many spanning queues: all or nothing across queues (staged in each, then one
  decision: backends/redis/batches.py) is the backend's to keep.
"""

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from taskline.backends.redis.calls import (
    ScriptCall,
    cancel_call,
    new_tasks,
    priority_offsets,
    retry_call,
    submit_call,
    submit_outcomes,
)
from taskline.backends.redis.catalog import Places
from taskline.backends.redis.codec import decode_task, text, to_ms
from taskline.backends.redis.connecting import AnyBlockingRedis, open_blocking_client
from taskline.backends.redis.failures import redis_unavailable
from taskline.backends.redis.format import check_format_blocking
from taskline.backends.redis.history_flag import HistoryFlag
from taskline.backends.redis.keys import DEFAULT_NAMESPACE, KeySpace, QueueKeys
from taskline.backends.redis.scripts import BlockingScriptRunner
from taskline.client.bridge import LoopThread
from taskline.client.local import LocalEngine
from taskline.client.schedules import Schedule
from taskline.config import Settings
from taskline.core.ids import is_task_id
from taskline.core.sentinel import UNCHANGED
from taskline.core.spec import TaskSpec, check_payload_size, parse_spec
from taskline.core.task import QueueStats, Source, Stats, Submitted, Task, TaskFilter, TaskPage
from taskline.core.workers import WorkerRecord
from taskline.errors import NotFound
from taskline.service import checked_replay, keyed_spec, parse_specs


def _now_ms() -> int:
    return to_ms(time.time())


class BlockingRedisEngine:
    def __init__(self, redis_url: str, *, timeout_s: float, settings: Settings) -> None:
        # A Redis that stops answering fails a call after timeout_s rather than hanging it.
        # redis-py packs commands with hiredis by itself when it is installed. A cluster node's
        # URL gets the cluster client (connecting.py), as the server's backend does.
        self._redis_url, self._timeout_s = redis_url, timeout_s
        self._opened: AnyBlockingRedis | None = None
        self._keys = KeySpace(DEFAULT_NAMESPACE)
        self._config = settings.engine_config()
        flag = HistoryFlag(self._keys.history, always=self._config.archive)
        self._scripts = BlockingScriptRunner(lambda: self._redis, flag=flag)
        self._offsets = priority_offsets(self._config)
        self._max_payload_bytes = settings.max_payload_bytes
        self._parse = partial(
            parse_spec,
            max_payload_bytes=settings.max_payload_bytes,
            allow_private_webhooks=settings.webhook_allow_private,
        )
        self._registered: set[str] = set()
        self._format_checked = False
        self._places = Places()
        self._loop = LoopThread()
        self._local = LocalEngine(redis_url, settings=settings)

    @property
    def _redis(self) -> AnyBlockingRedis:
        """The client, opened at the first call (a cluster node is asked then whether it is one)."""
        if self._opened is None:
            self._opened = open_blocking_client(self._redis_url, timeout_s=self._timeout_s)
        return self._opened

    def _check_format(self) -> None:
        """Once, before the first call: refuse a Redis holding another record format, as the server does."""
        if not self._format_checked:
            with redis_unavailable(blocking=True):
                check_format_blocking(self._redis, self._keys)
            self._format_checked = True

    def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task:
        parsed = keyed_spec(self._parse(spec, now=time.time()), idempotency_key)
        (submitted,) = self._store(parsed.queue, [parsed])
        return checked_replay(submitted, parsed, idempotency_key).task

    def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]:
        now = time.time()
        parsed = parse_specs(specs, lambda item: self._parse(item, now=now))
        queues = {spec.queue for spec in parsed}
        if len(queues) > 1:
            return self._loop.run(self._local.submit_many(specs))
        return [outcome.task for outcome in self._store(queues.pop(), parsed)]

    def _store(self, queue: str, specs: Sequence[TaskSpec]) -> list[Submitted]:
        """Store tasks of one queue in one script call, as `RedisBackend.submit` does."""
        self._check_format()
        now = time.time()
        tasks = new_tasks(specs, now)
        keys = self._keys.queue(queue)
        call = submit_call(keys, tasks, now_ms=to_ms(now), config=self._config, wake_channel=self._keys.wake_channel)
        with redis_unavailable(blocking=True):
            if queue not in self._registered:
                self._redis.sadd(self._keys.queues, queue)
                self._registered.add(queue)
        replicas = self._config.redis_wait_replicas
        outcomes = submit_outcomes(queue, tasks, self._scripts.run(call.name, call.keys, call.args, replicas=replicas))
        for outcome in outcomes:
            self._places.remember(outcome.task.id, queue, outcome.task.type)
        return outcomes

    def _resolve(self, text: str) -> str:
        """A whole id as it is; a prefix of one looked up by the service (`resolve_id`)."""
        return text if is_task_id(text) else self._loop.run(self._local.resolve_id(text))

    def short_ids(self, ids: Sequence[str]) -> dict[str, str]:
        return self._loop.run(self._local.short_ids(ids))

    def get(self, task_id: str) -> Task:
        task_id = self._resolve(task_id)
        task = self._find(task_id)
        if task is None:
            raise NotFound.of("task", task_id)
        return task

    def _find(self, task_id: str) -> Task | None:
        """The task, read from its remembered queue, else looked for in every queue at once."""
        self._check_format()
        place = self._places.place_of(task_id)
        with redis_unavailable(blocking=True):
            if place is not None:
                # The client never decodes replies: a record is the bytes stored.
                raw: bytes | None = self._redis.hget(self._keys.queue(place[0]).tasks, task_id)  # type: ignore[assignment]
                if raw is not None:
                    return decode_task(task_id, place[0], raw)
            queues = sorted(text(name) for name in self._redis.smembers(self._keys.queues))
            pipe = self._redis.pipeline(transaction=False)
            for queue in queues:
                pipe.hget(self._keys.queue(queue).tasks, task_id)
            records = pipe.execute()
        for queue, raw in zip(queues, records, strict=True):
            if raw is not None:
                task = decode_task(task_id, queue, raw)
                self._places.remember(task_id, queue, task.type)
                return task
        return None

    def cancel(self, task_id: str) -> Task:
        task_id = self._resolve(task_id)
        return self._on_task(task_id, lambda keys, task_type: cancel_call(keys, task_type, task_id, now_ms=_now_ms()))

    def retry(self, task_id: str, payload: Any) -> Task:
        if payload is not UNCHANGED:
            check_payload_size(payload, self._max_payload_bytes)  # the same size rule as a submit
        task_id = self._resolve(task_id)

        def call(keys: QueueKeys, task_type: str) -> ScriptCall:
            return retry_call(
                keys,
                task_type,
                task_id,
                payload,
                now_ms=_now_ms(),
                offsets=self._offsets,
                wake_channel=self._keys.wake_channel,
            )

        return self._on_task(task_id, call)

    def _on_task(self, task_id: str, call: Callable[[QueueKeys, str], ScriptCall]) -> Task:
        """Run the script `call(queue keys, task type)` gives for a task; the task it answers."""
        self._check_format()
        place = self._places.place_of(task_id)
        if place is None:
            task = self._find(task_id)
            if task is None:
                raise NotFound.of("task", task_id)
            place = (task.queue, task.type)
        keys = self._keys.queue(place[0])
        script = call(keys, place[1])
        return decode_task(task_id, keys.name, self._scripts.run(script.name, script.keys, script.args))

    def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live") -> TaskPage:
        return self._loop.run(self._local.list_tasks(filter, limit, cursor, source))

    def stats(self) -> Stats:
        return self._loop.run(self._local.stats())

    def queues(self) -> list[QueueStats]:
        return self._loop.run(self._local.queues())

    def workers(self) -> list[WorkerRecord]:
        return self._loop.run(self._local.workers())

    def pause_queue(self, queue: str) -> None:
        self._loop.run(self._local.pause_queue(queue))

    def resume_queue(self, queue: str) -> None:
        self._loop.run(self._local.resume_queue(queue))

    def purge(self, queue: str, priority: int | str | None) -> int:
        return self._loop.run(self._local.purge(queue, priority))

    def dlq(self, limit: int, cursor: str | None) -> TaskPage:
        return self._loop.run(self._local.dlq(limit, cursor))

    def dlq_retry(self, ids: Sequence[str] | None) -> int:
        return self._loop.run(self._local.dlq_retry(ids))

    def dlq_delete(self) -> int:
        return self._loop.run(self._local.dlq_delete())

    def add_schedule(self, body: dict[str, Any]) -> Schedule:
        return self._loop.run(self._local.add_schedule(body))

    def list_schedules(self) -> list[Schedule]:
        return self._loop.run(self._local.list_schedules())

    def get_schedule(self, name: str) -> Schedule:
        return self._loop.run(self._local.get_schedule(name))

    def remove_schedule(self, name: str) -> None:
        self._loop.run(self._local.remove_schedule(name))

    def pause_schedule(self, name: str) -> Schedule:
        return self._loop.run(self._local.pause_schedule(name))

    def resume_schedule(self, name: str) -> Schedule:
        return self._loop.run(self._local.resume_schedule(name))

    def close(self) -> None:
        try:
            if self._loop.started:
                self._loop.run(self._local.close())
        finally:
            self._loop.stop()
            if self._opened is not None:
                self._opened.close()
