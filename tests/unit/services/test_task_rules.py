"""The whole task status table, per kind of actor, plus a property test over random histories."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelstack.db.enums import TaskStatus, TaskType
from labelstack.services.errors import Conflict, Forbidden
from labelstack.services.tasks.rules import (
    ACTIVE,
    FLOW,
    Who,
    allowed_next,
    check_take,
    check_transition,
    permitted,
    status_after_assignment,
)

S = TaskStatus
ACTORS = {
    "admin": Who(is_admin=True, is_assignee=False),
    "admin_assignee": Who(is_admin=True, is_assignee=True),
    "assignee": Who(is_admin=False, is_assignee=True),
    "other": Who(is_admin=False, is_assignee=False),
}
# (status, has_assignee) -> actor -> the states the status action may move it to.
EXPECTED: dict[tuple[S, bool], dict[str, set[S]]] = {
    (S.unassigned, False): {"admin": {S.cancelled}, "admin_assignee": {S.cancelled},
                            "assignee": set(), "other": set()},
    (S.open, True): {"admin": {S.cancelled, S.unassigned},
                     "admin_assignee": {S.cancelled, S.unassigned, S.in_progress},
                     "assignee": {S.in_progress}, "other": set()},
    (S.in_progress, True): {"admin": {S.cancelled}, "admin_assignee": {S.cancelled, S.done},
                            "assignee": {S.done}, "other": set()},
    (S.done, True): {"admin": {S.open}, "admin_assignee": {S.open}, "assignee": set(),
                     "other": set()},
    (S.cancelled, True): {"admin": {S.open}, "admin_assignee": {S.open}, "assignee": set(),
                          "other": set()},
    (S.cancelled, False): {"admin": set(), "admin_assignee": set(), "assignee": set(),
                           "other": set()},
}
CASES = [
    pytest.param(status, has, actor, target, target in allowed,
                 id=f"{status}{'' if has else '-nobody'}->{target}-by-{actor}")
    for (status, has), per_actor in EXPECTED.items()
    for actor, allowed in per_actor.items()
    for target in S
]


@pytest.mark.parametrize("status,has_assignee,actor,target,ok", CASES)
def test_transition_table(status: S, has_assignee: bool, actor: str, target: S, ok: bool) -> None:
    who = ACTORS[actor]
    assert permitted(status, target, who=who, has_assignee=has_assignee) is ok
    expected_allowed = [s for s in S if s in EXPECTED[(status, has_assignee)][actor]]
    assert allowed_next(status, who=who, has_assignee=has_assignee) == expected_allowed
    if ok:
        check_transition(status, target, who=who, has_assignee=has_assignee)
    else:
        with pytest.raises(Conflict) as refused:
            check_transition(status, target, who=who, has_assignee=has_assignee)
        assert refused.value.extra["allowed"] == [str(s) for s in expected_allowed]


# The documented flow (docs: "unassigned → open → in_progress → done, cancelled from any
# active state, and an admin may reopen"), plus the admin's unassign of an open task; written
# out by hand, not derived from the rules module.
DOCUMENTED_FLOW = {
    (S.unassigned, S.open), (S.open, S.in_progress), (S.in_progress, S.done),
    (S.unassigned, S.cancelled), (S.open, S.cancelled), (S.in_progress, S.cancelled),
    (S.done, S.open), (S.cancelled, S.open),
    (S.open, S.unassigned),
}


def test_the_status_action_allows_exactly_the_documented_flow() -> None:
    """Some actor, with or without an assignee on the task, may make each documented change
    with the status action, and nobody may make any other."""
    possible = {(status, target) for status in S for target in S for who in ACTORS.values()
                for has_assignee in (True, False)
                if permitted(status, target, who=who, has_assignee=has_assignee)}
    assert possible == DOCUMENTED_FLOW
    assert {(status, target) for status in S for target in FLOW[status]} == DOCUMENTED_FLOW


def test_active_states_are_those_a_task_can_be_cancelled_from() -> None:
    admin = ACTORS["admin"]
    cancellable = {status for status in S for has_assignee in (True, False)
                   if permitted(status, S.cancelled, who=admin, has_assignee=has_assignee)}
    assert cancellable == set(ACTIVE)


def test_open_without_assignee_names_the_reason() -> None:
    with pytest.raises(Conflict, match="open needs an assignee"):
        check_transition(S.unassigned, S.open, who=ACTORS["admin"], has_assignee=False)


ASSIGNMENT_CASES = [
    pytest.param(S.unassigned, None, 7, S.open, id="assigning-opens"),
    pytest.param(S.open, 7, None, S.unassigned, id="unassigning-unassigns"),
    pytest.param(S.open, 7, 8, S.open, id="reassigning-open"),
    pytest.param(S.open, 7, 7, S.open, id="same-assignee"),
    pytest.param(S.unassigned, None, None, S.unassigned, id="nobody-to-nobody"),
    pytest.param(S.cancelled, None, 7, S.cancelled, id="cancelled-gets-assignee"),
    pytest.param(S.cancelled, 7, None, S.cancelled, id="cancelled-loses-assignee"),
    pytest.param(S.in_progress, 7, 8, None, id="in-progress-keeps-assignee"),
    pytest.param(S.in_progress, 7, None, None, id="in-progress-not-unassigned"),
    pytest.param(S.done, 7, 8, None, id="done-keeps-assignee"),
]


@pytest.mark.parametrize("status,before,after,expected", ASSIGNMENT_CASES)
def test_status_after_assignment(status: S, before: int | None, after: int | None,
                                 expected: S | None) -> None:
    if expected is None:
        with pytest.raises(Conflict):
            status_after_assignment(status, before=before, after=after)
    else:
        assert status_after_assignment(status, before=before, after=after) == expected


TAKE_CASES = [
    pytest.param(S.unassigned, TaskType.label, {"annotator"}, None, None, id="annotator-label"),
    pytest.param(S.unassigned, TaskType.annotation, {"annotator"}, None, None, id="annot-annot"),
    pytest.param(S.unassigned, TaskType.review, {"reviewer"}, None, None, id="reviewer-review"),
    pytest.param(S.unassigned, TaskType.review, {"annotator"}, None, Forbidden, id="annot-review"),
    pytest.param(S.unassigned, TaskType.label, {"reviewer"}, None, Forbidden, id="reviewer-label"),
    pytest.param(S.unassigned, TaskType.label, {"admin"}, None, Forbidden, id="admin-only"),
    pytest.param(S.open, TaskType.label, {"annotator"}, 2, Conflict, id="someone-elses"),
    pytest.param(S.open, TaskType.label, {"annotator"}, 1, Conflict, id="already-mine"),
    pytest.param(S.cancelled, TaskType.label, {"annotator"}, None, Conflict, id="cancelled"),
    pytest.param(S.done, TaskType.review, {"reviewer"}, 2, Conflict, id="done"),
]


@pytest.mark.parametrize("status,task_type,roles,assignee,error", TAKE_CASES)
def test_take(status: S, task_type: TaskType, roles: set[str], assignee: int | None,
              error: type[Exception] | None) -> None:
    if error is None:
        check_take(status, task_type=task_type, roles=roles, assignee=assignee, actor=1)
    else:
        with pytest.raises(error):
            check_take(status, task_type=task_type, roles=roles, assignee=assignee, actor=1)


# --- property: random histories by random actors never break a rule -----------------------

USERS = {1: {"admin"}, 2: {"annotator"}, 3: {"annotator"}, 4: {"reviewer"}}
actions = st.lists(st.tuples(
    st.sampled_from(["status", "assign", "take"]),
    st.sampled_from(sorted(USERS)),
    st.sampled_from(list(S)),
    st.sampled_from([None, *USERS]),
), max_size=40)


def _may_do(user: int, task_type: TaskType) -> bool:
    return ("reviewer" if task_type == TaskType.review else "annotator") in USERS[user]


@settings(max_examples=400, deadline=None)
@given(task_type=st.sampled_from(list(TaskType)), start_assignee=st.sampled_from([None, 2, 4]),
       history=actions)
def test_random_histories_keep_every_rule(task_type: TaskType, start_assignee: int | None,
                                          history: list[tuple[str, int, S, int | None]]) -> None:
    if start_assignee is not None and not _may_do(start_assignee, task_type):
        start_assignee = None
    status, assignee = (S.open if start_assignee else S.unassigned), start_assignee
    for kind, user, target, new_assignee in history:
        is_admin = "admin" in USERS[user]
        who = Who(is_admin=is_admin, is_assignee=assignee == user)
        before = (status, assignee)
        try:
            if kind == "status":
                check_transition(status, target, who=who, has_assignee=assignee is not None)
                assert target in FLOW[status]
                assert is_admin or assignee == user, "only the assignee or an admin acts"
                if target in (S.cancelled, S.unassigned) or status in (S.done, S.cancelled):
                    assert is_admin, "cancel, unassign and reopen are admin actions"
                if target == S.cancelled:
                    assert status in ACTIVE, "only an active task can be cancelled"
                status = target
                assignee = None if target == S.unassigned else assignee
            elif kind == "assign":
                if not is_admin:
                    continue  # the service refuses editing to non-admins before the rules
                if new_assignee is not None and not _may_do(new_assignee, task_type):
                    continue  # the service refuses an assignee without the role
                status = status_after_assignment(status, before=assignee, after=new_assignee)
                assignee = new_assignee
            else:
                check_take(status, task_type=task_type, roles=USERS[user], assignee=assignee,
                           actor=user)
                assert before == (S.unassigned, None) and _may_do(user, task_type)
                status, assignee = S.open, user
        except (Conflict, Forbidden):
            assert (status, assignee) == before, "a refused action changes nothing"
        # invariants after every step
        if status in (S.open, S.in_progress, S.done):
            assert assignee is not None, f"{status} needs an assignee"
        if status == S.unassigned:
            assert assignee is None
        if assignee is not None:
            assert _may_do(assignee, task_type) or status == S.cancelled
        assert status in FLOW
