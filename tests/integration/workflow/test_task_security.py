"""Who may call which label and task route: each role and an anonymous caller, per route.

The world: `annotator` works on `own` (in progress), another annotator has
`other`, `free` is an unassigned label task and `free_review` an unassigned
review task. Expected codes are (admin, annotator, reviewer); anonymous is
always 401. A route missing from the table fails `test_every_route_is_covered`.

A non-admin who may not see a task (someone else's, or one they could not take) hears the
404 of a task that does not exist, so task ids cannot be probed; those who see it (its
assignee, whoever could take it) and admins still hear the precise reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelstack import api
from labelstack.db.enums import TaskStatus, TaskType
from labelstack.db.models import User
from labelstack.services.accounts import auth
from labelstack.services.security import hash_password
from labelstack.services.workflow import transitions
from labelstack.services.workflow.transitions import TaskCreate
from tests.integration.workflow import task_helpers as h

ROLES = ["admin", "annotator", "reviewer"]
_HASH = hash_password("not-used-here")  # users are inserted directly: hashing is slow

ROUTES = [
    ("GET", "/labels", None, (200, 200, 200)),
    ("POST", "/labels", {"name": "New"}, (201, 403, 403)),
    ("GET", "/labels/{label}", None, (200, 200, 200)),
    ("PATCH", "/labels/{label}", {"color": "#000000"}, (200, 403, 403)),
    ("DELETE", "/labels/{spare_label}", None, (204, 403, 403)),
    ("POST", "/label-assignments", {"label_id": "{label}", "series_ids": ["{s2}"]},
     (200, 403, 403)),
    ("GET", "/label-assignments", None, (200, 403, 403)),
    ("GET", "/label-assignments?task_id={own}", None, (200, 200, 404)),
    ("GET", "/label-assignments?task_id={other}", None, (200, 404, 404)),
    ("GET", "/label-assignments?task_id=999999", None, (404, 404, 404)),
    ("DELETE", "/label-assignments/{pair_free}", None, (204, 403, 403)),
    ("GET", "/tasks", None, (200, 200, 200)),
    ("POST", "/tasks", {"type": "label", "name": "n", "series_ids": ["{s4}"]}, (201, 403, 403)),
    ("PATCH", "/tasks", {"ids": ["{other}"], "changes": {"priority": "high"}}, (200, 403, 403)),
    ("GET", "/tasks/{own}", None, (200, 200, 404)),
    ("GET", "/tasks/{other}", None, (200, 404, 404)),
    ("GET", "/tasks/{free}", None, (200, 200, 404)),
    ("GET", "/tasks/{free_review}", None, (200, 404, 200)),
    ("GET", "/tasks/999999", None, (404, 404, 404)),
    ("PATCH", "/tasks/{own}", {"name": "x"}, (200, 403, 403)),
    ("PATCH", "/tasks/{other}", {"assignee_id": "{annotator}"}, (200, 403, 403)),
    ("PATCH", "/tasks/999999", {"name": "x"}, (404, 403, 403)),
    ("POST", "/tasks/{own}/status", {"status": "done"}, (409, 200, 404)),
    ("POST", "/tasks/{own}/status", {"status": "cancelled"}, (200, 409, 404)),
    ("POST", "/tasks/{other}/status", {"status": "in_progress"}, (409, 404, 404)),
    ("POST", "/tasks/{free}/status", {"status": "open"}, (409, 403, 404)),
    ("POST", "/tasks/999999/status", {"status": "open"}, (404, 404, 404)),
    ("POST", "/tasks/{own}/take", None, (403, 409, 404)),
    ("POST", "/tasks/{other}/take", None, (403, 404, 404)),
    ("POST", "/tasks/{free}/take", None, (403, 200, 404)),
    ("POST", "/tasks/{free_review}/take", None, (403, 404, 200)),
    ("POST", "/tasks/999999/take", None, (404, 404, 404)),
    ("GET", "/tasks/{own}/items", None, (200, 200, 404)),
    ("GET", "/tasks/{other}/items", None, (200, 404, 404)),
    ("GET", "/tasks/{free}/items", None, (200, 200, 404)),
    ("GET", "/tasks/999999/items", None, (404, 404, 404)),
    ("POST", "/tasks/{own}/labels", {"label_id": "{label}"}, (403, 200, 404)),
    ("POST", "/tasks/{other}/labels", {"label_id": "{label}"}, (403, 404, 404)),
    ("POST", "/tasks/999999/labels", {"label_id": "{label}"}, (404, 404, 404)),
    ("DELETE", "/tasks/{own}/labels/{pair_own}", None, (403, 204, 404)),
    ("DELETE", "/tasks/{other}/labels/{pair_other}", None, (403, 404, 404)),
    ("DELETE", "/tasks/999999/labels/{pair_other}", None, (404, 404, 404)),
]
CASES = [pytest.param(method, path, body, role, codes[ROLES.index(role)] if role in ROLES
                      else 401, id=f"{method} {path} as {role}")
         for method, path, body, codes in ROUTES for role in [*ROLES, "anonymous"]]


@pytest.mark.parametrize("method,path,body,role,expected", CASES)
def test_route_access(client: TestClient, session: Session, method: str, path: str,
                      body: dict | None, role: str, expected: int) -> None:
    ids, headers = _world(session)
    fill: Callable[[object], object] = lambda v: _fill(v, ids)  # noqa: E731
    r = client.request(method, "/api/v1" + str(fill(path)), json=fill(body),
                       headers=headers.get(role, {}))
    assert r.status_code == expected, r.text
    if expected >= 400:
        assert "detail" in r.json()


HIDDEN_ROUTES = [
    ("GET", "/tasks/{task}", None),
    ("POST", "/tasks/{task}/status", {"status": "in_progress"}),
    ("POST", "/tasks/{task}/take", None),
    ("GET", "/tasks/{task}/items", None),
    ("POST", "/tasks/{task}/labels", {"label_id": "{label}"}),
    ("DELETE", "/tasks/{task}/labels/{pair_other}", None),
    ("GET", "/label-assignments?task_id={task}", None),
]


@pytest.mark.parametrize("method,path,body", HIDDEN_ROUTES)
@pytest.mark.parametrize("role,task", [("annotator", "other"), ("annotator", "free_review"),
                                       ("reviewer", "own"), ("reviewer", "free")])
def test_a_task_one_may_not_see_answers_like_a_missing_one(
        client: TestClient, session: Session, method: str, path: str, body: dict | None,
        role: str, task: str) -> None:
    ids, headers = _world(session)

    def answer(task_id: int) -> tuple[int, str]:
        world = {**ids, "task": task_id}
        r = client.request(method, "/api/v1" + str(_fill(path, world)), json=_fill(body, world),
                           headers=headers[role])
        return r.status_code, r.json()["detail"].replace(str(task_id), "N")

    assert answer(ids[task]) == answer(999_999) == (404, "task N not found")


def test_those_who_may_see_a_task_still_hear_why(client: TestClient, session: Session) -> None:
    ids, headers = _world(session)

    def answer(role: str, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        r = client.request(method, "/api/v1" + str(_fill(path, ids)), json=body,
                           headers=headers[role])
        return r.status_code, r.json().get("detail", "")

    assert answer("annotator", "POST", "/tasks/{own}/take") == (409, "this task is already yours")
    assert answer("annotator", "POST", "/tasks/{own}/status", {"status": "cancelled"}) \
        == (409, "cannot change a task from in_progress to cancelled")
    assert answer("annotator", "POST", "/tasks/{free}/status", {"status": "in_progress"}) \
        == (403, "this is not your task")
    assert answer("reviewer", "POST", "/tasks/{free_review}/take")[0] == 200
    assert answer("reviewer", "POST", "/tasks/{free_review}/take") \
        == (409, "this task is already yours")
    assert answer("reviewer", "POST", "/tasks/{free_review}/status", {"status": "done"}) \
        == (409, "cannot change a task from open to done")
    assert answer("admin", "POST", "/tasks/{other}/take") \
        == (403, "taking a label task needs the annotator role")
    assert answer("admin", "GET", "/tasks/999999") == (404, "task 999999 not found")


def test_every_route_is_covered() -> None:
    app = FastAPI()
    api.install(app)
    mine = {(m, r.path.removeprefix("/api/v1")) for r in app.routes if isinstance(r, APIRoute)
            for m in r.methods - {"HEAD"}
            if re.match(r"/api/v1/(labels|label-assignments|tasks)\b", r.path)}
    table = {(m, re.sub(r"\{[a-z_]+\}|\d+", "{}", p.split("?")[0])) for m, p, _, _ in ROUTES}
    assert {(m, re.sub(r"\{[a-z_]+\}", "{}", p)) for m, p in mine} <= table


def _world(session: Session) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    users = {}
    for name, roles in [("admin", "admin"), ("annotator", "annotator"),
                        ("reviewer", "reviewer"), ("other", "annotator")]:
        users[name] = User(email=f"{name}@example.org", password_hash=_HASH, roles=roles)
        session.add(users[name])
    session.commit()
    admin = users["admin"]
    s1, s2, s3, s4 = h.images(session, 4)
    label, spare = h.label(session), h.label(session)
    pair_own = h.assignment(session, label.id, s1, created_by_id=admin.id)
    pair_other = h.assignment(session, label.id, s2, created_by_id=admin.id)
    pair_free = h.assignment(session, spare.id, s4)
    work = h.annotation(session, h.assignment(session, spare.id, s3).id, users["other"].id)

    def task(task_type: TaskType, assignee: User | None, **items: list[int]) -> int:
        return transitions.create_task(session, actor=admin, data=TaskCreate(
            type=task_type, name=str(task_type), assignee_id=assignee.id if assignee else None,
            **items)).id

    own = task(TaskType.label, users["annotator"], series_ids=[s1])
    transitions.set_status(session, actor=users["annotator"], task_id=own,
                     status=TaskStatus.in_progress)
    ids = {"own": own, "other": task(TaskType.label, users["other"], series_ids=[s2]),
           "free": task(TaskType.label, None, series_ids=[s3]),
           "free_review": task(TaskType.review, None, annotation_ids=[work.id]),
           "label": label.id, "spare_label": h.label(session).id, "pair_own": pair_own.id,
           "pair_other": pair_other.id, "pair_free": pair_free.id, "s2": s2, "s4": s4,
           "annotator": users["annotator"].id}
    headers = {role: {"Authorization": f"Bearer {auth.issue_token(session, users[role])}"}
               for role in ROLES}
    return ids, headers


def _fill(value: object, ids: dict[str, int]) -> object:
    """Put the world's ids into a path or body template; a whole "{name}" becomes an int."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and not value.startswith("/"):
            return ids[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value
