"""The wake-up hub: a signal set before the wait is not missed, whatever the wait's length."""

from taskline.backends.wakeup import WakeupHub


async def test_a_signal_set_before_a_zero_wait_is_seen() -> None:
    hub = WakeupHub()
    with hub.watch(["q"]) as signal:
        hub.work_ready("q")

        assert await signal.wait(0) is True
        assert await signal.wait(0) is False  # consumed by the first wait


async def test_only_watchers_of_the_queue_are_woken() -> None:
    hub = WakeupHub()
    with hub.watch(["a"]) as a, hub.watch(None) as anything:
        hub.work_ready("b")

        assert await a.wait(0) is False
        assert await anything.wait(0) is True
