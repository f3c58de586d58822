"""Who may call which annotation-workflow route: one table, every role, plus anonymous.

The world: `author` has annotation W (saved, its task in progress) and
annotation R (saved, its task done, now in `reviewer`'s running review task).
`other` is an annotator with no part in either.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, Review
from labelstack.services.annotations import revisions
from labelstack.services.workflow import transitions
from tests.integration.workflow.annotation_helpers import (
    annotation_task,
    blob,
    make_assignment,
    npy,
    review_task,
)

ROLES = ("admin", "author", "other", "anonymous", "reviewer")  # reviewer last: it decides


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expect: dict[str, int]  # by role
    body: str | None = None  # "json:<kind>" or "npy"


def _all(code: int, **overrides: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, code), "anonymous": 401, **overrides}


OWN_ONLY = _all(200, other=403, reviewer=403)
OWN_OR_REVIEWING = _all(200, other=403)
ADMIN_ONLY = _all(403, admin=200)

CASES = [
    Case("GET", "/annotations", _all(200)),
    Case("GET", "/annotations/{W}", OWN_ONLY),
    Case("GET", "/annotations/{R}", OWN_OR_REVIEWING),
    Case("GET", "/annotations/{W}/revisions", OWN_ONLY),
    Case("GET", "/annotations/{R}/revisions", OWN_OR_REVIEWING),
    Case("GET", "/annotations/{W}/revisions/1/mask", OWN_ONLY),
    Case("GET", "/annotations/{R}/revisions/1/mask", OWN_OR_REVIEWING),
    Case("POST", "/annotations/{W}/revisions", _all(403, author=201), body="npy"),
    Case("POST", "/annotations/{R}/revisions", _all(403, author=409), body="npy"),
    Case("POST", "/annotations/rework", _all(403, admin=409), body="json:rework"),
    Case("GET", "/annotations/{R}/comments", OWN_OR_REVIEWING),
    Case("POST", "/annotations/{R}/comments", _all(201, other=403), body="json:comment"),
    Case("POST", "/annotations/{W}/comments", _all(201, other=403, reviewer=403),
         body="json:comment"),
    Case("GET", "/label-assignments/{LA}/history", _all(200)),
    Case("GET", "/reviews", _all(200)),
    Case("GET", "/reviews/{REV}", OWN_OR_REVIEWING),
    Case("POST", "/reviews/{REV}", _all(403, reviewer=200), body="json:accept"),
    Case("GET", "/audit-events", ADMIN_ONLY),
    Case("GET", "/stats/users", ADMIN_ONLY),
    Case("GET", "/stats/users/{AUTHOR}", _all(403, admin=200, author=200)),
    Case("GET", "/stats/me", _all(200)),
]


@pytest.fixture
def world(session: Session, make_user, token_for):
    admin, author = make_user("admin"), make_user("annotator")
    other, reviewer = make_user("annotator"), make_user("reviewer")
    done = annotation_task(session, admin, author, [make_assignment(session)])
    r = session.exec(select(Annotation).where(Annotation.task_id == done.id)).one()
    revisions.save_mask(session, actor=author, annotation_id=r.id, mask=blob())
    transitions.set_status(session, actor=author, task_id=done.id, status=TaskStatus.done)
    check = review_task(session, admin, reviewer, [r.id])
    review = session.exec(select(Review).where(Review.task_id == check.id)).one()
    running = annotation_task(session, admin, author, [make_assignment(session)])
    w = session.exec(select(Annotation).where(Annotation.task_id == running.id)).one()
    revisions.save_mask(session, actor=author, annotation_id=w.id, mask=blob())
    ids = {"W": w.id, "R": r.id, "LA": r.label_assignment_id, "REV": review.id,
           "AUTHOR": author.id}
    users = {"admin": admin, "author": author, "other": other, "reviewer": reviewer}
    headers = {role: token_for(user) for role, user in users.items()}
    return ids, {**headers, "anonymous": {}}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_route_access_by_role(client: TestClient, world, case: Case) -> None:
    ids, headers = world
    url = "/api/v1" + case.path.format(**ids)
    sizes = itertools.count(3)
    got = {}
    for role in ROLES:
        kwargs: dict = {"headers": headers[role]}
        if case.body == "npy":
            kwargs["content"] = npy(blob(size=next(sizes)))
        elif case.body:
            kwargs["json"] = {"json:rework": {"annotation_ids": [ids["R"]]},
                              "json:comment": {"text": f"from {role}"},
                              "json:accept": {"result": "accepted"}}[case.body]
        got[role] = client.request(case.method, url, **kwargs).status_code
    assert got == case.expect
