"""What every part of the Redis backend shares: the client, key names, scripts, caches and config."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from taskline.backends.redis import fanout
from taskline.backends.redis.calls import priority_offsets
from taskline.backends.redis.catalog import Catalog
from taskline.backends.redis.connecting import AnyRedis
from taskline.backends.redis.fanout import Command as Command  # re-exported: the type callers build lists of
from taskline.backends.redis.history_flag import HistoryFlag
from taskline.backends.redis.keys import KeySpace
from taskline.backends.redis.scripts import ScriptRunner
from taskline.core.config import EngineConfig


@dataclass(slots=True)
class RedisContext:
    client: "AnyRedis"
    keys: KeySpace
    config: EngineConfig
    scripts: ScriptRunner = field(init=False)
    catalog: Catalog = field(init=False)
    offsets: list[int] = field(init=False)

    def __post_init__(self) -> None:
        flag = HistoryFlag(self.keys.history, always=self.config.archive)
        self.scripts = ScriptRunner(self.client, flag=flag)
        self.catalog = Catalog(self.client, self.keys)
        self.offsets = priority_offsets(self.config)

    async def pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """Run the commands in one round trip, without MULTI (they may span slots)."""
        return await fanout.pipeline(self.client, commands)

    async def partial_pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """`pipeline`, the replies of a cluster node that failed being its error (fanout.py).

        Raises:
            BackendUnavailable: no node the commands need answered.
        """
        replies = await fanout.partial_pipeline(self.client, commands)
        fanout.all_failed(replies)
        return replies
