"""A worker whose polls fail waits longer each time, up to 5 s, and never two workers alike."""

from taskline.worker.runner import _poll_pause_s


def test_the_pause_after_failed_polls_doubles_up_to_five_seconds_with_jitter() -> None:
    for failed, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (50, 5.0)]:
        pauses = {_poll_pause_s(failed) for _ in range(200)}
        assert all(ceiling / 2 <= pause <= ceiling for pause in pauses), (failed, min(pauses), max(pauses))
        assert len(pauses) > 100  # drawn, so a fleet that failed together does not retry together
