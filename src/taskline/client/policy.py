"""What `AsyncClient` and `Client` decide alike, without I/O: when to wait out a Retry-After,
how `wait()` polls, how listing pages. Each client only sleeps and calls its own way."""

import time

from taskline.client.errors import WaitTimeout
from taskline.core.states import TERMINAL
from taskline.core.task import Task, TaskPage
from taskline.errors import RetryLater

MAX_PAGE = 500
# A Retry-After longer than this is not waited out: the caller hears of it instead.
MAX_RETRY_AFTER_S = 30.0


def retry_pause(refused: RetryLater, attempt: int, retries: int) -> float | None:
    """Seconds to wait before attempt `attempt + 1`; None when the caller should hear of `refused`."""
    if attempt >= retries or refused.retry_after_s > MAX_RETRY_AFTER_S:
        return None
    return float(refused.retry_after_s)


class Waiting:
    """The polling of `wait()`: quick for short tasks, gentle for long ones."""

    def __init__(self, timeout_s: float, interval_s: float) -> None:
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._interval_s = interval_s

    def pause(self, task: Task) -> float | None:
        """None once `task` is terminal, else the seconds to sleep before looking again.

        Raises:
            WaitTimeout: the time is up and `task` is not terminal.
        """
        remaining = self._deadline - time.monotonic()
        if task.state in TERMINAL:
            return None
        if remaining <= 0:
            raise WaitTimeout(task, self._timeout_s)
        pause = min(self._interval_s, remaining)
        self._interval_s = min(self._interval_s * 1.5, 1.0)
        return pause


class Paging:
    """Follows `next_cursor` page by page until the pages end or `limit` tasks were taken."""

    def __init__(self, limit: int | None, page_size: int) -> None:
        self._left = limit
        self._page_size = page_size
        self._finished = False
        self.cursor: str | None = None

    def next_size(self) -> int | None:
        """How many tasks to ask for next; None when done."""
        if self._finished or (self._left is not None and self._left <= 0):
            return None
        return min(self._page_size, MAX_PAGE, self._left if self._left is not None else MAX_PAGE)

    def take(self, page: TaskPage) -> list[Task]:
        """The tasks of `page` to hand out, the cursor moved past them."""
        tasks = page.tasks[: self._left]
        self._left = None if self._left is None else self._left - len(page.tasks)
        self._finished = page.next_cursor is None
        self.cursor = page.next_cursor
        return tasks
