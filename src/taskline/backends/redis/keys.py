"""Every Redis key and channel name Taskline uses, built here and nowhere else.

A queue's keys all carry the hash tag `{<queue>}`, so each script touches one slot and Redis
Cluster accepts it. Queue names come from core.spec (`[A-Za-z0-9_.:-]`), so they can never
hold a brace and break the tag; fixed suffixes can't collide with them because a user-chosen
name only ever appears inside the braces. Global keys live in slots of their own and are
never touched by a queue script.
"""

import hashlib
from dataclasses import dataclass

DEFAULT_NAMESPACE = "taskline"

TIMER_MESSAGE = "~timer"
"""Published on the wake channel when a due time or lease deadline appears; `~` is not a queue character."""


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one queue (all in the slot of its hash tag)."""

    name: str
    prefix: str

    @property
    def tasks(self) -> str:
        """HASH task id -> encoded record."""
        return self.prefix + "tasks"

    @property
    def counts(self) -> str:
        """HASH `pending:<0..3>`, `scheduled`, `running`, ... -> tasks in that state."""
        return self.prefix + "counts"

    @property
    def scheduled(self) -> str:
        """ZSET id -> due_ms."""
        return self.prefix + "scheduled"

    @property
    def retrying(self) -> str:
        """ZSET id -> due_ms of the next attempt."""
        return self.prefix + "retrying"

    @property
    def running(self) -> str:
        """ZSET id -> lease_expires_ms (what the recoverer scans)."""
        return self.prefix + "running"

    @property
    def failed(self) -> str:
        """ZSET id -> failed_at_ms (the DLQ)."""
        return self.prefix + "failed"

    @property
    def completed(self) -> str:
        """ZSET id -> completed_at_ms (for retention)."""
        return self.prefix + "completed"

    @property
    def cancelled(self) -> str:
        """ZSET id -> cancelled_at_ms (for retention)."""
        return self.prefix + "cancelled"

    @property
    def unique(self) -> str:
        """HASH unique_key -> id of the task holding it."""
        return self.prefix + "unique"

    @property
    def types(self) -> str:
        """SET of task types ever submitted to the queue (names the pending zsets)."""
        return self.prefix + "types"

    @property
    def paused(self) -> str:
        """STRING; exists while the queue is paused."""
        return self.prefix + "paused"

    @property
    def log(self) -> str:
        """STREAM of task ids in creation order (listing newest first)."""
        return self.prefix + "log"

    @property
    def events(self) -> str:
        """STREAM of the queue's events (SPEC §3 /ws), trimmed to about EVENTS_KEPT entries."""
        return self.prefix + "events"

    @property
    def metrics(self) -> str:
        """HASH of the queue's cluster-wide counters and histograms (core.measures; fields in _lib.lua)."""
        return self.prefix + "metrics"

    @property
    def outbox(self) -> str:
        """ZSET webhook delivery id -> due_ms of its next attempt (SPEC §6)."""
        return self.prefix + "outbox"

    @property
    def deliveries(self) -> str:
        """HASH webhook delivery id -> JSON {id (task), event, attempts, record (the task as it ended)}."""
        return self.prefix + "deliveries"

    @property
    def archive(self) -> str:
        """STREAM of (i: task id, r: record as it ended): the PostgreSQL history's outbox, written
        by every end while history is on, emptied by the archiver (XDEL of what it copied)."""
        return self.prefix + "archive"

    @property
    def archiving(self) -> str:
        """STRING: the id of the archiver reading this queue's archive stream, for a few seconds
        (SET NX PX), so several servers split the queues between them rather than each copy all."""
        return self.prefix + "archiving"

    @property
    def staged(self) -> str:
        """HASH batch id -> a bulk's part staged in this queue (batches.py): the room it reserves
        (4 bytes) and the part (msgpack: its pending types and submit.lua's arguments)."""
        return self.prefix + "staged"

    @property
    def aborted(self) -> str:
        """ZSET batch id -> aborted_ms: bulks given up in this queue in the last hour, so a stage
        arriving after its batch's abort is refused (abort_batch.lua)."""
        return self.prefix + "aborted"

    @property
    def announcing(self) -> list[str]:
        """The keys of a script that changes tasks but never ends one: events, metrics."""
        return [self.events, self.metrics]

    @property
    def ending(self) -> list[str]:
        """The keys of a script that may end a task: events, metrics, outbox, deliveries, archive."""
        return [self.events, self.metrics, self.outbox, self.deliveries, self.archive]

    def pending(self, task_type: str) -> str:
        """ZSET id -> order key, for the pending tasks of one type."""
        return f"{self.prefix}pending:{task_type}"


@dataclass(frozen=True, slots=True)
class KeySpace:
    """The key names under one namespace (prefix)."""

    namespace: str = DEFAULT_NAMESPACE

    @property
    def queues(self) -> str:
        """SET of every queue name ever submitted to (global: its own slot)."""
        return f"{self.namespace}:queues"

    @property
    def format(self) -> str:
        """STRING: the record format the data is in (codec.FORMAT_VERSION), checked at every start."""
        return f"{self.namespace}:format"

    @property
    def history(self) -> str:
        """STRING, with an expiry: present while some `taskline serve` archives to PostgreSQL
        history; every process then writes its ends to the archive outbox (history_flag.py)."""
        return f"{self.namespace}:history"

    @property
    def wake_channel(self) -> str:
        """Pub/sub channel: a queue name (work may be pending there) or TIMER_MESSAGE."""
        return f"{self.namespace}:wake"

    @property
    def workers_seen(self) -> str:
        """ZSET worker id -> last_seen_ms: the registry's index, in the registry's own slot.

        The tag `{~workers}` can be no queue's (`~` is not a queue character), so the index
        and every worker's hash share one slot that no queue script touches."""
        return f"{self.namespace}:{{~workers}}:seen"

    @property
    def worker_events(self) -> str:
        """STREAM of worker events (joined, left, paused, resumed), in the registry's slot."""
        return f"{self.namespace}:{{~workers}}:events"

    @property
    def samples(self) -> str:
        """HASH minute (since the epoch) -> the task totals at its start (core.samples' JSON):
        the per-minute samples, written first-writer-wins (HSETNX), in a slot of their own."""
        return f"{self.namespace}:samples"

    @property
    def batches_open(self) -> str:
        """ZSET "<batch id> <queue> <queue> ..." -> deadline_ms: bulks spanning queues not yet
        resolved in every queue (batches.py), in a slot of their own with their decisions.

        The tag `{~batches}`, like `{~workers}`, can be no queue's."""
        return f"{self.namespace}:{{~batches}}:open"

    @property
    def batches_decided(self) -> str:
        """HASH batch id -> 'commit' | 'abort': the decision of each open bulk (decide_batch.lua)."""
        return f"{self.namespace}:{{~batches}}:decided"

    @property
    def schedule_names(self) -> str:
        """SET of every schedule's name (SPEC §10), in the schedules' own slot.

        The tag `{~schedules}`, like `{~workers}`, can be no queue's; every schedule key shares
        it, so each change of a schedule is one script on one slot. A tick's task goes to its
        queue's slot in a call of its own (submit first, then advance: maintenance/schedules.py)."""
        return f"{self.namespace}:{{~schedules}}:names"

    @property
    def schedules_due(self) -> str:
        """ZSET schedule name -> next_run_ms, of the schedules not paused: what the scheduler fires."""
        return f"{self.namespace}:{{~schedules}}:due"

    @property
    def schedule_events(self) -> str:
        """STREAM of schedule events (schedule.created ... schedule.fired), in the schedules' slot."""
        return f"{self.namespace}:{{~schedules}}:events"

    def schedule(self, name: str) -> str:
        """HASH one schedule: `definition` (core.schedules.definition_json as JSON), `paused`
        ('0' | '1'), `created_ms`, `updated_ms`, and while set `next_ms`, `last_ms`, `last_task`.
        The name follows the tag (and holds no brace), so it cannot move the slot."""
        return f"{self.namespace}:{{~schedules}}:schedule:{name}"

    def worker(self, worker_id: str) -> str:
        """HASH one worker's record (`started_ms`, `last_seen_ms`, `state`, reported details).
        The id follows the tag, so whatever it holds cannot move the slot."""
        return f"{self.namespace}:{{~workers}}:worker:{worker_id}"

    def rate_limit(self, client: str) -> str:
        """HASH tokens, at_ms: one client's token bucket, in a slot of its own.

        The client (an API key or an address) is hashed: no secret lands in a key name, and
        no brace in it can shift the hash tag.
        """
        digest = hashlib.sha256(client.encode()).hexdigest()[:32]
        return f"{self.namespace}:ratelimit:{{{digest}}}"

    def queue(self, name: str) -> QueueKeys:
        return QueueKeys(name=name, prefix=f"{self.namespace}:{{{name}}}:")
