"""The `http` handler against a real Starlette app under uvicorn on a loopback port."""

import asyncio
from typing import Any

import pytest

from taskline.config import Settings
from taskline.worker.builtin import MAX_HTTP_BODY_BYTES, Handler, HandlerError, builtin_handlers
from taskline.worker.outcomes import Fail
from tests.helpers.servers import free_port
from tests.integration.handlers.conftest import SilentServer, WebServer

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def http() -> Handler:
    """The handler as a worker on a private network runs it: loopback targets allowed."""
    return builtin_handlers(Settings(webhook_allow_private=True))["http"]


@pytest.fixture(scope="module")
def guarded_http() -> Handler:
    return builtin_handlers(Settings())["http"]


async def test_a_json_answer_is_parsed(http: Handler, web: WebServer) -> None:
    result = await http({"url": web.url("/json")})

    assert result["status"] == 200
    assert result["body"] == {"hello": "world", "n": [1, 2]}
    assert result["headers"]["content-type"] == "application/json"
    assert result["truncated"] is False


async def test_any_other_answer_is_text(http: Handler, web: WebServer) -> None:
    result = await http({"url": web.url("/text")})

    assert (result["status"], result["body"]) == (200, "plain text")


async def test_a_json_body_is_sent_as_json(http: Handler, web: WebServer) -> None:
    result = await http({"method": "post", "url": web.url("/echo"), "body": {"a": [1, 2]}})

    received = result["body"]
    assert received["method"] == "POST"
    assert received["content_type"] == "application/json"
    assert received["body"].replace(" ", "") == '{"a":[1,2]}'


async def test_a_string_body_and_headers_are_sent_as_given(http: Handler, web: WebServer) -> None:
    payload = {"method": "PUT", "url": web.url("/echo"), "headers": {"X-Token": "t0k"}, "body": "raw <text>"}

    received = (await http(payload))["body"]

    assert (received["method"], received["x_token"], received["body"]) == ("PUT", "t0k", "raw <text>")


@pytest.mark.parametrize("code", [404, 500, 503])
async def test_a_non_2xx_answer_fails_the_attempt_naming_the_status(http: Handler, web: WebServer, code: int) -> None:
    with pytest.raises(HandlerError, match=f"answered {code}") as caught:
        await http({"url": web.url(f"/status/{code}")})

    assert "try later" in str(caught.value)  # the start of the body helps whoever reads the error
    assert not isinstance(caught.value, Fail)


async def test_a_redirect_is_not_followed(http: Handler, web: WebServer) -> None:
    before = len(web.hits)

    with pytest.raises(HandlerError, match="answered 307"):
        await http({"url": web.url("/redirect")})

    assert web.hits[before:] == ["/redirect"]


async def test_a_large_answer_is_cut_at_the_bound_and_kept_as_text(http: Handler, web: WebServer) -> None:
    result = await http({"url": web.url("/big")})

    assert result["truncated"] is True
    assert isinstance(result["body"], str)
    assert len(result["body"]) == MAX_HTTP_BODY_BYTES


async def test_no_answer_within_the_timeout_fails_the_attempt_and_hangs_up(http: Handler, start_silent: Any) -> None:
    silent: SilentServer = await start_silent()

    with pytest.raises(HandlerError, match=r"no answer within 0\.2 s"):
        await http({"url": f"http://127.0.0.1:{silent.port}/", "timeout": 0.2})

    await asyncio.wait_for(silent.hung_up.wait(), 5)


async def test_a_cancelled_request_closes_its_connection(http: Handler, start_silent: Any) -> None:
    silent: SilentServer = await start_silent()
    task = asyncio.create_task(http({"url": f"http://127.0.0.1:{silent.port}/"}))
    await silent.spoke.wait()

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(silent.hung_up.wait(), 5)


async def test_a_refused_connection_fails_the_attempt(http: Handler) -> None:
    port = free_port()  # bound and released: nothing listens there

    with pytest.raises(HandlerError, match=f"GET http://127.0.0.1:{port}/") as caught:
        await http({"url": f"http://127.0.0.1:{port}/"})

    assert not isinstance(caught.value, Fail)


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ("http://example.com", "payload must be an object"),
        ({}, "missing field"),
        ({"url": "ftp://example.com/file"}, "http:// or https://"),
        ({"url": "http://"}, "needs a host"),
        ({"url": "http://example.com:99999/"}, "port from 1 to 65535"),
        ({"url": "http://example.com", "method": "GET /x"}, "method"),
        ({"url": "http://example.com", "headers": ["X-A: 1"]}, "headers must be an object"),
        ({"url": "http://example.com", "headers": {"X-A": "1\r\nX-Injected: 2"}}, "not a valid header"),
        ({"url": "http://example.com", "headers": {"X-A": 1}}, "not a valid header"),
        ({"url": "http://example.com", "timeout": 0}, "timeout must be a number > 0"),
        ({"url": "http://example.com", "timeout": "5"}, "timeout must be a number"),
        ({"url": "http://example.com", "data": "x"}, "unknown field"),
    ],
)
async def test_a_malformed_payload_fails_for_good_and_sends_nothing(
    http: Handler, web: WebServer, payload: Any, complaint: str
) -> None:
    before = len(web.hits)

    with pytest.raises(Fail, match=complaint):
        await http(payload)

    assert len(web.hits) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_loopback_targets_are_refused_unless_allowed(guarded_http: Handler, web: WebServer, host: str) -> None:
    before = len(web.hits)

    with pytest.raises(Fail, match="TASKLINE_WEBHOOK_ALLOW_PRIVATE"):
        await guarded_http({"url": f"http://{host}:{web.port}/json"})

    assert len(web.hits) == before


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.1", "169.254.169.254", "[fe80::1]", "0.0.0.0"])
async def test_private_and_link_local_targets_are_refused(guarded_http: Handler, address: str) -> None:
    with pytest.raises(Fail, match="private, loopback or link-local"):
        await guarded_http({"url": f"http://{address}/latest/meta-data/"})
