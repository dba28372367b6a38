"""How deep a payload, metadata or result may nest: as deep as still encodes inside every
answer that carries it (core.jsonvalue)."""

import orjson
import pytest

from taskline.core.jsonvalue import ENCODER_DEPTH, ENVELOPE, MAX_DEPTH, NotJson, encoded_size


def nested(depth: int) -> object:
    value: object = 0
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_orjson_encodes_as_deep_as_the_rule_assumes_and_no_deeper() -> None:
    orjson.dumps(nested(ENCODER_DEPTH))
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(nested(ENCODER_DEPTH + 1))


def test_a_value_at_the_limit_is_taken_and_still_encodes_inside_the_deepest_answer() -> None:
    value = nested(MAX_DEPTH)
    assert encoded_size(value) == len(orjson.dumps(value))
    orjson.dumps({"tasks": [{"payload": value}]})  # a task listing, 3 levels around it
    assert ENVELOPE >= 3


def test_a_value_one_level_deeper_is_refused_and_says_why() -> None:
    with pytest.raises(NotJson, match=f"deeper than {MAX_DEPTH} levels"):
        encoded_size(nested(MAX_DEPTH + 1))


@pytest.mark.parametrize("value", [{1: "a non-string key"}, {"a": object()}, [1, {2, 3}]])
def test_what_json_cannot_carry_is_refused(value: object) -> None:
    with pytest.raises(NotJson, match="is not JSON"):
        encoded_size(value)


def test_sizes_are_the_plain_encoding() -> None:
    assert encoded_size({"a": [1, 2.5, "é"], "n": None}) == len(orjson.dumps({"a": [1, 2.5, "é"], "n": None}))
