"""The SQL the backend runs: named statements from queries.sql and the schema, loaded once.

Each statement becomes a typed attribute of `QUERIES`, so a misspelt name fails mypy and a
statement missing from the file fails at import, not in the middle of a transition.
"""

import re
from dataclasses import dataclass, fields
from importlib.resources import files

SCHEMA_VERSION = 6
_NAME_LINE = re.compile(r"^-- name: (\w+)[ \t]*$", re.MULTILINE)


@dataclass(slots=True, frozen=True)
class Queries:
    get_task: str
    ids_in_range: str
    insert_task: str
    save_task: str
    unique_holder: str
    queued_in_queue: str
    add_queue: str
    add_queue_type: str
    set_paused: str
    resume_queue: str
    leasable_pairs: str
    lease_candidates: str
    lease_task: str
    renew_lease: str
    due_tasks: str
    make_pending: str
    expired_leases: str
    next_due: str
    next_expiry: str
    counts_by_state: str
    all_queues: str
    counts_by_queue: str
    purge_pending: str
    dlq_page: str
    dlq_all: str
    dlq_delete: str
    trim_finished: str
    trim_dead: str
    list_all: str
    list_by_state: str
    list_by_queue: str
    list_by_type: str
    ping: str
    register_worker: str
    workers_seen_since: str
    count_workers_seen_since: str
    get_worker: str
    set_worker_paused: str
    forget_worker: str
    prune_workers: str
    depart_workers: str
    add_delivery: str
    claim_deliveries: str
    delivery_attempts: str
    drop_delivery: str
    postpone_delivery: str
    add_archive: str
    read_archive: str
    drop_archived: str
    archive_backlog: str
    set_webhook_status: str
    add_sample: str
    trim_samples: str
    samples_between: str
    get_schedule: str
    all_schedules: str
    put_schedule: str
    delete_schedule: str
    set_schedule_paused: str
    due_schedules: str
    advance_schedule: str
    next_schedule: str


def _read(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def parse_named(text: str) -> dict[str, str]:
    """Split `-- name: x` sections into {name: statement}, comments and blank edges kept out."""
    parts = _NAME_LINE.split(text)
    named: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.strip().splitlines() if not line.lstrip().startswith("--")]
        named[name] = "\n".join(lines).strip()
    return named


def _load() -> Queries:
    named = parse_named(_read("queries.sql"))
    expected = {f.name for f in fields(Queries)}
    if named.keys() != expected:
        raise RuntimeError(f"queries.sql does not match Queries: {sorted(named.keys() ^ expected)}")
    return Queries(**named)


QUERIES = _load()
SCHEMA = _read("schema.sql")
MIGRATIONS = {n: _read(f"migration_{n}.sql") for n in (2, 3, 4, 5, 6)}
"""The script that takes a file from version n - 1 to n, by n; schema.sql makes version 1."""
