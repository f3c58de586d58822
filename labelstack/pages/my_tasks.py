"""/my-tasks: an annotator's or reviewer's own tasks, the ones they can take, and their reviews."""

from __future__ import annotations

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import try_call
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.label_task_panel import label_task_panel
from labelstack.components.review_panel import review_panel
from labelstack.components.workflow import (
    DUE_CELL,
    NAME_CELL,
    PRIORITY_CELL,
    PROGRESS_CELL,
    STATUS_CELL,
    empty_state,
    loading,
    task_row,
)
from labelstack.db.enums import Role, TaskStatus, TaskType
from labelstack.db.models import Task, User
from labelstack.services.tasks import queries as task_queries
from labelstack.services.tasks import records
from labelstack.services.tasks.items import Progress
from labelstack.services.tasks.queries import TaskFilter, TaskRow
from labelstack.services.workflow import rework, transitions
from labelstack.services.workflow.rework import Rejection

S = TaskStatus
ROLES = (Role.annotator, Role.reviewer)
PANELS = {TaskType.label: label_task_panel, TaskType.review: review_panel}
"""What an in-progress task shows below the list (annotation work happens in the viewer)."""
COMMON = [
    {"name": "name", "label": "Task", "field": "name", "align": "left",
     "style": "white-space: normal; min-width: 240px"},
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
      <q-btn v-if="props.row.can_annotate" unelevated dense no-caps color="primary" icon="brush"
             label="Open" class="q-px-sm" :data-testid="'task-open-' + props.row.id"
             :href="'/task/' + props.row.id" type="a" />
      <q-btn v-if="props.row.can_finish" outline dense no-caps color="primary" icon="check"
             label="Finish" class="q-px-sm" :data-testid="'task-finish-' + props.row.id"
             @click="$parent.$emit('status', {id: props.row.id, status: 'done'})" />
    </q-td>"""
MINE_NAME_CELL = """
    <q-td :props="props">
      <a :href="'/tasks/' + props.row.id" class="text-weight-medium text-primary"
         style="text-decoration: none" :data-testid="'task-link-' + props.row.id">
        {{ props.value }}</a>
      <q-badge v-if="props.row.rejections.length" color="negative" class="q-ml-sm"
               :label="props.row.rejections.length + ' rejected'"
               :data-testid="'task-rejected-' + props.row.id" />
      <div v-if="props.row.description" class="text-caption text-grey-7 ellipsis-2-lines">
        {{ props.row.description }}</div>
      <div v-for="r in props.row.rejections" :key="r.annotation"
           class="q-mt-xs q-pa-xs text-caption bg-red-1 rounded-borders"
           :data-testid="'task-rejection-' + props.row.id">
        <q-icon name="feedback" color="negative" class="q-mr-xs" />
        <b>{{ r.reviewer }}</b> rejected {{ r.annotation }}<span v-if="r.comment">:
        “{{ r.comment }}”</span>
        <div v-if="r.rework_task_id" class="q-ml-md">Redo it in
          <a v-if="r.rework_link" :href="'/tasks/' + r.rework_task_id" class="text-primary"
             :data-testid="'task-rework-' + r.rework_task_id">{{ r.rework_task }}</a>
          <span v-else>{{ r.rework_task }}</span>
          ({{ r.rework_status.replace('_', ' ') }})</div>
        <div v-else class="q-ml-md text-grey-7">No rework task yet: an admin creates one.</div>
      </div>
    </q-td>"""
TAKE_ACTION = """
    <q-td :props="props">
      <q-btn unelevated dense no-caps color="primary" icon="back_hand" label="Take" class="q-px-sm"
             :data-testid="'task-take-' + props.row.id" @click="$parent.$emit('take', props.row.id)" />
    </q-td>"""


@ui.page("/my-tasks")
async def my_tasks_page() -> None:
    actor = signed_in_user(*ROLES)
    if actor is None:
        return
    with frame("My tasks", user=actor):
        mine = _task_table(MINE_COLUMNS, "my-tasks-table", MINE_ACTIONS,
                           "No tasks yet — take one from “Available tasks” below",
                           name_cell=MINE_NAME_CELL)
        work_area = ui.column().classes("w-full gap-4")
        ui.label("Available tasks").classes("text-h6 font-medium mt-4")
        ui.label("Unassigned tasks of the kinds your role does; take one to make it yours.") \
            .classes("text-grey-7 -mt-3")
        available = _task_table(AVAILABLE_COLUMNS, "available-tasks-table", TAKE_ACTION,
                                "No tasks are waiting to be taken")

    async def refresh() -> None:
        loaded = await try_call(_load, roles=ROLES)
        if loaded is None:
            return
        own, free, working = loaded
        mine.rows, available.rows = own, free
        loading(mine, False)
        loading(available, False)
        mine.update()
        available.update()
        work_area.clear()
        with work_area:
            for task in working:
                panel = PANELS.get(task.type)
                if panel is not None:
                    await panel(task, on_change=refresh)

    async def change_status(event: events.GenericEventArguments) -> None:
        task = await try_call(transitions.set_status, task_id=event.args["id"],
                              status=S(event.args["status"]), roles=ROLES)
        if task is not None:
            verb = "started" if task.status == S.in_progress else "finished"
            ui.notify(f"“{task.name}” {verb}", type="positive")
        await refresh()

    async def take(event: events.GenericEventArguments) -> None:
        task = await try_call(transitions.take_task, task_id=int(event.args), roles=ROLES)
        if task is not None:
            ui.notify(f"“{task.name}” is yours now", type="positive")
        await refresh()

    mine.on("status", change_status)
    available.on("take", take)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await refresh()


def _task_table(columns: list[dict], testid: str, actions: str, empty: str, *,
                name_cell: str = NAME_CELL) -> ui.table:
    table = ui.table(columns=columns, rows=[], row_key="id", pagination=20) \
        .classes("w-full").props(f"flat bordered loading data-testid={testid}")
    for name, cell in (("name", name_cell), ("status", STATUS_CELL), ("priority", PRIORITY_CELL),
                       ("due_date", DUE_CELL), ("progress", PROGRESS_CELL), ("actions", actions)):
        table.add_slot(f"body-cell-{name}", cell)
    empty_state(table, empty, icon="checklist")
    return table


def _load(session: Session, *, actor: User) -> tuple[list[dict], list[dict], list[TaskRow]]:
    """My active tasks (in progress, then open), my finished ones, and the takeable ones."""
    queries = (
        TaskFilter(assignee_id=actor.id, status=[S.in_progress, S.open],
                   sort="status,-priority,due_date", page_size=200),
        TaskFilter(assignee_id=actor.id, status=[S.done, S.cancelled], sort="-updated_at",
                   page_size=20),
        TaskFilter(status=[S.unassigned], sort="-priority,due_date", page_size=100),
    )
    pages = [task_queries.list_tasks(session, actor=actor, query=q) for q in queries]
    rejected = rework.rejections(session, actor=actor,
                                 task_ids=[t.id for p in pages[:2] for t in p.items if t.id])
    own = [_mine_row(actor, t, p.progress.get(t.id), rejected.get(t.id or 0, []))
           for p in pages[:2] for t in p.items]
    free = [task_row(t, pages[2].progress.get(t.id)) for t in pages[2].items
            if t.assignee_id is None]
    working = [t for t in pages[0].items if t.status == S.in_progress]
    return own, free, working


def _mine_row(actor: User, task: Task | TaskRow, progress: Progress | None,
              rejections: list[Rejection]) -> dict:
    nxt = records.allowed_next(task, actor)
    return {**task_row(task, progress), "can_start": S.in_progress in nxt,
            "rejections": [{"annotation": r.annotation, "reviewer": r.reviewer,
                            "comment": r.comment, "rework_task_id": r.rework_task_id,
                            "rework_task": r.rework_task, "rework_status": r.rework_status,
                            "rework_link": r.rework_assignee_id in (None, actor.id)}
                           for r in rejections],
            "can_finish": S.done in nxt,
            "can_annotate": task.type == TaskType.annotation and task.status == S.in_progress}
