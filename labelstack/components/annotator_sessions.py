"""The annotator tab's edit sessions (services `EditSession`, one per annotation it opened):
running edits in order, saving (shown, and retried when it fails), renewing the editing
leases, noticing that another tab took one over (this tab turns read-only) or let go of one
(this tab may edit again), and taking over.

The annotator owns the page; it hears about every change of state through `on_state` and
about masks that changed under it (reopened from the database) through `on_masks`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from nicegui import run, ui
from sqlmodel import Session

from labelstack.annotation.editor import Change
from labelstack.components.series_progress import SeriesProgress
from labelstack.db.models import User
from labelstack.db.session import session_scope
from labelstack.imaging.volume import Volume
from labelstack.services.annotations import editing
from labelstack.services.annotations.workspace import ImageWork, Workspace
from labelstack.services.errors import Conflict, ServiceError
from labelstack.services.images.series_load import SeriesLoad
from labelstack.services.images.view import load_volume, start_load

log = logging.getLogger(__name__)

IDLE_SAVE_SECONDS = 3.0
RETRY_SAVE_SECONDS = 5.0
RENEW_SECONDS = 10.0  # well inside leases.LEASE_SECONDS
RECHECK_SECONDS = 2.0  # a tab that is read-only because another holds the lease looks again
TAKEN = ("This editor lost its lease: another tab or window took over this annotation. This tab "
         "is read-only now; use Take over to edit here again.")
Action = Callable[[Session, User, editing.EditSession], Any]


def lost_lease(exc: ServiceError) -> bool:
    return isinstance(exc, Conflict) and exc.extra.get("lease") == "stale"


class EditSessions:
    def __init__(self, *, actor: User, workspace: Workspace, current: Callable[[], ImageWork],
                 on_state: Callable[[], None], on_masks: Callable[[], None]) -> None:
        self.actor, self.workspace, self.current = actor, workspace, current
        self.on_state, self.on_masks = on_state, on_masks
        self.holder = uuid.uuid4().hex
        self.sessions: dict[int, editing.EditSession] = {}
        self.states: dict[int, str] = {}  # "saving" / "error" while that lasts
        self.lock = asyncio.Lock()
        now = time.monotonic()
        self.last_edit = self.last_failure = self.last_refusal = 0.0
        self.last_renew = self.last_recheck = now
        self.saving = self.closed = False

    def get(self, annotation_id: int | None) -> editing.EditSession | None:
        return self.sessions.get(annotation_id) if annotation_id is not None else None

    def state_of(self, annotation_id: int) -> str:
        """saved / unsaved / saving / error, as the label's row shows it."""
        edit = self.sessions.get(annotation_id)
        state = self.states.get(annotation_id)
        if state in ("saving", "error"):
            return state
        return "unsaved" if edit is not None and edit.unsaved else "saved"

    def read_only(self, work: ImageWork) -> list[editing.EditSession]:
        return [s for w in work.labels if (s := self.sessions.get(w.annotation_id)) and not s.editable]

    # ---- opening

    async def open(self, work: ImageWork) -> Volume:
        """The image's volume, with its annotations open (those open read-only looked at again).
        A series still loading shows its middle slice and the progress in a dialog meanwhile."""
        load = await run.io_bound(self._start_load, work.series_uid)
        if not load.done:
            with ui.context.client.content, ui.dialog().props("persistent") as dialog, \
                    ui.card().classes("min-w-[24rem]"):
                progress = SeriesProgress(work.series_uid, load, title=f"Opening {work.title}")
            dialog.open()
            try:
                await progress.wait()
            finally:
                dialog.close()
                dialog.delete()
        volume, fresh = await run.io_bound(self._open, work)
        self.sessions.update(fresh)
        return volume

    @staticmethod
    def _start_load(series_uid: str) -> SeriesLoad:
        with session_scope() as session:
            return start_load(session, series_uid)

    def _open(self, work: ImageWork, *, take_over: bool = False,
              again: set[int] | None = None) -> tuple[Volume, dict[int, editing.EditSession]]:
        if again is None:
            again = {w.annotation_id for w in work.labels
                     if (edit := self.sessions.get(w.annotation_id)) is None
                     or (not edit.editable and self.workspace.editable)}
        with session_scope() as session:
            fresh = {w.annotation_id: editing.open_edit(session, actor=self.actor,
                                                        annotation_id=w.annotation_id,
                                                        holder=self.holder, take_over=take_over)
                     for w in work.labels if w.annotation_id in again}
            return load_volume(session, work.series_uid), fresh

    async def reopen(self, annotation_ids: Iterable[int], *, take_over: bool = False) -> None:
        """Open annotations of the current image anew from the database: read-only when another
        tab holds them, editable when nobody does (a lapsed lease) or when taking them over."""
        wanted = set(annotation_ids)
        try:
            _, fresh = await run.io_bound(self._open, self.current(), take_over=take_over, again=wanted)
        except ServiceError as exc:
            ui.notify(exc.detail, type="negative")
            return
        changed = False
        for annotation_id, edit in fresh.items():
            old = self.sessions.get(annotation_id)
            if old is not None and not (old.editable or edit.editable) \
                    and old.acknowledged == edit.acknowledged:
                continue  # still read-only and nothing new: keep what the views show
            self.sessions[annotation_id] = edit
            changed = True
        for annotation_id in wanted - set(fresh):
            self.sessions.pop(annotation_id, None)  # on another image: opened when shown
        if changed:
            self.on_masks()
            self.on_state()

    # ---- editing

    async def edit(self, annotation_id: int | None, action: Action) -> Change | None:
        """Run one change, in order; its return is the acknowledgement (None: refused, told)."""
        edit = self.get(annotation_id)
        if edit is None:
            ui.notify("Choose a label to draw first", type="warning")
            return None
        if not edit.editable:
            self.refuse(f"This label is read-only: {edit.reason}")
            return None
        async with self.lock:
            try:
                change = await run.io_bound(self._with_session, action, edit)
            except (ServiceError, ValueError) as exc:
                if isinstance(exc, ServiceError) and lost_lease(exc):
                    await self.lease_lost({edit.annotation_id}, refused=True)
                else:
                    ui.notify(getattr(exc, "detail", str(exc)), type="negative")
                return None
        self.last_edit = time.monotonic()
        return change

    def refuse(self, message: str) -> None:
        """Tell once in a while: a refused brush stroke sends many batches."""
        if time.monotonic() - self.last_refusal > 3:
            ui.notify(message, type="warning")
            self.last_refusal = time.monotonic()

    def touch(self, work: ImageWork) -> None:
        """The annotator looked around the image (slices, window): active time for its labels."""
        for w in work.labels:
            edit = self.sessions.get(w.annotation_id)
            if edit is not None and edit.editable:
                edit.touch()

    def _with_session(self, action: Action, edit: editing.EditSession) -> Any:
        with session_scope() as session:
            return action(session, self.actor, edit)

    # ---- saving

    async def save_all(self) -> None:
        pending = [(i, s) for i, s in self.sessions.items() if s.unsaved and s.editable]
        if self.saving or not pending:
            return
        self.saving = True
        lost: set[int] = set()
        try:
            for annotation_id, edit in pending:
                self.states[annotation_id] = "saving"
                self.on_state()
                try:
                    await run.io_bound(self._with_session, _renew_and_save, edit)
                except ServiceError as exc:
                    if lost_lease(exc):  # the new holder has every acknowledged change
                        self.states.pop(annotation_id, None)
                        lost.add(annotation_id)
                    else:
                        self._save_failed(annotation_id, exc.detail)
                except Exception:  # the database refused or went away: kept unsaved, retried
                    log.exception("saving annotation %s failed", annotation_id)
                    self._save_failed(annotation_id, "the database did not take it")
                else:
                    self.states.pop(annotation_id, None)
                    for work in self.workspace.images:
                        for label in work.labels:
                            label.saved = label.saved or label.annotation_id == annotation_id
        finally:
            self.saving = False
        if lost:
            await self.lease_lost(lost)
        self.on_state()

    def _save_failed(self, annotation_id: int, detail: str) -> None:
        self.states[annotation_id] = "error"
        self.last_failure = time.monotonic()
        ui.notify(f"Could not save: {detail}. Your changes are kept and saving is retried.",
                  type="negative", multi_line=True)

    async def tick(self) -> None:
        """Every second: autosave when idle (a failed save after a pause), renew the leases,
        look again at those another tab holds."""
        if self.closed:
            return  # disconnected: the leases were given back (see `reconnected`)
        now = time.monotonic()
        failed = any(s == "error" for s in self.states.values())
        if now - self.last_edit >= IDLE_SAVE_SECONDS and not self.lock.locked() and (
                not failed or now - self.last_failure >= RETRY_SAVE_SECONDS):
            await self.save_all()
        if now - self.last_renew >= RENEW_SECONDS and not self.saving:
            self.last_renew = now
            await self.renew()
        if now - self.last_recheck >= RECHECK_SECONDS and not self.saving:
            self.last_recheck = now
            await self.recheck()

    # ---- leases

    async def renew(self) -> None:
        lost: set[int] = set()
        for annotation_id, edit in [(i, s) for i, s in self.sessions.items() if s.editable]:
            try:
                await run.io_bound(self._with_session, lambda s, _a, e: e.renew(s), edit)
            except ServiceError as exc:
                if lost_lease(exc):
                    lost.add(annotation_id)
            except Exception:  # the database is busy or gone: the next renewal tries again
                log.warning("renewing the lease of annotation %s failed", annotation_id, exc_info=True)
        if lost:
            await self.lease_lost(lost)

    async def recheck(self) -> None:
        """Read-only because another tab holds the lease: once that tab closed (a reload's old
        page, a closed window) or its lease lapsed, edit here; meanwhile show its progress."""
        held = {s.annotation_id for s in self.read_only(self.current())}
        if held and self.workspace.editable:
            await self.reopen(held)
            if not self.read_only(self.current()):
                ui.notify("The other tab let go of this annotation: you can edit here now",
                          type="positive")

    async def lease_lost(self, annotation_ids: set[int], *, refused: bool = False) -> None:
        """This tab's lease is gone: read-only if another tab holds it now, else (it had lapsed)
        editable again."""
        await self.reopen(annotation_ids)
        self.last_refusal = time.monotonic()  # the rest of a refused stroke needs no second word
        if any(not s.editable for i in annotation_ids if (s := self.sessions.get(i)) is not None):
            ui.notify(("That change was refused. " if refused else "") + TAKEN, type="warning",
                      multi_line=True, timeout=10_000)
        elif refused:
            ui.notify("That change was refused: the editing lease had lapsed. It is renewed now; "
                      "please draw it again.", type="warning", multi_line=True)

    async def take_over(self) -> None:
        await self.reopen({s.annotation_id for s in self.read_only(self.current())}, take_over=True)
        if not self.read_only(self.current()):
            ui.notify("You are editing here now; the other tab became read-only", type="positive")

    async def close(self) -> None:
        """The browser went away: save, and give the leases back for another tab."""
        self.closed = True
        await self.save_all()
        for edit in self.sessions.values():
            await run.io_bound(self._with_session, lambda s, _a, e: e.close(s), edit)

    async def reconnected(self) -> None:
        """The same page is back after a disconnect: open its annotations again."""
        if self.closed:
            self.closed = False
            await self.reopen({w.annotation_id for w in self.current().labels})


def _renew_and_save(session: Session, actor: User, edit: editing.EditSession) -> Any:
    """Save only while this tab holds the lease (a tab that lost it must not write)."""
    edit.renew(session)
    return edit.save(session, actor=actor)
