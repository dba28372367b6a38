"""API key matching (SPEC §4): the right role for each key, nothing for a near miss, and every
configured key compared in full, so how long a refusal takes says nothing about the keys."""

import hmac

import pytest

from taskline.api import auth
from taskline.api.auth import matching_role, role_of
from taskline.errors import Unauthorized

KEYS = {"k-admin-0001": "admin", "k-producer-01": "producer", "k-worker-0001": "worker"}


@pytest.mark.parametrize(("key", "role"), [(k, r) for k, r in KEYS.items()])
def test_each_key_has_its_role(key: str, role: str) -> None:
    assert role_of(KEYS, key) == role  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [None, "", "k-admin-000", "k-admin-00011", "K-ADMIN-0001", "k-admin-0001 "])
def test_a_missing_or_near_miss_key_is_refused(key: str | None) -> None:
    with pytest.raises(Unauthorized):
        role_of(KEYS, key)  # type: ignore[arg-type]


def test_a_key_outside_ascii_is_compared_not_crashed_on() -> None:
    assert matching_role({"clé-ü": "admin"}, "clé-ü") == "admin"
    assert matching_role({"clé-ü": "admin"}, "clé-u") is None


def test_every_configured_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    assert matching_role(KEYS, "k-admin-0001") == "admin"  # the first key matches, and still...
    assert sorted(compared) == sorted(k.encode() for k in KEYS)  # ...every key was compared
    compared.clear()
    assert matching_role(KEYS, "nope") is None
    assert len(compared) == len(KEYS)


def test_open_mode_is_admin_for_everyone() -> None:
    assert role_of({}, None) == "admin"


def test_a_key_names_a_client_only_when_keys_are_on() -> None:
    from taskline.api.guard import client_identity

    scope = {"type": "http", "client": ("203.0.113.9", 5000)}
    with_keys = {client_identity(scope, key, keys_on=True) for key in ("k1", "k2")}
    open_mode = {client_identity(scope, key, keys_on=False) for key in ("k1", "k2", None)}

    assert len(with_keys) == 2  # each valid key is a client of its own, hashed
    assert not any("k1" in identity for identity in with_keys)
    assert open_mode == {"ip:203.0.113.9"}  # in open mode a made-up key per request dodges nothing
