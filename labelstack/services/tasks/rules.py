"""The task status machine as pure functions over plain values.

No database here, so the whole table can be unit-tested and fuzzed, and the
service, the UI and the property tests share exactly one copy of the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labelstack.db.enums import Role, TaskStatus, TaskType
from labelstack.services.errors import Conflict, Forbidden

S = TaskStatus

FLOW: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.unassigned: frozenset({S.open, S.cancelled}),
    S.open: frozenset({S.in_progress, S.cancelled, S.unassigned}),
    S.in_progress: frozenset({S.done, S.cancelled}),
    S.done: frozenset({S.open}),
    S.cancelled: frozenset({S.open}),
}
"""Every structurally possible change; who may make it is `permitted`'s business."""

ACTIVE = frozenset({S.unassigned, S.open, S.in_progress})
ORDER = list(TaskStatus)
ROLE_FOR_TYPE: dict[TaskType, Role] = {
    TaskType.label: Role.annotator,
    TaskType.annotation: Role.annotator,
    TaskType.review: Role.reviewer,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Who:
    """The acting user as far as the rules care."""

    is_admin: bool
    is_assignee: bool


def permitted(current: TaskStatus, target: TaskStatus, *, who: Who, has_assignee: bool) -> bool:
    """Whether `who` may move a task from `current` to `target` with the status action."""
    if target not in FLOW[current]:
        return False
    if target in (S.cancelled, S.unassigned):
        return who.is_admin  # cancelling and unassigning are management
    if target == S.open:
        return who.is_admin and has_assignee  # reopening; open always needs an assignee
    return who.is_assignee  # starting and finishing is the assignee's own work


def allowed_next(current: TaskStatus, *, who: Who, has_assignee: bool) -> list[TaskStatus]:
    """The states `who` may move the task to, in flow order (sent with every refusal)."""
    return [t for t in ORDER if permitted(current, t, who=who, has_assignee=has_assignee)]


def check_transition(current: TaskStatus, target: TaskStatus, *, who: Who,
                     has_assignee: bool) -> None:
    """Raise Conflict (409) with the allowed next states unless the change is permitted."""
    if permitted(current, target, who=who, has_assignee=has_assignee):
        return
    allowed = allowed_next(current, who=who, has_assignee=has_assignee)
    hint = ""
    if target == S.open and not has_assignee:
        hint = "; open needs an assignee: assign the task or take it"
    elif target in FLOW[current] and not allowed:
        hint = "; you may not change this task's status"
    raise Conflict(f"cannot change a task from {current} to {target}{hint}",
                   allowed=[str(s) for s in allowed])


def status_after_assignment(current: TaskStatus, *, before: int | None,
                            after: int | None) -> TaskStatus:
    """The status that follows changing the assignee from `before` to `after`.

    Assigning an unassigned task opens it, unassigning an open task makes it
    unassigned; in-progress and done tasks keep their assignee (the work and
    its history belong to them), a cancelled one may be re-assigned before
    a reopen.
    """
    if before == after:
        return current
    if current in (S.unassigned, S.open):
        return S.open if after is not None else S.unassigned
    if current == S.cancelled:
        return current
    raise Conflict(f"a {current} task keeps its assignee; cancel it first",
                   allowed=[str(s) for s in ORDER if s in FLOW[current]])


def may_do_type(roles: Iterable[str], task_type: TaskType) -> bool:
    """Label and annotation tasks are annotators' work, review tasks reviewers'."""
    return str(ROLE_FOR_TYPE[task_type]) in set(roles)


def check_take(current: TaskStatus, *, task_type: TaskType, roles: Iterable[str],
               assignee: int | None, actor: int) -> None:
    """Taking an unassigned task for oneself; refuses tasks someone already has."""
    if not may_do_type(roles, task_type):
        raise Forbidden(f"taking a {task_type} task needs the {ROLE_FOR_TYPE[task_type]} role")
    if assignee == actor:
        raise Conflict("this task is already yours")
    if current != S.unassigned or assignee is not None:
        raise Conflict(f"only unassigned tasks can be taken; this one is {current}")
