"""What the details pages and My tasks read: a task's items, reviews and history as sentences,
the read rule (others get "not found"), an image's labels, versions and tasks, rejections as
their author sees them, and why a label cannot be removed; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from labelstack.db.enums import TaskStatus
from labelstack.db.models import Annotation, Label, Review, Series
from labelstack.services.annotations import reviews, revisions
from labelstack.services.errors import Forbidden, NotFound
from labelstack.services.labels import catalog as labels
from labelstack.services.workflow import rework, transitions
from labelstack.services.workflow.edits import TaskUpdate, update_task
from labelstack.services.workflow.image_details import image_details
from labelstack.services.workflow.task_details import task_details
from tests.integration.workflow.annotation_helpers import (
    annotation_task,
    blob,
    make_assignment,
    review_task,
)


@pytest.fixture
def rejected(session: Session, make_user):
    """Annotator's work saved and finished, then rejected by a reviewer with a comment."""
    admin, ann, rev = (make_user("admin", email="ada@example.org"), make_user("annotator"),
                       make_user("reviewer"))
    for user, name in ((admin, "Ada"), (ann, "Ann"), (rev, "Rey")):
        user.name = name
        session.add(user)
    session.commit()
    assignment = make_assignment(session, name="Liver")
    work = annotation_task(session, admin, ann, [assignment])
    target = session.exec(select(Annotation).where(Annotation.task_id == work.id)).one()
    revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(), time_spent=5)
    transitions.set_status(session, actor=ann, task_id=work.id, status=TaskStatus.done)
    check = review_task(session, admin, rev, [target.id])
    review = session.exec(select(Review).where(Review.task_id == check.id)).one()
    reviews.decide_review(session, actor=rev, review_id=review.id, result="rejected",
                          comment="misses the edge")
    return admin, ann, rev, work, check, target, assignment


def test_a_tasks_history_is_told_in_sentences_in_order(session, rejected) -> None:
    admin, ann, _, work, check, _, _ = rejected
    update_task(session, actor=admin, task_id=work.id, data=TaskUpdate(priority="urgent"))
    details = task_details(session, actor=admin, task_id=work.id)
    assert [e.sentence for e in details.history] == [
        "Ada created the task (1 item) for Ann",
        "Ann started the task",
        f"Ann saved Liver on {details.items[0].image}",
        "Ann finished the task",
        "Ada changed the priority from normal to urgent",
    ]
    assert (details.assignee, details.creator) == ("Ann", "Ada")
    assert [(i.label, i.done) for i in details.items] == [("Liver", True)]
    review = task_details(session, actor=admin, task_id=check.id)
    assert [(r.reviewer, r.result, r.comment) for r in review.reviews] == [
        ("Rey", "rejected", "misses the edge")]
    assert review.history[-1].sentence.endswith("rejected Liver on "
                                                f"{details.items[0].image}: “misses the edge”")
    assert [a.status for a in review.annotations] == ["rejected"]


def test_a_task_that_is_not_yours_is_not_found_like_a_missing_one(session, rejected,
                                                                  make_user) -> None:
    _, ann, rev, work, check, _, _ = rejected
    assert task_details(session, actor=ann, task_id=work.id).task.id == work.id
    with pytest.raises(NotFound, match=f"task {check.id} not found"):
        task_details(session, actor=ann, task_id=check.id)
    with pytest.raises(NotFound, match="task 999999 not found"):
        task_details(session, actor=rev, task_id=999_999)
    with pytest.raises(NotFound):
        task_details(session, actor=make_user("annotator"), task_id=work.id)


def test_the_author_learns_of_the_rejection_and_then_of_its_rework(session, rejected,
                                                                   make_user) -> None:
    admin, ann, _, work, _, target, _ = rejected
    (seen,) = rework.rejections(session, actor=ann, task_ids=[work.id])[work.id]
    assert (seen.reviewer, seen.comment, seen.rework_task_id) == ("Rey", "misses the edge", None)
    assert seen.annotation.startswith("Liver on ")
    assert rework.rejections(session, actor=make_user("annotator"), task_ids=[work.id]) == {}
    again = rework.rework_rejected(session, actor=admin, annotation_ids=[target.id],
                                   assignee_id=ann.id)
    (seen,) = rework.rejections(session, actor=ann, task_ids=[work.id])[work.id]
    assert (seen.rework_task_id, seen.rework_status, seen.rework_assignee_id) == (
        again.id, "open", ann.id)


def test_an_images_details_list_its_labels_versions_and_tasks(session, rejected,
                                                              make_user) -> None:
    admin, _, _, work, check, _, assignment = rejected
    uid = session.get(Series, assignment.series_id).series_uid
    details = image_details(session, actor=admin, series_uid=uid)
    assert [(lb.label, lb.versions) for lb in details.labels] == [("Liver", 1)]
    assert [(a.label, a.version, a.status) for a in details.annotations] == [
        ("Liver", 1, "rejected")]
    assert {t.id for t in details.tasks} == {work.id, check.id}
    assert [s.series_uid for s in details.study] == [uid]
    with pytest.raises(Forbidden):
        image_details(session, actor=make_user("annotator"), series_uid=uid)
    with pytest.raises(NotFound):
        image_details(session, actor=admin, series_uid="1.2.3.999")


def test_removal_blockers_say_why_before_anyone_tries(session, rejected, make_user) -> None:
    admin, _, _, _, _, _, drawn = rejected
    free = make_assignment(session, name="Spleen")
    planned = make_assignment(session, name="Kidney")
    transitions.create_task(session, actor=admin, data=transitions.TaskCreate(
        type="annotation", name="later", label_assignment_ids=[planned.id]))
    assert labels.removal_blockers(session, [drawn.id, free.id, planned.id]) == {
        drawn.id: "has annotations", planned.id: "is an item of a task"}
    by_name = {lb.name: lb.id for lb in session.exec(select(Label)).all()}
    assert "has annotations" in labels.deletion_blocker(session, actor=admin,
                                                         label_id=by_name["Liver"])
    assert "used by tasks" in labels.deletion_blocker(session, actor=admin,
                                                      label_id=by_name["Kidney"])
    assert labels.deletion_blocker(session, actor=admin, label_id=by_name["Spleen"]) is None
    labels.delete_label(session, actor=admin, label_id=by_name["Spleen"])  # as it said
