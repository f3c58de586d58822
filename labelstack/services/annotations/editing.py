"""An annotation open in the editor: the mask in memory, its undo history, and saving that
never loses an acknowledged change.

Each change is applied to the in-memory mask, then its box is appended to the journal and
committed (under the editing lease) before the call returns: a return is the
acknowledgement, and whatever was acknowledged survives a crash of the server or the
browser. `save` folds the journal into a revision (the workflow's versioned masks).
The session belongs to one browser tab; its lock keeps that tab's events in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlmodel import Session

from labelstack.annotation.codec import PackedMask
from labelstack.annotation.editor import Change, MaskEditor
from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.ops import EditOp
from labelstack.db.models import User
from labelstack.services.annotations import journal, leases, reads, revisions
from labelstack.services.errors import Conflict, InvalidInput, ServiceError
from labelstack.services.images.view import load_volume

IDLE_AFTER_SECONDS = 30.0  # no interaction for this long: the annotator was away


@dataclass(kw_only=True, slots=True)
class Activity:
    """Active time from real interaction: the gap between two interactions (a stroke, a slice
    scroll, a window drag) counts, unless it is longer than IDLE_AFTER_SECONDS."""

    clock: Callable[[], float] = time.monotonic
    last: float | None = None
    pending: float = 0.0

    def touch(self) -> None:
        now = self.clock()
        if self.last is not None and 0 <= now - self.last < IDLE_AFTER_SECONDS:
            self.pending += now - self.last
        self.last = now

    def take(self) -> float:
        seconds, self.pending = self.pending, 0.0
        return seconds


@dataclass(kw_only=True, slots=True)
class EditSession:
    annotation_id: int
    series_uid: str
    holder: str
    editable: bool
    reason: str
    editor: MaskEditor
    acknowledged: int = 0
    saved: int = 0
    activity: Activity = field(default_factory=Activity)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def unsaved(self) -> bool:
        return self.acknowledged > self.saved

    def apply(self, session: Session, *, actor: User, op: EditOp, group: object = None) -> Change:
        """Apply and acknowledge one edit; refused edits change nothing. Edits with the same
        `group` (the batches of one brush stroke) are one undo step."""
        with self.lock:
            self._require_editable()
            try:
                change = self.editor.apply(op, group=group)
            except AnnotationInputError as exc:
                raise InvalidInput(str(exc)) from None
            return self._persist(session, actor, str(op.tool), change, self.editor.rollback)

    def undo(self, session: Session, *, actor: User) -> Change | None:
        with self.lock:
            self._require_editable()
            change = self.editor.undo()
            return None if change is None else self._persist(session, actor, "undo", change,
                                                               self.editor.redo)

    def redo(self, session: Session, *, actor: User) -> Change | None:
        with self.lock:
            self._require_editable()
            change = self.editor.redo()
            return None if change is None else self._persist(session, actor, "redo", change,
                                                               self.editor.undo)

    def save(self, session: Session, *, actor: User) -> revisions.SaveResult | None:
        """Fold what was acknowledged into a revision (None when there was nothing new)."""
        with self.lock:
            if not self.editable or not self.unsaved:
                return None
            upto, mask = self.acknowledged, PackedMask.of(self.editor.mask)
        seconds = journal.active_seconds(session, self.annotation_id, upto)
        result = revisions.save_mask(session, actor=actor, annotation_id=self.annotation_id,
                                     mask=mask, time_spent=seconds)
        journal.fold(session, annotation_id=self.annotation_id, upto=upto)
        session.commit()
        with self.lock:
            self.saved = max(self.saved, upto)
        return result

    def touch(self) -> None:
        """The annotator interacted with this label's image (not every interaction edits)."""
        self.activity.touch()

    def renew(self, session: Session) -> None:
        if self.editable:
            leases.renew(session, annotation_id=self.annotation_id, holder=self.holder)

    def close(self, session: Session) -> None:
        if self.editable:
            leases.release(session, annotation_id=self.annotation_id, holder=self.holder)

    def _require_editable(self) -> None:
        if not self.editable:
            raise Conflict(f"this annotation is open read-only: {self.reason}")

    def _persist(self, session: Session, actor: User, kind: str, change: Change,
                 take_back: Callable[[], object]) -> Change:
        """Journal the change and commit; on any refusal or failure take it back in memory.

        One guarded UPDATE checks the lease and the saving rule together (the cheap path of
        every stroke); only a refusal asks `require_saver` which rule failed."""
        self.activity.touch()
        if not change.changed:
            return change
        active = self.activity.take()
        try:
            try:
                leases.check(session, annotation_id=self.annotation_id, holder=self.holder,
                             also=revisions.saver_condition(actor=actor,
                                                            annotation_id=self.annotation_id))
            except leases.Refused:
                session.rollback()
                revisions.require_saver(session, actor=actor,
                                        annotation=reads.get_annotation(session, self.annotation_id))
                raise Conflict("this annotation can no longer be changed here; reload") from None
            entry = journal.append(session, annotation_id=self.annotation_id,
                                   sequence=self.acknowledged + 1, author=actor, kind=kind,
                                   box=change.box, content=self.editor.mask[change.slices],
                                   active_seconds=active)
            session.commit()
        except Exception:
            session.rollback()
            self.activity.pending += active
            take_back()
            raise
        self.acknowledged = entry.sequence
        return change


def open_edit(session: Session, *, actor: User, annotation_id: int, holder: str,
              take_over: bool = False, clock: Callable[[], float] = time.monotonic) -> EditSession:
    """Open an annotation for `actor`: editable by its author inside their in-progress task
    while this tab holds the lease, read-only for anyone else who may read it."""
    annotation = reads.read_annotation(session, actor=actor, annotation_id=annotation_id)
    series = reads.image_of(session, annotation)
    editable, reason = True, ""
    try:
        revisions.require_saver(session, actor=actor, annotation=annotation)
    except ServiceError as exc:
        editable, reason = False, exc.detail
    if editable:
        held = leases.acquire(session, annotation_id=annotation_id, holder=holder, user=actor,
                              take_over=take_over)
        if held is not None:
            editable = False
            reason = (f"{held.name} is editing it in another tab or window; take over to edit "
                      "here (the other editor becomes read-only)")
    mask, last = journal.current_mask(session, annotation)
    volume = load_volume(session, series.series_uid)
    if volume.pixels.shape[:3] != mask.shape:
        raise Conflict(f"the image's shape {volume.pixels.shape[:3]} does not match the "
                       f"annotation's {mask.shape}")
    return EditSession(annotation_id=annotation_id, series_uid=series.series_uid, holder=holder,
                       editable=editable, reason=reason, editor=MaskEditor(mask, volume),
                       acknowledged=last, activity=Activity(clock=clock))


def apply_once(session: Session, *, actor: User, annotation_id: int, op: EditOp,
               holder: str | None = None) -> Change:
    """One edit from a script (the REST API): opened, applied, acknowledged and closed under
    the same rules as the editor; refused while another tab holds the annotation."""
    edit = open_edit(session, actor=actor, annotation_id=annotation_id,
                     holder=holder or f"api-user-{actor.id}")
    if not edit.editable:
        raise Conflict(f"annotation {annotation_id} cannot be edited now: {edit.reason}")
    try:
        return edit.apply(session, actor=actor, op=op)
    finally:
        edit.close(session)


def mask_now(session: Session, *, actor: User, annotation_id: int) -> np.ndarray:
    """The mask as acknowledged: the last revision plus the journal (the revisions' read rule)."""
    annotation = reads.read_annotation(session, actor=actor, annotation_id=annotation_id)
    return journal.current_mask(session, annotation)[0]

