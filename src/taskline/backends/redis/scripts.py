"""Load the Lua transitions from `lua/`, check how they are called, run them, translate replies.

Each `lua/<name>.lua` is one transition named after its Backend method; `_lib.lua` is
prepended to all of them so shared helpers are written once. A script's header declares its
KEYS (`-- KEYS[3] ...`, or `KEYS[5..]` for a variadic tail); every call is checked against
it, so a key passed but not declared (or the reverse) fails loudly in tests, not on a cluster.
"""

import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from redis import exceptions as redis_errors

from taskline.backends.redis.codec import RECORD_FIELDS, SINCE_CREATED, SMALL_RECORD_BYTES, STATES, UNSHOWN
from taskline.backends.redis.connecting import AnyBlockingRedis, AnyRedis
from taskline.backends.redis.failures import redis_unavailable
from taskline.backends.redis.history_flag import HistoryFlag
from taskline.backends.redis.replicas import run_and_wait, run_and_wait_blocking
from taskline.core.measures import DURATION_BUCKETS_S
from taskline.core.task import pending_webhook_status
from taskline.errors import BackendUnavailable, InvalidTransition, LeaseLost, NotFound, QueueFull
from taskline.events.tally import COUNTED
from taskline.events.types import EVENTS_KEPT, TERMINAL_EVENTS

_PRELUDE = "_lib"
_KEY_DECLARATION = re.compile(r"KEYS\[(\d+)(\.\.)?\]")


@dataclass(frozen=True, slots=True)
class LuaScript:
    """One transition's source (prelude included), its SHA1, and the KEYS its header declares."""

    name: str
    body: str
    source: str
    sha: str
    fixed_keys: int
    variadic: bool

    def check_keys(self, count: int) -> None:
        """Raise if `count` KEYS is not what the header declares (a programming error)."""
        if count < self.fixed_keys or (count > self.fixed_keys and not self.variadic):
            raise AssertionError(f"{self.name}.lua declares {self.fixed_keys} KEYS, was given {count}")


def header_of(body: str) -> list[str]:
    """The leading `--` comment lines of a script."""
    lines = []
    for line in body.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line)
    return lines


def _declared_keys(name: str, body: str) -> tuple[int, bool]:
    indexes = [(int(n), bool(tail)) for line in header_of(body) for n, tail in _KEY_DECLARATION.findall(line)]
    if not indexes:
        raise ValueError(f"{name}.lua declares no KEYS in its header")
    fixed = [n for n, tail in indexes if not tail]
    tails = [n for n, tail in indexes if tail]
    if sorted(fixed) != list(range(1, len(fixed) + 1)) or any(t != len(fixed) + 1 for t in tails):
        raise ValueError(f"{name}.lua declares KEYS out of order: {indexes}")
    return len(fixed), bool(tails)


def script_names() -> list[str]:
    folder = resources.files("taskline.backends.redis") / "lua"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".lua") and p.name != f"{_PRELUDE}.lua")


def read_body(name: str) -> str:
    return (resources.files("taskline.backends.redis") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def constants(*, archive: bool = False) -> str:
    """Lua definitions of the Python constants the scripts share, so each is written once:
    `_lib.lua` counts and delivers by the same tables `events.tally` and SQLite use, and
    reads and writes records by codec.py's layout. `archive` (EngineConfig.archive) is baked
    in as ARCHIVE rather than passed per call: a process archives all its ends or none, and
    the scripts with and without it are two SHAs that live side by side in Redis."""
    buckets_ms = ", ".join(str(round(bound * 1000)) for bound in DURATION_BUCKETS_S)
    unshown = ", ".join(f"{name} = true" for name in UNSHOWN)
    counted = ", ".join(f"['{name}'] = '{counter}'" for name, counter in COUNTED.items())
    delivered_on = ", ".join(f"['{name}'] = true" for name in sorted(TERMINAL_EVENTS))
    pending_status = orjson.dumps(pending_webhook_status()).decode()
    states = ", ".join(f"'{state}'" for state in STATES)
    state_index = ", ".join(f"{state} = {i}" for i, state in enumerate(STATES))
    return "\n".join(
        [
            f"local EVENTS_KEPT = {EVENTS_KEPT}",
            f"local SMALL_RECORD_BYTES = {SMALL_RECORD_BYTES}",
            f"local BUCKETS_MS = {{{buckets_ms}}}",
            f"local UNSHOWN = {{{unshown}}}",
            f"local COUNTED = {{{counted}}}",
            f"local DELIVERED_ON = {{{delivered_on}}}",
            f"local PENDING_WEBHOOK_STATUS = [[{pending_status}]]",
            f"local ARCHIVE = {'true' if archive else 'false'}",
            f"local STATES = {{{states}}}",
            f"local STATE_INDEX = {{{state_index}}}",
            f"local RECORD_LENGTH = {len(RECORD_FIELDS)}",
            f"local ERRORS_AT = {RECORD_FIELDS.index('errors') + 1}",
            *record_layout(),
            "",
        ]
    )


def record_layout() -> list[str]:
    """Lua for codec.py's record layout: `task_of(values)` names an unpacked record's values,
    `values_of(task)` puts a task's fields in their places. Written out field by field (one
    table constructor each) because a loop over the field names grew the table one field at
    a time: it took twice the time of cjson's decode."""
    created = RECORD_FIELDS.index("created_ms") + 1
    named, placed = [], []
    for at, name in enumerate(RECORD_FIELDS, start=1):
        if name == "state":
            named.append(f"state = STATES[v[{at}] + 1]")
            placed.append("STATE_INDEX[t.state]")
        elif name in SINCE_CREATED:
            named.append(f"{name} = v[{at}] and v[{created}] + v[{at}]")
            placed.append(f"t.{name} and t.{name} - t.created_ms")
        else:
            named.append(f"{name} = v[{at}]")
            placed.append(f"t.{name}")
    return [
        f"local function task_of(v) return {{{', '.join(named)}}} end",
        f"local function values_of(t) return {{{', '.join(placed)}}} end",
    ]


@functools.cache
def load_scripts(*, archive: bool = False) -> dict[str, LuaScript]:
    """Every script in `lua/`, checked for a well-formed KEYS header; `archive` as `constants`.
    Read once a process per variant: every runner shares them, and none changes them."""
    prelude = constants(archive=archive) + read_body(_PRELUDE)
    scripts = {}
    for name in script_names():
        body = read_body(name)
        fixed, variadic = _declared_keys(name, body)
        # The script's own header stays first so Redis error messages point at its name.
        source = f"{body.splitlines()[0]}\n{prelude}\n{body}"
        sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        scripts[name] = LuaScript(name, body, source, sha, fixed, variadic)
    return scripts


_REPLIES: dict[str, type[Exception]] = {
    "NOT_FOUND": NotFound,
    "LEASE_LOST": LeaseLost,
    "INVALID_STATE": InvalidTransition,
    "QUEUE_FULL": QueueFull,
    "ABANDONED": BackendUnavailable,
}
_MESSAGES = {
    "NOT_FOUND": "no such task",
    "LEASE_LOST": "the lease token is not the running attempt's",
    "QUEUE_FULL": "the queue is full",
    "ABANDONED": "the bulk submit took too long and was given up; nothing of it was stored",
}


def _translate(error: redis_errors.ResponseError) -> Exception | None:
    code, _, detail = str(error).partition(" ")
    return error_for(code, detail)


def error_for(code: str, detail: str = "") -> Exception | None:
    """The exception an error code of a script means (None: not one of ours); `detail` is what
    follows the code: a task's state for INVALID_STATE, the task's id for NOT_FOUND."""
    kind = _REPLIES.get(code)
    if kind is None:
        return None
    if kind is InvalidTransition:
        return InvalidTransition(f"a {detail.split()[0] if detail else 'finished'} task does not allow that")
    if kind is NotFound and detail:  # NOT_FOUND <task id>: every script's NOT_FOUND is a task's
        return NotFound.of("task", detail)
    return kind(_MESSAGES[code])


@contextmanager
def _script_replies(*, blocking: bool = False) -> Iterator[None]:
    """Error replies of a script as taskline.errors; anything else as `redis_unavailable` says."""
    with redis_unavailable(blocking=blocking):
        try:
            yield
        except redis_errors.ResponseError as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            raise translated from None


class ScriptRunner:
    """Runs the scripts on one client (a Redis or a Redis Cluster) by SHA, sending the source
    again when Redis lost it; with or without archiving ends, as `flag` says at each call."""

    def __init__(self, client: "AnyRedis", *, flag: HistoryFlag) -> None:
        self._client = client
        self._flag = flag
        self._variants = (load_scripts(archive=False), load_scripts(archive=True))

    async def run(
        self, name: str, keys: list[str], args: Sequence[str | int | float | bytes], *, replicas: int = 0
    ) -> Any:
        """EVALSHA `name`, translating error replies into taskline.errors; with `replicas`, only
        once `WAIT replicas` confirms that many replicas have the write (replicas.py).

        Raises:
            NotFound, LeaseLost, InvalidTransition, QueueFull: the script refused.
            BackendUnavailable: Redis could not run it, or fewer replicas than asked confirmed it.
            InternalError: the script failed on its own (an error reply none of the above).
        """
        archive = await self._flag.on(self._client)
        script = self._variants[archive][name]
        script.check_keys(len(keys))
        if replicas > 0:
            with _script_replies():
                return await run_and_wait(self._client, script, keys, args, replicas)
        with _script_replies():
            try:
                return await self._client.evalsha(script.sha, len(keys), *keys, *args)
            except redis_errors.NoScriptError:
                # A restart, SCRIPT FLUSH or a failover (a promoted replica has an empty cache)
                # lost it: EVAL runs it on the node that owns the keys and caches it there.
                return await self._client.eval(script.source, len(keys), *keys, *args)


class BlockingScriptRunner:
    """`ScriptRunner` on redis-py's blocking client: the same scripts, checks and errors."""

    def __init__(self, client: Callable[[], "AnyBlockingRedis"], *, flag: HistoryFlag) -> None:
        self._client_of = client  # the blocking Client opens its connection at its first call
        self._flag = flag
        self._variants = (load_scripts(archive=False), load_scripts(archive=True))

    @property
    def _client(self) -> "AnyBlockingRedis":
        return self._client_of()

    def run(self, name: str, keys: list[str], args: Sequence[str | int | float | bytes], *, replicas: int = 0) -> Any:
        """EVALSHA `name` (then WAIT `replicas`, if any); raises as `ScriptRunner.run` does."""
        archive = self._flag.on_blocking(self._client)
        script = self._variants[archive][name]
        script.check_keys(len(keys))
        with _script_replies(blocking=True):
            if replicas > 0:
                return run_and_wait_blocking(self._client, script, keys, args, replicas)
            try:
                return self._client.evalsha(script.sha, len(keys), *keys, *args)
            except redis_errors.NoScriptError:
                return self._client.eval(script.source, len(keys), *keys, *args)
