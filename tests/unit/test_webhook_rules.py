"""The webhook signature and the target rule (SPEC §6), as pure functions."""

import hashlib
import hmac

import pytest

from taskline.core.clock import FrozenClock
from taskline.core.spec import parse_spec
from taskline.core.targets import refused_address, refused_literal_host
from taskline.errors import ValidationFailed
from taskline.webhooks.signing import sign, verify

BODY = b'{"event":"task.completed","task":{"id":"x"}}'


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()

    assert sign("s3cret", BODY) == f"sha256={expected}"


def test_verify_accepts_only_the_same_body_and_secret() -> None:
    signature = sign("s3cret", BODY)

    assert verify("s3cret", BODY, signature)
    assert not verify("other", BODY, signature)
    assert not verify("s3cret", BODY + b" ", signature)
    assert not verify("s3cret", BODY, None)
    assert not verify("s3cret", BODY, signature.removeprefix("sha256="))


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "fe80::1",
     "fc00::1", "::ffff:127.0.0.1", "[::1]", "224.0.0.1", "100.64.0.1"],
)  # fmt: skip
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    assert refused_address(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "example.com", "8.8.8.8"])
def test_public_addresses_and_names_pass_the_literal_rule(address: str) -> None:
    assert refused_address(address) is None


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "[::1]", "10.1.2.3"])
def test_hosts_that_are_plainly_private_are_refused_before_dns(host: str) -> None:
    why = refused_literal_host(host.strip("[]") if host.startswith("[") else host)

    assert why is not None
    assert "TASKLINE_WEBHOOK_ALLOW_PRIVATE" in why


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "https://localhost/hook", "http://[::1]/h",
                                 "http://169.254.169.254/latest", "http://192.168.0.10/"])  # fmt: skip
def test_a_submit_to_a_private_webhook_is_refused_unless_allowed(url: str) -> None:
    now = FrozenClock().now()
    with pytest.raises(ValidationFailed) as refused:
        parse_spec({"type": "t", "webhook": url}, now=now, max_payload_bytes=1000)

    assert [d["field"] for d in refused.value.details] == ["webhook"]
    allowed = parse_spec({"type": "t", "webhook": url}, now=now, max_payload_bytes=1000, allow_private_webhooks=True)
    assert allowed.webhook == url


def test_a_webhook_by_name_is_left_for_the_check_after_dns() -> None:
    spec = parse_spec({"type": "t", "webhook": "https://hooks.example.com/x"}, now=0, max_payload_bytes=1000)

    assert spec.webhook == "https://hooks.example.com/x"


@pytest.mark.parametrize("url", [f"https://{'a' * 64}.example/hook", "https://a..b/hook"])
def test_a_webhook_whose_host_dns_cannot_carry_is_refused_at_submit(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_spec({"type": "t", "webhook": url}, now=FrozenClock().now(), max_payload_bytes=1 << 20)

    assert refused.value.details == [{"field": "webhook", "message": "must be an http or https URL"}]


async def test_a_host_dns_cannot_carry_is_refused_at_delivery_not_raised() -> None:
    from taskline.webhooks.targets import TargetRefused, checked_addresses

    with pytest.raises(TargetRefused, match="not a host name"):
        await checked_addresses("a" * 64 + ".example", 443)
