"""The reviewer's side of an in-progress review task: each annotation accepted or rejected."""

from __future__ import annotations

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import call
from labelstack.components.workflow import LABEL_CELL, Done, empty_state, error_text
from labelstack.db.enums import ReviewResult
from labelstack.db.models import Task, User
from labelstack.services.annotations import reads as annotations
from labelstack.services.annotations import reviews
from labelstack.services.errors import ServiceError
from labelstack.services.tasks.queries import TaskRow

REVIEW_COLUMNS = [
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "image", "label": "Image", "field": "image", "align": "left"},
    {"name": "version", "label": "Version", "field": "version", "align": "right"},
    {"name": "author", "label": "Author", "field": "author", "align": "left"},
    {"name": "result", "label": "Result", "field": "result", "align": "left"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]
REVIEW_CELLS = {
    "label": LABEL_CELL,
    "result": """<q-td :props="props">
        <q-badge v-if="props.value" :color="{accepted: 'positive', rejected: 'negative',
                 corrected: 'orange-8'}[props.value]" :label="props.value" />
        <span v-else class="text-grey-6">awaiting your decision</span>
        <div v-if="props.row.comment" class="text-caption text-grey-7">{{ props.row.comment }}</div>
      </q-td>""",
    "actions": """<q-td :props="props" class="q-gutter-x-sm">
        <template v-if="!props.row.result">
          <q-btn outline dense no-caps color="positive" icon="thumb_up" label="Accept" class="q-px-sm"
                 :data-testid="'review-accept-' + props.row.id"
                 @click="$parent.$emit('accept', props.row.id)" />
          <q-btn outline dense no-caps color="negative" icon="thumb_down" label="Reject" class="q-px-sm"
                 :data-testid="'review-reject-' + props.row.id"
                 @click="$parent.$emit('reject', props.row.id)" />
        </template>
      </q-td>""",
}


async def review_panel(task: Task | TaskRow, *, on_change: Done) -> None:
    """The reviews of one in-progress review task, each accepted or rejected here; each
    decision is made as the user acting then."""
    rows = await call(review_rows, task)
    page_root = ui.context.client.layout
    with ui.card().classes("w-full gap-2 p-4").props(f"flat bordered data-testid=review-{task.id}"):
        ui.label(f"Review: {task.name}").classes("text-subtitle1 font-medium")
        table = ui.table(columns=REVIEW_COLUMNS, rows=rows, row_key="id") \
            .classes("w-full").props("flat dense")
        for name, cell in REVIEW_CELLS.items():
            table.add_slot(f"body-cell-{name}", cell)
        empty_state(table, "This review task holds no annotations")

    async def decide(review_id: int, result: ReviewResult, comment: str = "") -> str | None:
        """The decision, announced; the panel is refreshed by the caller once nothing of it is
        in use any more (a refresh rebuilds the panel)."""
        try:
            await call(reviews.decide_review, review_id=review_id, result=result, comment=comment)
        except ServiceError as exc:
            return error_text(exc)
        ui.notify(f"Review {result.value}", type="positive")
        return None

    async def accept(event: events.GenericEventArguments) -> None:
        problem = await decide(int(event.args), ReviewResult.accepted)
        if problem:
            ui.notify(problem, type="negative", multi_line=True)
        else:
            await on_change()

    def reject(event: events.GenericEventArguments) -> None:
        # Outside the panel: the refresh after the decision rebuilds the panel, and a dialog
        # inside it would be deleted while it is still closing.
        with page_root, ui.dialog() as dialog, ui.card().classes("w-[28rem] gap-3") \
                .props("data-testid=reject-dialog"):
            ui.label("Reject annotation").classes("text-h6")
            comment = ui.textarea("What needs to change?").props(
                "outlined stack-label autogrow autofocus data-testid=review-comment").classes("w-full")
            error = ui.label().classes("text-negative").props("data-testid=review-error")
            comment.on_value_change(lambda: error.set_text(""))

            async def save() -> None:
                problem = await decide(int(event.args), ReviewResult.rejected,
                                       comment.value or "")
                if problem:
                    error.set_text(problem)
                    return
                dialog.close()
                await on_change()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button("Reject", color="negative", on_click=save).props(
                    "unelevated no-caps data-testid=review-reject-save")
        dialog.on("hide", dialog.delete)
        dialog.open()

    table.on("accept", accept)
    table.on("reject", reject)


def review_rows(session: Session, task: Task | TaskRow, *, actor: User) -> list[dict]:
    """The task's reviews with what they are about; author names come from the annotation
    service, since a reviewer may not list users."""
    found = reviews.list_reviews(session, actor=actor, task_id=task.id)
    about = {a.id: a for a in annotations.describe(
        session, actor=actor, annotation_ids=[r.annotation_id for r in found])}
    return [{"id": r.id, "label": a.label, "color": a.color, "image": a.image,
             "version": a.version, "author": a.author or "—", "result": r.result or "",
             "comment": r.comment}
            for r in found if (a := about.get(r.annotation_id)) is not None]
