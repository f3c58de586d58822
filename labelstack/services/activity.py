"""The audit trail told as sentences with links, for the activity feed (admins only).

"Ann Notator saved the Lung annotation on CT · Chest · Phantom DEMO-CT-01 in task 'Demo:
outline the lungs'": names instead of ids, each task, image and person a link (to the task's
page, the image in the viewer, and the feed of that person). Everything one page of events
names is read in a few queries, not per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction as A
from labelstack.db.models import AuditEvent, Label, LabelAssignment, Review, Series, Task, User
from labelstack.services import audit_log
from labelstack.services.annotations import reads
from labelstack.services.images.index import series_titles


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of a sentence; a link when `href` is set."""

    text: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    id: int
    at: datetime
    action: str
    parts: list[Part]

    @property
    def sentence(self) -> str:
        return "".join(p.text for p in self.parts)


def feed(session: Session, *, actor: User, **filters: Any) -> tuple[list[Activity], int]:
    """One page of the trail as sentences, newest first, and the total matching; `filters`
    are `audit_log.list_events`'."""
    events, total = audit_log.list_events(session, actor=actor, order="newest", **filters)
    return describe(session, events), total


@dataclass(kw_only=True, slots=True)
class _Names:
    """What a page of events refers to, by id."""

    users: dict[int, str] = field(default_factory=dict)
    tasks: dict[int, str] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    images: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (uid, title)
    annotations: dict[int, reads.AnnotationSummary] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    assignments: dict[int, LabelAssignment] = field(default_factory=dict)


def describe(session: Session, events: Sequence[AuditEvent]) -> list[Activity]:
    names = _lookup(session, events)
    return [Activity(id=e.id or 0, at=e.created_at, action=str(e.action),
                     parts=_Sentence(names, e).parts()) for e in events]


def _ids(values: Iterable[object]) -> set[int]:
    return {v for v in values if isinstance(v, int)}


def _lookup(session: Session, events: Sequence[AuditEvent]) -> _Names:
    def of(kind: str) -> set[int]:
        return _ids(e.entity_id for e in events if e.entity_type == kind)

    def detail(key: str) -> set[int]:
        return _ids(e.details.get(key) for e in events)

    def rows(query: Any, ids: set[int]) -> list[Any]:
        return list(session.exec(query).all()) if ids else []

    names = _Names()
    review_ids, pair_ids = of("review"), of("label_assignment")
    names.reviews = {r.id: r for r in rows(select(Review).where(
        col(Review.id).in_(review_ids)), review_ids) if r.id}
    names.assignments = {a.id: a for a in rows(select(LabelAssignment).where(
        col(LabelAssignment.id).in_(pair_ids)), pair_ids) if a.id}
    annotation_ids = of("annotation") | detail("annotation_id") | {
        r.annotation_id for r in names.reviews.values()}
    if annotation_ids:
        names.annotations = {a.id: a for a in reads.summaries(session, annotation_ids)}
    user_ids = (_ids(e.actor_id for e in events) | of("user") | detail("author_id")
                | detail("reviewer_id") | detail("assignee_id"))
    task_ids = of("task") | detail("task_id") | {
        r.task_id for r in names.reviews.values() if r.task_id}
    label_ids = of("label") | {a.label_id for a in names.assignments.values()}
    names.users, names.tasks, names.labels = _names(session, user_ids, task_ids, label_ids)
    series_ids = ({a.series_id for a in names.annotations.values()}
                  | {a.series_id for a in names.assignments.values()} | of("series"))
    if series_ids:
        titles = series_titles(session, series_ids)
        names.images = {sid: (uid, titles.get(sid, uid)) for sid, uid in session.exec(
            select(Series.id, Series.series_uid).where(col(Series.id).in_(series_ids))).all()
            if sid is not None}
    return names


def _names(session: Session, user_ids: set[int], task_ids: set[int],
           label_ids: set[int]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """People's display names, tasks' and labels' names in one round trip."""
    parts = [select(sa.literal(kind), column_id, name).where(column_id.in_(ids))
             for kind, column_id, name, ids in (
                 ("user", col(User.id), sa.func.coalesce(sa.func.nullif(User.name, ""),
                                                          User.email), user_ids),
                 ("task", col(Task.id), col(Task.name), task_ids),
                 ("label", col(Label.id), col(Label.name), label_ids)) if ids]
    found: dict[str, dict[int, str]] = {"user": {}, "task": {}, "label": {}}
    if parts:
        named: list[Any] = list(session.connection().execute(sa.union_all(*parts)).all())
        for kind, row_id, name in named:
            found[kind][row_id] = name
    return found["user"], found["task"], found["label"]


STATUS_VERBS = {"in_progress": "started", "done": "finished", "cancelled": "cancelled",
                "unassigned": "unassigned"}
REVIEW_VERBS = {"accepted": "accepted", "rejected": "rejected", "corrected": "corrected"}


class _Sentence:
    """Builds one event's sentence from the looked-up names."""

    def __init__(self, names: _Names, event: AuditEvent) -> None:
        self.names, self.event, self.d = names, event, event.details or {}
        self.out: list[Part] = []

    def say(self, *texts: str) -> None:
        self.out.extend(Part(t) for t in texts)

    def user(self, user_id: int | None, *, fallback: str = "someone") -> None:
        if user_id is None:
            self.say(fallback)
            return
        name = self.names.users.get(user_id)
        self.out.append(Part(name, f"/stats?user={user_id}") if name else Part("a deleted user"))

    def task(self, task_id: object) -> None:
        name = self.names.tasks.get(task_id) if isinstance(task_id, int) else None
        self.out.append(Part(f"task '{name}'", f"/tasks/{task_id}") if name
                        else Part("a deleted task"))

    def image(self, series_id: int | None) -> None:
        found = self.names.images.get(series_id) if series_id is not None else None
        self.out.append(Part(found[1], f"/view/{found[0]}") if found else Part("a removed image"))

    def annotation(self, annotation_id: object) -> None:
        found = self.names.annotations.get(annotation_id) \
            if isinstance(annotation_id, int) else None
        if found is None:
            self.say("an annotation")
            return
        self.say(f"the {found.label} annotation (version {found.version}) on ")
        self.image(found.series_id)

    def in_task(self) -> None:
        if isinstance(self.d.get("task_id"), int):
            self.say(" in ")
            self.task(self.d["task_id"])

    def parts(self) -> list[Part]:
        e, d = self.event, self.d
        self.user(e.actor_id, fallback="The system")
        self.say(" ")
        self.verb(e, d)
        return self.out

    def verb(self, e: AuditEvent, d: dict[str, Any]) -> None:  # noqa: C901, PLR0912
        """One branch per kind of event; unknown ones say their action and entity."""
        action = e.action
        if action == A.annotation_save:
            self.say("saved ")
            self.annotation(e.entity_id)
            self.in_task()
        elif action == A.annotation_create:
            self.say("started ")
            self.annotation(e.entity_id)
            self.in_task()
        elif action == A.annotation_status:
            after = str((d.get("status") or {}).get("after", "")).replace("_", " ")
            self.say(f"marked {after} " if after else "changed ")
            self.annotation(e.entity_id)
        elif action == A.task_create:
            self.say("created ")
            self.task(e.entity_id)
            if d.get("assignee_id"):
                self.say(" for ")
                self.user(d["assignee_id"])
        elif action == A.task_status:
            before, after = str(d.get("before", "")), str(d.get("after", ""))
            reopened = after == "open" and before in ("done", "cancelled")
            self.say(("reopened" if reopened else STATUS_VERBS.get(
                after, f"moved to {after.replace('_', ' ')}")) + " ")
            self.task(e.entity_id)
        elif action == A.task_take:
            self.say("took ")
            self.task(e.entity_id)
        elif action == A.task_update:
            changed = ", ".join(k.replace("_id", "").replace("_", " ") for k in sorted(d))
            self.say(f"changed {changed or 'the details'} of ")
            self.task(e.entity_id)
        elif action in (A.review_create, A.review_decide):
            review = self.names.reviews.get(e.entity_id or 0)
            target = review.annotation_id if review else d.get("annotation_id")
            if action == A.review_create:
                self.say("opened a review of ")
            else:
                self.say(REVIEW_VERBS.get(str(d.get("result")), "decided on") + " ")
            self.annotation(target)
            if review and review.task_id:
                self.say(" in ")
                self.task(review.task_id)
            if d.get("comment"):
                self.say(f": “{d['comment']}”")
        elif action == A.comment_create:
            self.say("commented on ")
            self.annotation(d.get("annotation_id"))
        elif action in (A.label_create, A.label_update, A.label_delete):
            verb = {A.label_create: "created", A.label_update: "edited",
                    A.label_delete: "deleted"}[action]
            name = self.names.labels.get(e.entity_id or 0) or d.get("name") or "a label"
            self.say(f"{verb} the label {name}")
        elif action == A.label_assign:
            created = d.get("created") or []
            name = self.names.labels.get(e.entity_id or 0, "a label")
            self.say(f"added the label {name} to {len(created)} "
                     f"image{'s' if len(created) != 1 else ''}")
            self.in_task()
        elif action == A.label_unassign:
            pair = self.names.assignments.get(e.entity_id or 0)
            name = self.names.labels.get(pair.label_id, "a label") if pair else "a label"
            self.say(f"removed the label {name} from ")
            self.image(pair.series_id if pair else d.get("series_id"))
        elif action in (A.user_create, A.user_update):
            self.say("added " if action == A.user_create else "edited ")
            self.user(e.entity_id)
        elif action == A.token_issue:
            self.say("signed in")
        elif action == A.token_revoke:
            self.say("signed out" if d.get("reason") == "logout" else "revoked API tokens")
        elif action == A.images_import:
            series = d.get("series")
            count = series.get("count", 0) if isinstance(series, dict) else 0
            self.say(f"imported {d.get('stored', 0)} files into {count} series")
        elif action == A.images_sync:
            self.say(f"synced the image index ({d.get('series_updated', 0)} series updated)")
        elif action == A.images_delete:
            self.say(f"deleted the image {d.get('series_uid', '')} "
                     f"({d.get('instances', 0)} files)")
        elif action == A.dataset_export:
            self.say(f"exported a dataset of {d.get('annotations', 0)} annotations")
        elif action in (A.seg_store, A.seg_import):
            self.say("stored a DICOM SEG of " if action == A.seg_store
                     else "imported a DICOM SEG onto ")
            self.image(e.entity_id)
        else:
            self.say(f"{str(action).replace('.', ' ')} {e.entity_type}")
