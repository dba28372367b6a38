"""The client waits out a 429's Retry-After, a bounded number of times."""

from pathlib import Path

import pytest

from taskline import Client
from taskline.errors import RateLimited
from tests.helpers.live import live_server


def test_a_429_is_retried_after_retry_after(tmp_path: Path) -> None:
    with live_server(tmp_path, rate_limit_rps="1", rate_limit_burst="1") as server:
        with Client(server.url, retries=0) as impatient:
            impatient.stats()
            with pytest.raises(RateLimited) as limited:
                impatient.stats()
        with Client(server.url, retries=3) as patient:
            answers = [patient.stats() for _ in range(3)]  # each past the first waits for a token

    assert limited.value.retry_after_s >= 1
    assert [a.total for a in answers] == [0, 0, 0]
