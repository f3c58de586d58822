"""Reviews: creation with their task, the three results, rework, history."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from labelstack.db.enums import AnnotationStatus, TaskStatus
from labelstack.db.models import Annotation, AuditEvent, Review, Task
from labelstack.services.annotations import reads as annotations
from labelstack.services.annotations import review_steps, reviews, revisions
from labelstack.services.errors import Conflict, Forbidden, InvalidInput
from labelstack.services.workflow import rework, transitions
from tests.integration.workflow.annotation_helpers import (
    annotation_task,
    blob,
    make_assignment,
    review_task,
)


@pytest.fixture
def saved(session: Session, make_user):
    """An admin, an annotator with one saved annotation in a finished task, two reviewers."""
    admin, ann = make_user("admin"), make_user("annotator")
    task = annotation_task(session, admin, ann, [make_assignment(session)])
    target = session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(), time_spent=5)
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    session.refresh(target)
    return admin, ann, make_user("reviewer"), make_user("reviewer"), target


def _review(session: Session, task: Task) -> Review:
    return session.exec(select(Review).where(Review.task_id == task.id)).one()


def test_starting_a_review_task_opens_one_review_per_annotation(session, saved) -> None:
    admin, _, reviewer, _, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    review = _review(session, task)
    assert (review.sequence, review.reviewer_id, review.result) == (1, reviewer.id, None)
    session.refresh(target)
    assert target.status == AnnotationStatus.in_review
    assert review_steps.create_reviews_for_task(session, task=task, actor=reviewer) == []
    assert review_steps.undecided_reviews(session, task=task) == [review]


def test_finishing_needs_every_result_and_accept_makes_final(session, saved) -> None:
    admin, ann, reviewer, other, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    review = _review(session, task)
    with pytest.raises(Conflict) as refused:
        transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    assert refused.value.extra["review_ids"] == [review.id]
    with pytest.raises(Forbidden):
        reviews.decide_review(session, actor=other, review_id=review.id, result="accepted")
    with pytest.raises(InvalidInput, match="unknown review result"):
        reviews.decide_review(session, actor=reviewer, review_id=review.id, result="maybe")
    decision = reviews.decide_review(session, actor=reviewer, review_id=review.id,
                                     result="accepted", comment="clean")
    assert decision.annotation.status == AnnotationStatus.accepted
    assert decision.review.decided_at is not None and decision.correction is None
    with pytest.raises(Conflict, match="already decided"):
        reviews.decide_review(session, actor=reviewer, review_id=review.id, result="rejected",
                              comment="changed my mind")
    with pytest.raises(Conflict, match="no longer"):
        revisions.save_mask(session, actor=ann, annotation_id=target.id, mask=blob(size=3))
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    # final work is readable by everyone
    assert annotations.read_annotation(session, actor=other, annotation_id=target.id)


def test_reviewer_never_reviews_own_work(session, saved, make_user) -> None:
    admin, _, _, _, target = saved
    both = make_user("annotator", "reviewer")
    task = annotation_task(session, admin, both, [make_assignment(session)])
    own = session.exec(select(Annotation).where(Annotation.task_id == task.id)).one()
    revisions.save_mask(session, actor=both, annotation_id=own.id, mask=blob())
    with pytest.raises(Conflict, match="own"):
        review_task(session, admin, both, [own.id])


def test_decisions_only_inside_the_running_task(session, saved) -> None:
    admin, _, reviewer, _, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    review = _review(session, task)
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    with pytest.raises(Conflict, match="in-progress"):
        reviews.decide_review(session, actor=reviewer, review_id=review.id, result="accepted")
    # a new review task on the same annotation opens the next review in sequence
    again = review_task(session, admin, reviewer, [target.id])
    assert _review(session, again).sequence == 2


def test_reject_needs_a_comment_then_rework_makes_the_next_version(session, saved,
                                                                   make_user) -> None:
    admin, ann, reviewer, _, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    review = _review(session, task)
    with pytest.raises(InvalidInput, match="comment"):
        reviews.decide_review(session, actor=reviewer, review_id=review.id, result="rejected",
                              comment="  ")
    decision = reviews.decide_review(session, actor=reviewer, review_id=review.id,
                                     result="rejected", comment="misses the lower edge")
    assert decision.annotation.status == AnnotationStatus.rejected
    with pytest.raises(Forbidden):
        rework.rework_rejected(session, actor=ann, annotation_ids=[target.id])
    second = make_user("annotator")
    rework_task = rework.rework_rejected(session, actor=admin, annotation_ids=[target.id],
                                         assignee_id=second.id)
    assert (rework_task.type, rework_task.status, rework_task.assignee_id) == (
        "annotation", "open", second.id)
    transitions.set_status(session, actor=second, task_id=rework_task.id,
                           status=TaskStatus.in_progress)
    new = session.exec(select(Annotation).where(Annotation.task_id == rework_task.id)).one()
    assert (new.label_assignment_id, new.version, new.author_id) == (
        target.label_assignment_id, 2, second.id)
    with pytest.raises(Conflict, match="newer version"):
        rework.rework_rejected(session, actor=admin, annotation_ids=[target.id])


def test_only_rejected_annotations_are_reworked(session, saved) -> None:
    admin, _, _, _, target = saved
    with pytest.raises(Conflict, match="only rejected") as refused:
        rework.rework_rejected(session, actor=admin, annotation_ids=[target.id])
    assert refused.value.extra["annotation_ids"] == [target.id]


def test_correction_is_the_reviewers_next_version(session, saved) -> None:
    admin, ann, reviewer, other, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    decision = reviews.decide_review(session, actor=reviewer, review_id=_review(session, task).id,
                                     result="corrected", comment="trimmed")
    copy = decision.correction
    assert decision.annotation.status == AnnotationStatus.corrected
    # a draft while the reviewer edits it (was submitted at once: a review task could lock it)
    assert (copy.version, copy.author_id, copy.task_id, copy.status) == (
        2, reviewer.id, task.id, AnnotationStatus.draft)
    seeded = annotations.revision_mask(session, actor=reviewer, annotation_id=copy.id, sequence=1)
    assert np.array_equal(seeded, blob())
    saved_fix = revisions.save_mask(session, actor=reviewer, annotation_id=copy.id,
                                    mask=blob(size=1), time_spent=8)
    assert (saved_fix.revision.sequence, saved_fix.annotation.status) == (2, "draft")
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    session.refresh(copy)
    assert copy.status == AnnotationStatus.submitted
    # the correction awaits review like any other version, by someone else
    with pytest.raises(Conflict, match="own"):
        review_task(session, admin, reviewer, [copy.id])
    check = review_task(session, admin, other, [copy.id])
    reviews.decide_review(session, actor=other, review_id=_review(session, check).id,
                          result="accepted")
    session.refresh(copy)
    assert copy.status == AnnotationStatus.accepted


def test_history_and_review_routes(client: TestClient, session, saved, token_for) -> None:
    admin, ann, reviewer, other, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    review = _review(session, task)
    assert client.get(f"/api/v1/annotations/{target.id}",
                      headers=token_for(reviewer)).status_code == 200
    r = client.post(f"/api/v1/reviews/{review.id}", json={"result": "rejected"},
                    headers=token_for(reviewer))
    assert r.status_code == 422
    r = client.post(f"/api/v1/reviews/{review.id}", json={"result": "corrected", "comment": "x"},
                    headers=token_for(reviewer))
    assert r.status_code == 200, r.text
    correction_id = r.json()["correction"]["id"]
    listed = client.get("/api/v1/reviews", params={"task_id": task.id},
                        headers=token_for(ann)).json()
    assert [(x["id"], x["result"]) for x in listed] == [(review.id, "corrected")]
    assert client.get(f"/api/v1/reviews/{review.id}", headers=token_for(other)).status_code == 403
    url = f"/api/v1/label-assignments/{target.label_assignment_id}/history"
    full = client.get(url, headers=token_for(admin)).json()
    assert [(v["annotation"]["id"], v["annotation"]["version"]) for v in full] == [
        (target.id, 1), (correction_id, 2)]
    assert [x["result"] for x in full[0]["reviews"]] == ["corrected"]
    assert [x["sequence"] for x in full[1]["revisions"]] == [1]
    # each user sees the versions they may read: the author only their own
    assert [v["annotation"]["id"] for v in client.get(url, headers=token_for(ann)).json()] == [
        target.id]
    assert client.get(url, headers=token_for(other)).json() == []
    assert client.get("/api/v1/label-assignments/99999/history",
                      headers=token_for(admin)).status_code == 404


def test_awaiting_review_is_saved_work_outside_active_review_tasks(session, saved,
                                                                   make_user) -> None:
    admin, ann, reviewer, other, target = saved
    ann.name = "Ann Author"
    session.add(ann)
    session.commit()
    annotation_task(session, admin, ann, [make_assignment(session)])  # a draft: not listed
    (found,) = annotations.awaiting_review(session, actor=admin)
    assert (found.id, found.version, found.author, found.image) == (target.id, 1, "Ann Author",
                                                                     "CT")
    assert found.title == f"{found.label} on CT" and found.color.startswith("#")
    assert annotations.awaiting_review(session, actor=other) == []  # not theirs to read
    waiting = review_task(session, admin, reviewer, [target.id], start=False)
    assert annotations.awaiting_review(session, actor=admin) == []
    transitions.set_status(session, actor=admin, task_id=waiting.id, status=TaskStatus.cancelled)
    assert [a.id for a in annotations.awaiting_review(session, actor=admin)] == [target.id]
    review = _review(session, review_task(session, admin, reviewer, [target.id]))
    correction = reviews.decide_review(session, actor=reviewer, review_id=review.id,
                                       result="corrected").correction
    assert annotations.awaiting_review(session, actor=admin) == []  # still the reviewer's draft
    transitions.set_status(session, actor=reviewer, task_id=review.task_id, status=TaskStatus.done)
    (copy,) = annotations.awaiting_review(session, actor=admin)
    assert (copy.id, copy.version, copy.author) == (correction.id, 2, reviewer.display_name)


def test_describe_names_authors_for_whoever_may_read_the_annotation(session, saved) -> None:
    admin, ann, reviewer, other, target = saved
    review_task(session, admin, reviewer, [target.id], start=False)
    (seen,) = annotations.describe(session, actor=reviewer, annotation_ids=[target.id])
    assert (seen.id, seen.author, seen.status) == (target.id, ann.display_name, "submitted")
    assert annotations.describe(session, actor=other, annotation_ids=[target.id]) == []
    assert annotations.describe(session, actor=admin, annotation_ids=[]) == []


def _two_saved(session: Session, admin, ann) -> list[Annotation]:
    task = annotation_task(session, admin, ann, [make_assignment(session),
                                                 make_assignment(session)])
    found = session.exec(select(Annotation).where(Annotation.task_id == task.id)
                         .order_by(Annotation.id)).all()
    for a in found:
        revisions.save_mask(session, actor=ann, annotation_id=a.id, mask=blob())
    transitions.set_status(session, actor=ann, task_id=task.id, status=TaskStatus.done)
    return list(found)


def test_a_reopened_review_task_can_be_started_and_finished_again(session, saved) -> None:
    admin, ann, reviewer, _, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    review = _review(session, task)
    reviews.decide_review(session, actor=reviewer, review_id=review.id, result="accepted")
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.in_progress)
    # the decided review stays decided: nothing new to do, the task can be finished again
    assert [(r.id, r.result) for r in session.exec(select(Review).where(
        Review.annotation_id == target.id)).all()] == [(review.id, "accepted")]
    session.refresh(target)
    assert target.status == AnnotationStatus.accepted
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    assert session.get(Task, task.id).status == TaskStatus.done


def test_cancelling_a_review_task_releases_undecided_annotations(session, saved) -> None:
    admin, ann, reviewer, _, target = saved
    first, second = _two_saved(session, admin, ann)
    task = review_task(session, admin, reviewer, [first.id, second.id])
    decided, undecided = session.exec(select(Review).where(Review.task_id == task.id)
                                      .order_by(Review.annotation_id)).all()
    reviews.decide_review(session, actor=reviewer, review_id=decided.id, result="accepted")
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    session.refresh(first)
    session.refresh(second)
    assert (first.status, second.status) == (AnnotationStatus.accepted,
                                             AnnotationStatus.submitted)
    waiting = [a.id for a in annotations.awaiting_review(session, actor=admin)]
    assert waiting == [target.id, second.id]
    *_, started, event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "annotation.status", AuditEvent.entity_id == second.id)
        .order_by(AuditEvent.id)).all()
    assert started.details["status"] == {"before": "submitted", "after": "in_review"}
    assert (event.actor_id, event.details["status"], event.details["task_id"]) == (
        admin.id, {"before": "in_review", "after": "submitted"}, task.id)
    # reopened and restarted, the undecided review goes on; the decided one stays decided
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.in_progress)
    session.refresh(second)
    assert second.status == AnnotationStatus.in_review
    assert review_steps.undecided_reviews(session, task=session.get(Task, task.id)) == [undecided]
    reviews.decide_review(session, actor=reviewer, review_id=undecided.id, result="rejected",
                          comment="redo")
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)


def test_a_cancelled_review_task_whose_work_moved_on_is_not_reopened(session, saved,
                                                                       make_user) -> None:
    admin, ann, reviewer, other, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    elsewhere = review_task(session, admin, other, [target.id])
    reviews.decide_review(session, actor=other, review_id=_review(session, elsewhere).id,
                          result="accepted")
    transitions.set_status(session, actor=other, task_id=elsewhere.id, status=TaskStatus.done)
    with pytest.raises(Conflict, match="awaiting review") as refused:
        transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    assert refused.value.extra["annotation_ids"] == [target.id]
    assert session.get(Task, task.id).status == TaskStatus.cancelled


def test_a_correction_cannot_be_locked_while_the_reviewer_edits_it(session, saved) -> None:
    admin, _, reviewer, other, target = saved
    task = review_task(session, admin, reviewer, [target.id])
    copy = reviews.decide_review(session, actor=reviewer, review_id=_review(session, task).id,
                                 result="corrected").correction
    with pytest.raises(Conflict, match="awaiting review"):
        review_task(session, admin, other, [copy.id], start=False)
    revisions.save_mask(session, actor=reviewer, annotation_id=copy.id, mask=blob(size=3))
    # cancelling the reviewer's task submits the copy too: a decided correction is not lost
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.cancelled)
    session.refresh(copy)
    assert copy.status == AnnotationStatus.submitted
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "annotation.status",
                                                   AuditEvent.entity_id == copy.id)).all()
    assert [e.details["status"] for e in events] == [{"before": "draft", "after": "submitted"}]
    # restarted, the reviewer may edit it again: a draft until the task is over
    transitions.set_status(session, actor=admin, task_id=task.id, status=TaskStatus.open)
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.in_progress)
    session.refresh(copy)
    assert copy.status == AnnotationStatus.draft
    transitions.set_status(session, actor=reviewer, task_id=task.id, status=TaskStatus.done)
    check = review_task(session, admin, other, [copy.id])
    assert _review(session, check).annotation_id == copy.id


def test_review_steps_change_annotations_like_every_other_status_change(session, saved) -> None:
    """Opening and deciding a review bump the annotation's version and leave an
    `annotation.status` event, as every status change does (both were written inline
    without them, so a concurrent edit could pass unseen and the trail had holes)."""
    admin, _, reviewer, _, target = saved
    version = target.row_version
    task = review_task(session, admin, reviewer, [target.id])
    session.refresh(target)
    assert (target.status, target.row_version) == (AnnotationStatus.in_review, version + 1)
    review = _review(session, task)
    reviews.decide_review(session, actor=reviewer, review_id=review.id, result="accepted")
    session.refresh(target)
    assert (target.status, target.row_version) == (AnnotationStatus.accepted, version + 2)
    trail = session.exec(select(AuditEvent).where(
        AuditEvent.action == "annotation.status", AuditEvent.entity_id == target.id)
        .order_by(AuditEvent.id)).all()
    assert [(e.actor_id, e.details["status"], e.details["task_id"]) for e in trail][1:] == [
        (reviewer.id, {"before": "submitted", "after": "in_review"}, task.id),
        (reviewer.id, {"before": "in_review", "after": "accepted"}, task.id)]
