"""Id prefixes: how one is read (core.ids.id_prefix), how long an abbreviation must be
(short_length), and the creation-log range the Redis lookup reads (codec.log_range)."""

import random

import pytest

from taskline.backends.redis.codec import log_entry, log_range, parse_log_id
from taskline.core.ids import MIN_PREFIX_DIGITS, id_prefix, new_task_id, short_length

ID = "0193a4b2-c3d4-7a1f-8b2c-0123456789ab"


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("0193a4b2", "0193a4b2"),
        ("0193A4B2C3D4", "0193a4b2-c3d4"),
        ("0193a4b2-c3d4-7a", "0193a4b2-c3d4-7a"),
        ("0193a4b2c3d47a1f8b2c0123456789ab", ID),
        (" 0193a4b2-c ", "0193a4b2-c"),
    ],
)
def test_a_prefix_is_read_into_the_canonical_form(text: str, prefix: str) -> None:
    assert id_prefix(text) == prefix


@pytest.mark.parametrize("text", ["0193a4b", "", "0193a4bz", "no-such-task", ID + "0", "0193a4b2/c3"])
def test_too_short_too_long_or_not_hex_is_no_prefix(text: str) -> None:
    assert id_prefix(text) is None


def test_an_abbreviation_goes_one_character_past_what_it_shares() -> None:
    same_ms = "0193a4b2-c3d4-7a20-9000-000000000000"
    next_minute = "0193a4b3-0000-7000-8000-000000000000"

    assert short_length(ID, []) == MIN_PREFIX_DIGITS
    assert short_length(ID, [ID, next_minute]) == MIN_PREFIX_DIGITS
    assert ID[: short_length(ID, [same_ms])] == "0193a4b2-c3d4-7a1"
    # never ending on a dash: one character more, a digit that tells them apart
    assert ID[: short_length(ID, ["0193a4b2-c3d5-0000-8000-000000000000"])] == "0193a4b2-c3d4"
    assert ID[: short_length(ID, ["0193a4b2-c3d4-0000-8000-000000000000"])] == "0193a4b2-c3d4-7"


def test_every_id_with_a_prefix_is_logged_inside_its_range() -> None:
    rng = random.Random(7)
    ids = [new_task_id() for _ in range(300)]
    for task_id in ids:
        for cut in range(1, 37):
            prefix = task_id[:cut].rstrip("-")
            low, high = (parse_log_id(x) for x in log_range(prefix))
            logged = parse_log_id(log_entry(task_id)[0])
            assert low <= logged <= high, (task_id, prefix)
        other = ids[rng.randrange(len(ids))]
        if not other.startswith(task_id[:20]):
            low, high = (parse_log_id(x) for x in log_range(task_id[:24]))
            assert not low <= parse_log_id(log_entry(other)[0]) <= high
