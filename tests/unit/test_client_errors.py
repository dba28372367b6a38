"""Error responses read back into exceptions: the SPEC's codes as their classes, anything else kept."""

from taskline.client import UnexpectedResponse
from taskline.client.errors import error_from_response
from taskline.errors import NotFound, RateLimited


def test_a_code_becomes_its_class() -> None:
    missing = error_from_response(404, {"error": {"code": "not_found", "message": "no task x", "details": None}}, None)
    limited = error_from_response(429, {"error": {"code": "rate_limited", "message": "slow down"}}, "3")

    assert isinstance(missing, NotFound)
    assert missing.message == "no task x"
    assert isinstance(limited, RateLimited)
    assert limited.retry_after_s == 3


def test_a_response_without_a_taskline_error_body_is_unexpected() -> None:
    proxy_page = error_from_response(502, None, None)
    newer_server = error_from_response(418, {"error": {"code": "teapot", "message": "short and stout"}}, None)

    assert isinstance(proxy_page, UnexpectedResponse)
    assert proxy_page.http_status == 502
    assert (newer_server.code, newer_server.message) == ("teapot", "short and stout")
