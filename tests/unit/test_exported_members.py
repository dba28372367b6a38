"""The public surface is what `taskline.__all__` says, and each name in it exists."""

import taskline


def test_the_public_surface_is_pinned() -> None:
    assert sorted(taskline.__all__) == ["App", "AsyncClient", "Client", "Fail", "Retry", "TaskContext", "__version__"]
    assert all(hasattr(taskline, name) for name in taskline.__all__)
