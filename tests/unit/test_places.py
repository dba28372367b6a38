"""Where a Redis process remembers tasks live (backends/redis/catalog.py `Places`): a task it
leased is held until it settles it, whatever passes meanwhile; other ids are among the last few;
so the table holds what is in flight plus a fixed number, not the last 100,000 ids of any kind."""

from taskline.backends.redis.catalog import Places


def test_a_leased_task_is_held_until_settled_whatever_passes_meanwhile() -> None:
    places = Places(recent=3)
    places.leased("long", "q", "slow")
    for n in range(100):
        places.remember(f"submitted-{n}", "q", "t")
    assert places.place_of("long") == ("q", "slow")
    places.settled("long")
    assert places.place_of("long") is None


def test_other_ids_are_the_last_few_seen() -> None:
    places = Places(recent=3)
    for n in range(5):
        places.remember(f"t{n}", "q", "t")
    assert [places.place_of(f"t{n}") for n in range(5)] == [None, None, ("q", "t"), ("q", "t"), ("q", "t")]
    assert len(places) == 3


def test_a_read_of_a_task_in_flight_does_not_demote_it() -> None:
    places = Places(recent=1)
    places.leased("running", "q", "t")
    places.remember("running", "q", "t")  # read by id (GET /tasks/{id}) while it runs
    places.remember("other", "q", "t")  # pushes the recent table's one entry out
    assert places.place_of("running") == ("q", "t")


def test_a_lease_moves_a_submitted_task_to_the_in_flight_table() -> None:
    places = Places(recent=10)
    places.remember("t", "q", "t")
    places.leased("t", "q", "t")
    assert len(places) == 1
    places.settled("t")
    assert len(places) == 0  # its submit is no reason to keep it once this process settled it


def test_leases_never_settled_are_bounded_too() -> None:
    # a worker killed with tasks leased: those leases expire elsewhere and are never settled here
    places = Places(in_flight=2)
    for n in range(4):
        places.leased(f"t{n}", "q", "t")
    assert len(places) == 2
    assert places.place_of("t3") == ("q", "t")


def test_settling_a_task_never_leased_here_is_harmless() -> None:
    places = Places()
    places.remember("t", "q", "t")
    places.settled("t")
    places.settled("unknown")
    assert places.place_of("t") == ("q", "t")
