"""/labels: admins define labels (name, colour, description) and assign them to many images."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import events, ui
from sqlmodel import Session

from labelstack.components.calls import try_call
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.label_dialogs import AssignDialog, DeleteDialog, LabelDialog
from labelstack.components.workflow import Done, empty_state, loading
from labelstack.db.enums import Role
from labelstack.db.models import Label, User
from labelstack.services.labels import catalog as labels

Opener = Callable[[Label, Done], LabelDialog | AssignDialog | DeleteDialog]
COLUMNS = [
    {"name": "name", "label": "Label", "field": "name", "sortable": True, "align": "left"},
    {"name": "description", "label": "Description", "field": "description", "align": "left"},
    {"name": "images", "label": "Images", "field": "images", "sortable": True, "align": "right"},
    {"name": "annotations", "label": "Annotations", "field": "annotations", "sortable": True,
     "align": "right"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]


@ui.page("/labels")
async def labels_page() -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    with frame("Labels", user=actor):
        with ui.row().classes("w-full items-center"):
            search = ui.input(placeholder="Search labels").props(
                "outlined dense clearable data-testid=labels-search").classes("w-72")
            archived = ui.switch("Show archived").props("data-testid=labels-archived")
            ui.space()
            ui.button("Assign to images", icon="add_photo_alternate",
                      on_click=lambda: AssignDialog(None, on_done=refresh).open()) \
                .props("outline no-caps data-testid=labels-assign")
            ui.button("New label", icon="add",
                      on_click=lambda: LabelDialog(None, on_saved=refresh).open()) \
                .props("unelevated no-caps data-testid=labels-new")
        table = ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=20) \
            .classes("w-full").props("flat bordered loading data-testid=labels-table")
        empty_state(table, "No labels yet — create one with “New label”", icon="label")
        table.add_slot("body-cell-name", """
            <q-td :props="props">
              <div class="row items-center no-wrap q-gutter-x-sm">
                <div :style="{background: props.row.color}" data-testid="label-swatch"
                     style="width: 18px; height: 18px; border-radius: 4px;
                            border: 1px solid rgba(0,0,0,.15)"></div>
                <span class="text-weight-medium">{{ props.value }}</span>
                <q-badge v-if="props.row.archived" color="grey-5" label="archived" />
              </div>
            </q-td>""")
        table.add_slot("body-cell-actions", """
            <q-td :props="props">
              <q-btn flat dense icon="add_photo_alternate"
                     :data-testid="'label-assign-' + props.row.name"
                     @click="$parent.$emit('assign', props.row.id)">
                <q-tooltip>Assign to images</q-tooltip></q-btn>
              <q-btn flat dense icon="edit" :data-testid="'label-edit-' + props.row.name"
                     @click="$parent.$emit('edit', props.row.id)"><q-tooltip>Edit</q-tooltip></q-btn>
              <q-btn flat dense icon="delete" :data-testid="'label-delete-' + props.row.name"
                     @click="$parent.$emit('delete', props.row.id)"><q-tooltip>Delete</q-tooltip></q-btn>
            </q-td>""")
        search.bind_value_to(table, "filter")

    async def refresh() -> None:
        rows = await try_call(_rows, archived.value, roles=Role.admin)
        if rows is None:
            return
        table.rows = rows
        loading(table, False)
        table.update()

    def on_row(dialog: Opener) -> Callable[[events.GenericEventArguments], Awaitable[None]]:
        """A row button's handler: the row's label, read fresh, opened in `dialog`."""
        async def handler(event: events.GenericEventArguments) -> None:
            label = await try_call(_label, int(event.args), roles=Role.admin)
            if label is not None:
                await dialog(label, refresh).open()
        return handler

    table.on("edit", on_row(lambda label, done: LabelDialog(label, on_saved=done)))
    table.on("assign", on_row(lambda label, done: AssignDialog(label, on_done=done)))
    table.on("delete", on_row(lambda label, done: DeleteDialog(label, on_done=done)))
    archived.on_value_change(refresh)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await refresh()


def _label(session: Session, label_id: int, *, actor: User) -> Label:
    return labels.get_label(session, label_id)


def _rows(session: Session, include_archived: bool, *, actor: User) -> list[dict]:
    found = labels.list_labels(session, include_archived=include_archived)
    counts = labels.usage_counts(session, actor=actor)
    return [{"id": lb.id, "name": lb.name, "color": lb.color, "description": lb.description,
             "archived": lb.archived, "images": counts.get(lb.id, (0, 0))[0],
             "annotations": counts.get(lb.id, (0, 0))[1]}
            for lb in found]
