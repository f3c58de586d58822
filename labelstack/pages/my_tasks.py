"""/my-tasks: an annotator's or reviewer's own tasks, the ones they can take, and their reviews."""

from __future__ import annotations

from nicegui import run, ui

from labelstack.components.frame import frame, signed_in_user
from labelstack.components.lookups import series_titles
from labelstack.components.workflow import (
    DUE_CELL,
    NAME_CELL,
    PRIORITY_CELL,
    PROGRESS_CELL,
    STATUS_CELL,
    empty_state,
    error_text,
    loading,
    notify_error,
    task_row,
)
from labelstack.db.enums import ReviewResult, Role, TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.db.session import session_scope
from labelstack.services import annotations, labels, reviews, task_queries, tasks
from labelstack.services import task_rules as rules
from labelstack.services.errors import ServiceError
from labelstack.services.security import has_role
from labelstack.services.task_queries import TaskFilter

S = TaskStatus
COMMON = [
    {"name": "name", "label": "Task", "field": "name", "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "priority", "label": "Priority", "field": "priority", "align": "left"},
    {"name": "due_date", "label": "Due", "field": "due_date", "align": "left"},
    {"name": "progress", "label": "Progress", "field": "progress_done", "align": "left"},
]
MINE_COLUMNS = [*COMMON[:2], {"name": "status", "label": "Status", "field": "status",
                              "align": "left"}, *COMMON[2:],
                {"name": "time_spent", "label": "Time spent", "field": "time_spent",
                 "align": "right"},
                {"name": "actions", "label": "", "field": "id", "align": "right"}]
AVAILABLE_COLUMNS = [*COMMON, {"name": "actions", "label": "", "field": "id", "align": "right"}]
MINE_ACTIONS = """
    <q-td :props="props" class="q-gutter-x-sm">
      <q-btn v-if="props.row.can_start" unelevated dense no-caps color="primary" icon="play_arrow"
             label="Start" class="q-px-sm" :data-testid="'task-start-' + props.row.id"
             @click="$parent.$emit('status', {id: props.row.id, status: 'in_progress'})" />
      <q-btn v-if="props.row.can_finish" outline dense no-caps color="primary" icon="check"
             label="Finish" class="q-px-sm" :data-testid="'task-finish-' + props.row.id"
             @click="$parent.$emit('status', {id: props.row.id, status: 'done'})" />
    </q-td>"""
TAKE_ACTION = """
    <q-td :props="props">
      <q-btn unelevated dense no-caps color="primary" icon="back_hand" label="Take" class="q-px-sm"
             :data-testid="'task-take-' + props.row.id" @click="$parent.$emit('take', props.row.id)" />
    </q-td>"""
REVIEW_COLUMNS = [
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "image", "label": "Image", "field": "image", "align": "left"},
    {"name": "version", "label": "Version", "field": "version", "align": "right"},
    {"name": "result", "label": "Result", "field": "result", "align": "left"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]
REVIEW_CELLS = {
    "label": """<q-td :props="props"><span :style="{background: props.row.color}" class="q-mr-sm"
        style="display:inline-block;width:12px;height:12px;border-radius:3px"></span>
        {{ props.value }}</q-td>""",
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


@ui.page("/my-tasks")
async def my_tasks_page() -> None:
    actor = signed_in_user(Role.annotator, Role.reviewer)
    if actor is None:
        return
    with frame("My tasks", user=actor):
        mine = _task_table(MINE_COLUMNS, "my-tasks-table", MINE_ACTIONS,
                           "No tasks yet — take one from “Available tasks” below")
        review_area = ui.column().classes("w-full gap-4")
        ui.label("Available tasks").classes("text-h6 font-medium mt-4")
        ui.label("Unassigned tasks of the kinds your role does; take one to make it yours.") \
            .classes("text-grey-7 -mt-3")
        available = _task_table(AVAILABLE_COLUMNS, "available-tasks-table", TAKE_ACTION,
                                "No tasks are waiting to be taken")

    async def refresh() -> None:
        own, free, in_review = await run.io_bound(_load, actor)
        mine.rows, available.rows = own, free
        loading(mine, False)
        loading(available, False)
        mine.update()
        available.update()
        review_area.clear()
        with review_area:
            for task in in_review:
                await _review_panel(actor, task, on_change=refresh)

    async def change_status(event) -> None:  # noqa: ANN001
        try:
            with session_scope() as session:
                task = tasks.set_status(session, actor=actor, task_id=event.args["id"],
                                        status=S(event.args["status"]))
        except ServiceError as exc:
            notify_error(exc)
        else:
            verb = "started" if task.status == S.in_progress else "finished"
            ui.notify(f"“{task.name}” {verb}", type="positive")
        await refresh()

    async def take(event) -> None:  # noqa: ANN001
        try:
            with session_scope() as session:
                task = tasks.take_task(session, actor=actor, task_id=int(event.args))
        except ServiceError as exc:
            notify_error(exc)
        else:
            ui.notify(f"“{task.name}” is yours now", type="positive")
        await refresh()

    mine.on("status", change_status)
    available.on("take", take)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await refresh()


def _task_table(columns: list[dict], testid: str, actions: str, empty: str) -> ui.table:
    table = ui.table(columns=columns, rows=[], row_key="id", pagination=20) \
        .classes("w-full").props(f"flat bordered loading data-testid={testid}")
    for name, cell in (("name", NAME_CELL), ("status", STATUS_CELL), ("priority", PRIORITY_CELL),
                       ("due_date", DUE_CELL), ("progress", PROGRESS_CELL), ("actions", actions)):
        table.add_slot(f"body-cell-{name}", cell)
    empty_state(table, empty, icon="checklist")
    return table


def _load(actor: User) -> tuple[list[dict], list[dict], list[Task]]:
    """My active tasks (in progress, then open), my finished ones, and the takeable ones."""
    queries = (
        TaskFilter(assignee_id=actor.id, status=[S.in_progress, S.open],
                   sort="status,-priority,due_date", page_size=200),
        TaskFilter(assignee_id=actor.id, status=[S.done, S.cancelled], sort="-updated_at",
                   page_size=20),
        TaskFilter(status=[S.unassigned], sort="-priority,due_date", page_size=100),
    )
    with session_scope() as session:
        pages = [task_queries.list_tasks(session, actor=actor, query=q) for q in queries]
    own = [_mine_row(actor, t, p.progress.get(t.id)) for p in pages[:2] for t in p.items]
    free = [task_row(t, pages[2].progress.get(t.id)) for t in pages[2].items
            if t.assignee_id is None]
    in_review = [t for t in pages[0].items
                 if t.type == TaskType.review and t.status == S.in_progress]
    return own, free, in_review


def _mine_row(actor: User, task: Task, progress) -> dict:  # noqa: ANN001
    who = rules.Who(is_admin=has_role(actor, Role.admin), is_assignee=True)
    nxt = rules.allowed_next(S(task.status), who=who, has_assignee=True)
    return {**task_row(task, progress), "can_start": S.in_progress in nxt,
            "can_finish": S.done in nxt}


async def _review_panel(actor: User, task: Task, *, on_change) -> None:  # noqa: ANN001
    """The reviews of one in-progress review task, each accepted or rejected here."""
    rows = await run.io_bound(_review_rows, actor, task)
    with ui.card().classes("w-full gap-2 p-4").props(f"flat bordered data-testid=review-{task.id}"):
        ui.label(f"Review: {task.name}").classes("text-subtitle1 font-medium")
        table = ui.table(columns=REVIEW_COLUMNS, rows=rows, row_key="id") \
            .classes("w-full").props("flat dense")
        for name, cell in REVIEW_CELLS.items():
            table.add_slot(f"body-cell-{name}", cell)
        empty_state(table, "This review task holds no annotations")

    async def decide(review_id: int, result: ReviewResult, comment: str = "") -> str | None:
        try:
            with session_scope() as session:
                reviews.decide_review(session, actor=actor, review_id=review_id, result=result,
                                      comment=comment)
        except ServiceError as exc:
            return error_text(exc)
        ui.notify(f"Review {result.value}", type="positive")
        await on_change()
        return None

    async def accept(event) -> None:  # noqa: ANN001
        problem = await decide(int(event.args), ReviewResult.accepted)
        if problem:
            ui.notify(problem, type="negative", multi_line=True)

    def reject(event) -> None:  # noqa: ANN001
        with ui.dialog() as dialog, ui.card().classes("w-[28rem] gap-3") \
                .props("data-testid=reject-dialog"):
            ui.label("Reject annotation").classes("text-h6")
            comment = ui.textarea("What needs to change?").props(
                "outlined autogrow autofocus data-testid=review-comment").classes("w-full")
            error = ui.label().classes("text-negative").props("data-testid=review-error")

            async def save() -> None:
                problem = await decide(int(event.args), ReviewResult.rejected,
                                       comment.value or "")
                if problem:
                    error.set_text(problem)
                else:
                    dialog.close()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button("Reject", color="negative", on_click=save).props(
                    "unelevated no-caps data-testid=review-reject-save")
        dialog.open()

    table.on("accept", accept)
    table.on("reject", reject)


def _review_rows(actor: User, task: Task) -> list[dict]:
    with session_scope() as session:
        found = reviews.list_reviews(session, actor=actor, task_id=task.id)
        rows = []
        drawn = {r.annotation_id: annotations.read_annotation(session, actor=actor,
                                                              annotation_id=r.annotation_id)
                 for r in found}
        assignments = {a.id: a for a in labels.list_assignments(session, actor=actor,
                                                                task_id=task.id)}
        titles = series_titles(session, (a.series_id for a in assignments.values()))
        names = {lb.id: lb for lb in labels.list_labels(session, include_archived=True)}
    for review in found:
        annotation = drawn[review.annotation_id]
        assignment = assignments.get(annotation.label_assignment_id)
        label = names.get(assignment.label_id) if assignment else None
        rows.append({"id": review.id, "label": label.name if label else "?",
                     "color": label.color if label else "#999",
                     "image": titles.get(assignment.series_id, "") if assignment else "",
                     "version": annotation.version, "result": review.result or "",
                     "comment": review.comment})
    return rows
