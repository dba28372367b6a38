"""The scripts a client runs (submit, cancel, retry) as calls and replies, without I/O: what
`RedisBackend` (asyncio) and the blocking client's Redis engine both send, and how both read
what comes back.

`submit_call` turns new tasks of one queue into the script's KEYS and ARGV (records encoded
by `codec`); `submit_outcomes` turns the reply into one `Submitted` per task.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taskline.backends.base import UNCHANGED
from taskline.backends.redis.codec import decode_task, encode_json, encode_task, from_ms, log_entry, to_ms
from taskline.backends.redis.keys import QueueKeys
from taskline.core.config import EngineConfig
from taskline.core.ids import new_task_id
from taskline.core.priority import order_key
from taskline.core.spec import TaskSpec
from taskline.core.states import TaskState
from taskline.core.task import Submitted, Task, new_task

Args = list[str | int | float | bytes]


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """A script's name, KEYS and ARGV."""

    name: str
    keys: list[str]
    args: Args


def new_tasks(specs: Sequence[TaskSpec], now: float) -> list[Task]:
    """The tasks a submit of `specs` creates at `now`, each with a fresh id, as their records
    will read back (the record keeps the timeout in whole ms, as it does every time)."""
    tasks = [new_task(spec, task_id=new_task_id(), now=now) for spec in specs]
    for task in tasks:
        task.timeout = from_ms(to_ms(task.timeout))
    return tasks


def submit_keys(keys: QueueKeys) -> list[str]:
    """submit.lua's fixed KEYS (commit_batch.lua's first ones too), before the pending keys."""
    return [keys.tasks, keys.counts, keys.scheduled, keys.unique, keys.types, keys.log, *keys.announcing]


def submit_call(
    keys: QueueKeys, batch: list[Task], *, now_ms: int, config: EngineConfig, wake_channel: str
) -> ScriptCall:
    """The `submit` script's KEYS and ARGV for `batch`, all tasks of the queue `keys` name."""
    pending_keys: dict[str, int] = {}
    script_keys = submit_keys(keys)
    args: Args = [now_ms, config.max_queue_size, wake_channel, keys.name]
    for task in batch:
        due_ms = to_ms(task.due_at)
        if task.state is TaskState.PENDING:
            if task.type not in pending_keys:
                script_keys.append(keys.pending(task.type))
                pending_keys[task.type] = len(script_keys)
            field, score, index = (
                f"pending:{task.priority}",
                order_key(task.priority, due_ms, config.priority_aging_s),
                pending_keys[task.type],
            )
        else:
            field, score, index = "scheduled", due_ms, 0
        record = encode_task(task)
        args += [task.id, task.type, field, score, index, task.unique_key or "", *log_entry(task.id), record]
    return ScriptCall("submit", script_keys, args)


def submit_outcomes(queue: str, batch: list[Task], reply: list[Any]) -> list[Submitted]:
    """Per task of `batch`: the task stored, or the one its unique key hit (created False).

    A stored task is answered with as it was built (new_task makes it as a decode of its
    record would be); only a unique key's existing holder is read from its record."""
    built = {task.id: task for task in batch}
    outcomes = []
    for task, (hit_id, hit_record) in zip(batch, zip(reply[::2], reply[1::2], strict=True), strict=True):
        if not hit_id:
            outcomes.append(Submitted(task, created=True))
        elif hit_record:
            outcomes.append(Submitted(decode_task(hit_id.decode(), queue, hit_record), created=False))
        else:  # an earlier task of this same batch took the key
            outcomes.append(Submitted(built[hit_id.decode()], created=False))
    return outcomes


def priority_offsets(config: EngineConfig) -> list[int]:
    """Each priority's order-key offset: order_key is linear in due time, so these are all a script needs."""
    return [order_key(priority, 0, config.priority_aging_s) for priority in range(4)]


def cancel_call(keys: QueueKeys, task_type: str, task_id: str, *, now_ms: int) -> ScriptCall:
    script_keys = [
        keys.tasks,
        keys.counts,
        keys.scheduled,
        keys.retrying,
        keys.cancelled,
        keys.pending(task_type),
        *keys.ending,
    ]
    return ScriptCall("cancel", script_keys, [task_id, now_ms])


def retry_call(
    keys: QueueKeys, task_type: str, task_id: str, payload: Any, *, now_ms: int, offsets: list[int], wake_channel: str
) -> ScriptCall:
    """`payload` is UNCHANGED to keep the task's own."""
    script_keys = [keys.tasks, keys.counts, keys.failed, keys.cancelled, keys.pending(task_type), *keys.announcing]
    new_payload = "" if payload is UNCHANGED else encode_json(payload)
    return ScriptCall("retry", script_keys, [task_id, now_ms, new_payload, *offsets, wake_channel, keys.name])
