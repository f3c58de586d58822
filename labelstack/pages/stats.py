"""/stats: per-user statistics over a date range, and the recent audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from nicegui import events, ui
from sqlmodel import Session

from labelstack.annotation.agreement import Spread
from labelstack.components.calls import call, try_call
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.workflow import (
    TableView,
    date_input,
    duration,
    empty_state,
    keep_row_count,
    loading,
    notify_detail,
    parse_date,
    show_page,
    user_names,
)
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services import audit_log, stats
from labelstack.services.annotations import agreement

STAT_COLUMNS = [
    {"name": "user", "label": "User", "field": "user", "sortable": True, "align": "left"},
    {"name": "roles", "label": "Roles", "field": "roles", "align": "left"},
    {"name": "label", "label": "Label tasks", "field": "label", "sortable": True, "align": "right"},
    {"name": "annotation", "label": "Annotation tasks", "field": "annotation", "sortable": True,
     "align": "right"},
    {"name": "review", "label": "Review tasks", "field": "review", "sortable": True,
     "align": "right"},
    {"name": "saved", "label": "Annotations saved", "field": "saved", "sortable": True,
     "align": "right"},
    {"name": "received", "label": "Review results received", "field": "received",
     "align": "left"},
    {"name": "given", "label": "Reviews given", "field": "given", "sortable": True,
     "align": "right"},
    {"name": "active", "label": "Active time", "field": "active", "sortable": True,
     "align": "right", ":format": "(v, row) => row.active_text"},
]
AUDIT_COLUMNS = [
    {"name": "time", "label": "Time (UTC)", "field": "time", "align": "left"},
    {"name": "actor", "label": "User", "field": "actor", "align": "left"},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
    {"name": "entity", "label": "Entity", "field": "entity", "align": "left"},
    {"name": "details", "label": "Details", "field": "details", "align": "left"},
]
RECEIVED_CELL = """
    <q-td :props="props">
      <span v-if="!props.value.length" class="text-grey-5">—</span>
      <q-chip v-for="r in props.value" :key="r.result" dense square
              :color="{accepted: 'green-1', rejected: 'red-1', corrected: 'orange-1'}[r.result]"
              :text-color="{accepted: 'green-10', rejected: 'red-10', corrected: 'orange-10'}[r.result]">
        {{ r.result }} {{ r.count }}</q-chip>
    </q-td>"""
DETAILS_CELL = """
    <q-td :props="props">
      <div class="text-caption text-grey-8 ellipsis" style="max-width: 480px">{{ props.value }}
        <q-tooltip v-if="props.value.length > 60" max-width="600px">{{ props.value }}</q-tooltip></div>
    </q-td>"""
AGREEMENT_COLUMNS = [
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "images", "label": "Images compared", "field": "images", "align": "right"},
    {"name": "pairs", "label": "Version pairs", "field": "pairs", "align": "right"},
    {"name": "dice", "label": "Dice (mean ± sd)", "field": "dice", "align": "right"},
    {"name": "hd95", "label": "HD95 mm (mean ± sd)", "field": "hd95", "align": "right"},
    {"name": "volume", "label": "Volume difference ml (mean ± sd)", "field": "volume",
     "align": "right"},
]
AUDIT_PAGE = 25


@ui.page("/stats")
async def stats_page() -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    today = date.today()
    people = await call(user_names, roles=Role.admin)
    trail = TableView(sort_by="time", page_size=AUDIT_PAGE)
    with frame("Statistics", user=actor):
        with ui.row().classes("w-full items-center gap-2"):
            since = date_input("From", testid="stats-from",
                               value=(today - timedelta(days=30)).isoformat()).classes("w-44")
            until = date_input("To (inclusive)", testid="stats-to",
                               value=today.isoformat()).classes("w-44")
            for days, text in ((7, "7 days"), (30, "30 days"), (365, "1 year")):
                ui.button(text, on_click=lambda d=days: set_range(d)).props("flat dense no-caps")
            range_error = ui.label().classes("text-negative")
        table = ui.table(columns=STAT_COLUMNS, rows=[], row_key="id") \
            .classes("w-full").props("flat bordered loading data-testid=stats-table")
        table.add_slot("body-cell-received", RECEIVED_CELL)
        empty_state(table, "No users yet", icon="group")

        ui.label("Agreement per label").classes("text-h6 font-medium mt-4")
        ui.label("Between the handed-in versions of the same label on the same image (a "
                 "correction against what it corrected, a rework against the rejected work).") \
            .classes("text-grey-7 -mt-3")
        agreements = ui.table(columns=AGREEMENT_COLUMNS, rows=[], row_key="label") \
            .classes("w-full").props("flat bordered dense loading data-testid=stats-agreement")
        empty_state(agreements, "No label has two handed-in versions to compare yet", icon="compare")

        ui.label("Recent activity").classes("text-h6 font-medium mt-4")
        with ui.row().classes("w-full items-center gap-2"):
            who = ui.select({0: "Anyone", **people}, value=0, label="User").props(
                "outlined dense options-dense data-testid=audit-filter-user").classes("w-56")
            action = ui.input("Action", placeholder="e.g. task.* or label.assign").props(
                "outlined dense clearable debounce=400 data-testid=audit-filter-action") \
                .classes("w-64")
        audit = ui.table(columns=AUDIT_COLUMNS, rows=[], row_key="id",
                         pagination=trail.pagination) \
            .classes("w-full").props("flat bordered dense loading data-testid=audit-table")
        audit.add_slot("body-cell-details", DETAILS_CELL)
        audit.props["rows-per-page-options"] = [AUDIT_PAGE]
        empty_state(audit, "No events match", icon="history")

    async def load_stats() -> None:
        try:
            start, end = parse_date(since.value), parse_date(until.value)
        except ValueError as exc:
            range_error.set_text(str(exc))
            return
        range_error.set_text("")
        rows = await try_call(_stat_rows, start, end, roles=Role.admin, report=notify_detail)
        if rows is None:
            return
        table.rows = rows
        loading(table, False)
        table.update()

    async def set_range(days: int) -> None:
        since.set_value((date.today() - timedelta(days=days)).isoformat())
        until.set_value(date.today().isoformat())

    async def load_audit(page: int = 1) -> None:
        trail.page = page
        trail.filters = {"actor_id": who.value or None,
                         "action": (action.value or "").strip() or None}
        found = await try_call(_audit_rows, people, trail, roles=Role.admin,
                               report=notify_detail)
        if found is None:
            return
        show_page(audit, trail, *found)

    async def on_request(event: events.GenericEventArguments) -> None:
        await load_audit(event.args["pagination"].get("page", 1))

    since.on_value_change(load_stats)
    until.on_value_change(load_stats)
    who.on_value_change(lambda: load_audit())
    action.on_value_change(lambda: load_audit())
    keep_row_count(audit, lambda: trail.total)
    audit.on("request", on_request)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await load_stats()
    await load_audit()
    agreement_rows = await try_call(_agreement_rows, roles=Role.admin, report=notify_detail)
    agreements.rows = agreement_rows or []
    loading(agreements, False)
    agreements.update()


def _stat_rows(session: Session, start: date | None, end: date | None, *,
               actor: User) -> list[dict]:
    since = datetime.combine(start, time.min, UTC) if start else None
    until = datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None
    found = stats.all_user_stats(session, actor=actor, since=since, until=until)
    rows = []
    for entry in found:
        t = entry.total
        rows.append({"id": entry.user.id, "user": entry.user.display_name,
                     "roles": ", ".join(sorted(entry.user.role_set)),
                     "label": t.tasks_done["label"], "annotation": t.tasks_done["annotation"],
                     "review": t.tasks_done["review"], "saved": t.annotations_saved,
                     "received": [{"result": k, "count": v}
                                  for k, v in sorted(t.review_results_received.items())],
                     "given": t.reviews_given, "active": t.active_time,
                     "active_text": duration(t.active_time)})
    return rows


def _audit_rows(session: Session, people: dict[int, str], view: TableView, *,
                actor: User) -> tuple[list[dict], int]:
    """One page of the trail, newest first."""
    found, total = audit_log.list_events(session, actor=actor, **view.filters,
                                         offset=(view.page - 1) * view.page_size,
                                         limit=view.page_size, order="newest")
    rows = [{"id": e.id, "time": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
             "actor": people.get(e.actor_id, "system") if e.actor_id else "system",
             "action": e.action,
             "entity": f"{e.entity_type} {e.entity_id}" if e.entity_id else e.entity_type,
             "details": json.dumps(e.details, default=str)[:500]}
            for e in found]
    return rows, total


def _agreement_rows(session: Session, *, actor: User) -> list[dict]:
    return [{"label": entry.label, "images": entry.images, "pairs": entry.pairs,
             "dice": _spread(entry.dice, 3), "hd95": _spread(entry.hd95_mm, 1),
             "volume": _spread(entry.volume_difference_ml, 2)}
            for entry in agreement.label_agreement(session, actor=actor) if entry.pairs]


def _spread(value: Spread, digits: int) -> str:
    if value.mean is None:
        return "—"
    return f"{value.mean:.{digits}f} ± {value.std or 0:.{digits}f}"
