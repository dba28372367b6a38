"""What a handler raises to steer its task's outcome, beyond returning a result.

Any other exception fails the attempt and the task is retried with backoff while
`max_retries` allows.
"""


class Retry(Exception):
    """Fail this attempt and run the task again after `after` seconds (the backoff otherwise).

    Counts as an attempt: a task past `max_retries` fails for good.
    """

    def __init__(self, reason: str = "retry requested", after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Fail(Exception):
    """Fail the task for good: no retry, whatever `max_retries` leaves. It goes to the DLQ."""
