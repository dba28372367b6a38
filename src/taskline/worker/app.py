"""`App`: the registry of task handlers, and the `TaskContext` a handler may ask for.

    app = taskline.App()

    @app.task("email")
    async def send(payload, ctx):
        ctx.progress(50)
        ...

A handler is sync or async and takes the payload, plus a `TaskContext` if it declares a
second parameter. Async handlers run on the worker's event loop, sync ones in a thread pool
(or, with `process=True`, in a process pool for CPU-bound work: the function must then be
importable by name and receives no context).
"""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from taskline.core.task import Task

F = TypeVar("F", bound=Callable[..., Any])
Runs = Literal["loop", "thread", "process"]


@dataclass(slots=True)
class TaskContext:
    """What a handler may know of its task, and its ways to talk back while it runs."""

    task: Task
    cancel_requested: bool = False
    _progress: float | None = None
    _on_progress: Callable[[], None] = field(default=lambda: None, repr=False)

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def attempt(self) -> int:
        """1 on the first run, 2 on the first retry, and so on."""
        return self.task.attempts

    @property
    def queue(self) -> str:
        return self.task.queue

    @property
    def type(self) -> str:
        return self.task.type

    @property
    def payload(self) -> Any:
        return self.task.payload

    @property
    def metadata(self) -> dict[str, Any]:
        return self.task.metadata

    def progress(self, pct: float) -> None:
        """Report progress (0–100); sent with the next heartbeat, which it brings forward.

        Safe to call from a sync handler's thread.
        """
        if not 0 <= pct <= 100:
            raise ValueError(f"progress must be within 0..100, not {pct}")
        self._progress = float(pct)
        self._on_progress()


@dataclass(frozen=True, slots=True)
class Handler:
    """A registered function and how to call it."""

    name: str
    function: Callable[..., Any]
    runs: Runs
    wants_context: bool

    def arguments(self, ctx: TaskContext) -> tuple[Any, ...]:
        return (ctx.payload, ctx) if self.wants_context else (ctx.payload,)


class App:
    """Handlers by task type. Built-in handlers (echo, sleep, http, email) are added by the worker
    unless `builtins=False`; a handler of the same name registered here takes precedence."""

    def __init__(self, *, builtins: bool = True) -> None:
        self.builtins = builtins
        self._handlers: dict[str, Handler] = {}

    def task(self, name: str, *, process: bool = False) -> Callable[[F], F]:
        """Register the decorated function as the handler of tasks of type `name`."""

        def register(function: F) -> F:
            self.add(name, function, process=process)
            return function  # unchanged, so it stays importable (and picklable) by name

        return register

    def add(self, name: str, function: Callable[..., Any], *, process: bool = False) -> None:
        if name in self._handlers:
            raise ValueError(f"a handler for {name!r} is already registered")
        is_async = inspect.iscoroutinefunction(function)
        if process and is_async:
            raise ValueError(f"{name!r}: process=True needs a sync function")
        parameters = len(inspect.signature(function).parameters)
        if parameters not in (1, 2):
            raise TypeError(f"{name!r}: a handler takes (payload) or (payload, ctx), not {parameters} parameters")
        if process and parameters == 2:
            raise TypeError(f"{name!r}: a handler run in a process receives no context")
        runs: Runs = "loop" if is_async else "process" if process else "thread"
        self._handlers[name] = Handler(name, function, runs, wants_context=parameters == 2)

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return self._handlers

    def with_builtins(self, builtins: Mapping[str, Callable[[Any], Awaitable[Any]]]) -> "App":
        """A copy that also has `builtins`, except where this app registered the same name."""
        merged = App(builtins=False)
        for name, function in builtins.items():
            if name not in self._handlers:
                merged.add(name, function)
        merged._handlers.update(self._handlers)
        return merged
