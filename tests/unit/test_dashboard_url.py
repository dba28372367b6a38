"""The dashboard address `taskline serve` prints: one a browser on this machine can open."""

import pytest

from taskline.cli.serve import dashboard_url


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080/"),
        ("0.0.0.0", "http://127.0.0.1:8080/"),
        ("::", "http://[::1]:8080/"),
        ("::1", "http://[::1]:8080/"),
        ("localhost", "http://localhost:8080/"),
        ("192.168.1.20", "http://192.168.1.20:8080/"),
    ],
)
def test_a_wildcard_bind_is_shown_as_loopback(host: str, url: str) -> None:
    assert dashboard_url(host, 8080) == url
