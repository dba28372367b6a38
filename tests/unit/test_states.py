"""The transition table is SPEC §2's diagram, edge for edge."""

import pytest

from taskline.core.states import TERMINAL, TRANSITIONS, TaskState, ensure_transition
from taskline.errors import InvalidTransition

S = TaskState
SPEC_EDGES = {
    (S.PENDING, S.RUNNING), (S.PENDING, S.CANCELLED),
    (S.SCHEDULED, S.PENDING), (S.SCHEDULED, S.CANCELLED),
    (S.RUNNING, S.COMPLETED), (S.RUNNING, S.RETRYING), (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED), (S.RUNNING, S.PENDING),
    (S.RETRYING, S.PENDING), (S.RETRYING, S.CANCELLED),
    (S.FAILED, S.PENDING), (S.CANCELLED, S.PENDING),
}  # fmt: skip


def test_the_table_has_exactly_the_spec_edges() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == SPEC_EDGES
    assert set(TRANSITIONS) == set(TaskState)


@pytest.mark.parametrize("edge", sorted(SPEC_EDGES))
def test_spec_edges_are_allowed(edge: tuple[TaskState, TaskState]) -> None:
    ensure_transition(*edge)


@pytest.mark.parametrize("edge", [(a, b) for a in S for b in S if (a, b) not in SPEC_EDGES])
def test_other_moves_are_refused(edge: tuple[TaskState, TaskState]) -> None:
    with pytest.raises(InvalidTransition):
        ensure_transition(*edge)


def test_completed_is_final_and_terminal_states_are_the_three() -> None:
    assert TRANSITIONS[S.COMPLETED] == frozenset()
    assert frozenset({S.COMPLETED, S.FAILED, S.CANCELLED}) == TERMINAL
