"""/stats: the team's work over a period (overview, chart, per user, review outcomes,
agreement), each table exportable as CSV, and the activity feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from nicegui import events, ui
from sqlmodel import Session

from labelstack.annotation.agreement import Spread
from labelstack.components.calls import call, try_call
from labelstack.components.frame import frame, signed_in_user
from labelstack.components.stats_chart import METRICS, chart_options
from labelstack.components.table_export import export_button
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
from labelstack.services import activity, stats
from labelstack.services.annotations import agreement

STAT_COLUMNS: list[dict] = [
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
OUTCOME_COLUMNS: list[dict] = [
    {"name": "name", "label": "Annotator", "field": "name", "align": "left"},
    {"name": "decided", "label": "Reviewed", "field": "decided", "align": "right"},
    {"name": "accepted", "label": "Accepted", "field": "accepted", "align": "right"},
    {"name": "corrected", "label": "Corrected", "field": "corrected", "align": "right"},
    {"name": "rejected", "label": "Rejected", "field": "rejected", "align": "right"},
    {"name": "rate", "label": "Accept rate", "field": "rate", "align": "right",
     ":format": "(v, row) => row.rate_text"},
]
LABEL_OUTCOME_COLUMNS: list[dict] = [{**OUTCOME_COLUMNS[0], "label": "Label"}, *OUTCOME_COLUMNS[1:]]
FEED_COLUMNS: list[dict] = [
    {"name": "time", "label": "Time (UTC)", "field": "time", "align": "left"},
    {"name": "sentence", "label": "What happened", "field": "sentence", "align": "left"},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
]
AGREEMENT_COLUMNS: list[dict] = [
    {"name": "label", "label": "Label", "field": "label", "align": "left"},
    {"name": "images", "label": "Images compared", "field": "images", "align": "right"},
    {"name": "pairs", "label": "Version pairs", "field": "pairs", "align": "right"},
    {"name": "dice", "label": "Dice (mean ± sd)", "field": "dice", "align": "right"},
    {"name": "hd95", "label": "HD95 mm (mean ± sd)", "field": "hd95", "align": "right"},
    {"name": "volume", "label": "Volume difference ml (mean ± sd)", "field": "volume",
     "align": "right"},
]
RECEIVED_CELL = """
    <q-td :props="props">
      <span v-if="!props.value.length" class="text-grey-5">—</span>
      <q-chip v-for="r in props.value" :key="r.result" dense square
              :color="{accepted: 'green-1', rejected: 'red-1', corrected: 'orange-1'}[r.result]"
              :text-color="{accepted: 'green-10', rejected: 'red-10', corrected: 'orange-10'}[r.result]">
        {{ r.result }} {{ r.count }}</q-chip>
    </q-td>"""
SENTENCE_CELL = """
    <q-td :props="props" style="white-space: normal">
      <template v-for="(p, i) in props.row.parts" :key="i"><a v-if="p.href" :href="p.href"
        class="text-primary text-weight-medium" style="text-decoration: none">{{ p.text }}</a
      ><span v-else>{{ p.text }}</span></template>
    </q-td>"""
ACTION_CELL = """
    <q-td :props="props"><code class="text-caption text-grey-7">{{ props.value }}</code></q-td>"""
FEED_PAGE = 25
DEFAULT_DAYS = 30


@dataclass(kw_only=True, slots=True)
class Range:
    first: date
    last: date
    period: stats.Period

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time.min, UTC)

    @property
    def until(self) -> datetime | None:
        return None if self.last == date.max else datetime.combine(
            self.last + timedelta(days=1), time.min, UTC)


@ui.page("/stats")
async def stats_page(user: int = 0) -> None:
    actor = signed_in_user(Role.admin)
    if actor is None:
        return
    people = await call(user_names, roles=Role.admin)
    page = StatsPage(actor, people, feed_user=user if user in people else 0)
    await ui.context.client.connected()  # fill in after the page shows: no stale re-render
    await page.load()


class StatsPage:
    def __init__(self, actor: User, people: dict[int, str], *, feed_user: int) -> None:
        self.people = people
        self.trail = TableView(sort_by="time", page_size=FEED_PAGE)
        self.throughput: stats.Throughput | None = None
        today = date.today()
        with frame("Statistics", user=actor):
            with ui.row().classes("w-full items-center gap-2"):
                self.since = date_input("From", testid="stats-from", value=(
                    today - timedelta(days=DEFAULT_DAYS)).isoformat()).classes("w-44")
                self.until = date_input("To (inclusive)", testid="stats-to",
                                        value=today.isoformat()).classes("w-44")
                for days, text in ((7, "7 days"), (30, "30 days"), (365, "1 year")):
                    ui.button(text, on_click=lambda d=days: self.set_range(d)) \
                        .props("flat dense no-caps")
                self.range_error = ui.label().classes("text-negative")
                ui.space()
                self.period = ui.toggle({"day": "Per day", "week": "Per week"}, value="day") \
                    .props("dense no-caps unelevated toggle-color=primary "
                           "data-testid=stats-period")
            self.overview = ui.row().classes("w-full gap-3 no-wrap") \
                .props("data-testid=stats-overview")
            with ui.card().classes("w-full p-4 gap-2").props("flat bordered"):
                with ui.row().classes("w-full items-center"):
                    ui.label("Throughput").classes("text-h6 font-medium")
                    ui.space()
                    self.metric = ui.toggle(METRICS, value="tasks_done").props(
                        "dense no-caps unelevated toggle-color=primary "
                        "data-testid=stats-metric")
                self.chart = ui.echart({"series": []}).classes("w-full h-80") \
                    .props("data-testid=stats-chart")
            self.users = self._section("Per user", "stats-users", STAT_COLUMNS,
                                       "No users yet", "group", testid="stats-table")
            self.users.add_slot("body-cell-received", RECEIVED_CELL)
            ui.label("Review outcomes").classes("text-h6 font-medium mt-2")
            with ui.row().classes("w-full gap-4 no-wrap items-start"):
                with ui.column().classes("col gap-0"):
                    self.by_annotator = self._section(
                        "Per annotator", "stats-outcomes-annotator", OUTCOME_COLUMNS,
                        "No decided reviews in this period", "fact_check", small=True)
                with ui.column().classes("col gap-0"):
                    self.by_label = self._section(
                        "Per label", "stats-outcomes-label", LABEL_OUTCOME_COLUMNS,
                        "No decided reviews in this period", "fact_check", small=True)
            self.agreements = self._section(
                "Agreement per label", "stats-agreement-section", AGREEMENT_COLUMNS,
                "No label has two handed-in versions to compare yet", "compare",
                testid="stats-agreement",
                note="Between the handed-in versions of the same label on the same image (a "
                     "correction against what it corrected, a rework against the rejected work).")
            self._feed(feed_user)
        self.since.on_value_change(self.load_stats)
        self.until.on_value_change(self.load_stats)
        self.period.on_value_change(self.load_chart)
        self.metric.on_value_change(self.draw_chart)

    def _section(self, title: str, section: str, columns: list[dict], empty: str, icon: str,
                 *, testid: str | None = None, note: str = "", small: bool = False) -> ui.table:
        with ui.column().classes("w-full gap-1 mt-2").props(f"data-testid={section}"):
            with ui.row().classes("w-full items-center"):
                ui.label(title).classes("text-subtitle1 font-medium" if small
                                        else "text-h6 font-medium")
                ui.space()
                export_button(section.removeprefix("stats-").removesuffix("-section"),
                              lambda: table)
            if note:
                ui.label(note).classes("text-grey-7 -mt-1")
            table = ui.table(columns=columns, rows=[], row_key="id").classes("w-full").props(
                f"flat bordered dense loading data-testid={testid or section + '-table'}")
            empty_state(table, empty, icon=icon)
        return table

    def _feed(self, feed_user: int) -> None:
        with ui.column().classes("w-full gap-1 mt-2").props("data-testid=activity-feed"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Recent activity").classes("text-h6 font-medium")
                ui.space()
                self.who = ui.select({0: "Anyone", **self.people}, value=feed_user,
                                     label="User").props(
                    "outlined dense options-dense data-testid=audit-filter-user").classes("w-56")
                self.action = ui.input("Action", placeholder="e.g. task.* or label.assign").props(
                    "outlined dense clearable debounce=400 data-testid=audit-filter-action") \
                    .classes("w-64")
                export_button("activity", lambda: self.feed)
            self.feed = ui.table(columns=FEED_COLUMNS, rows=[], row_key="id",
                                 pagination=self.trail.pagination).classes("w-full") \
                .props("flat bordered dense loading data-testid=audit-table")
            self.feed.add_slot("body-cell-sentence", SENTENCE_CELL)
            self.feed.add_slot("body-cell-action", ACTION_CELL)
            self.feed.props["rows-per-page-options"] = [FEED_PAGE]
            empty_state(self.feed, "No events match", icon="history")
        self.who.on_value_change(lambda: self.load_feed())
        self.action.on_value_change(lambda: self.load_feed())
        keep_row_count(self.feed, lambda: self.trail.total)
        self.feed.on("request", self.on_request)

    async def load(self) -> None:
        await self.load_stats()
        await self.load_feed()
        rows = await try_call(_agreement_rows, roles=Role.admin, report=notify_detail)
        _fill(self.agreements, rows or [])

    def chosen_range(self) -> Range | None:
        """The range in the fields; an open end is the default 30 days up to today."""
        try:
            first, last = parse_date(self.since.value), parse_date(self.until.value)
        except ValueError as exc:
            self.range_error.set_text(str(exc))
            return None
        last = last or date.today()
        first = first or last - timedelta(days=DEFAULT_DAYS)
        if last < first:
            self.range_error.set_text("The period ends before it starts.")
            return None
        if (last - first).days >= stats.MAX_DAYS:
            self.range_error.set_text(f"Choose at most {stats.MAX_DAYS} days (about ten years).")
            return None
        self.range_error.set_text("")
        return Range(first=first, last=last, period=self.period.value)

    async def load_stats(self) -> None:
        chosen = self.chosen_range()
        if chosen is None:
            return
        found = await try_call(_period_view, chosen, roles=Role.admin, report=notify_detail)
        if found is None:
            return
        user_rows, overview, outcomes, self.throughput = found
        _fill(self.users, user_rows)
        _fill(self.by_annotator, _outcome_rows(outcomes.per_annotator))
        _fill(self.by_label, _outcome_rows(outcomes.per_label))
        self.show_overview(overview)
        self.draw_chart()

    async def load_chart(self) -> None:
        chosen = self.chosen_range()
        if chosen is None:
            return
        found = await try_call(_throughput, chosen, roles=Role.admin, report=notify_detail)
        if found is not None:
            self.throughput = found
            self.draw_chart()

    def draw_chart(self) -> None:
        if self.throughput is None:
            return
        self.chart.options.clear()
        self.chart.options.update(chart_options(self.throughput, self.metric.value))
        self.chart.update()

    def show_overview(self, o: stats.TeamOverview) -> None:
        now = o.tasks_now
        figures = [
            ("People active", str(o.people_active), "people"),
            ("Tasks done", str(o.tasks_done), "tasks-done"),
            ("Annotations saved", str(o.annotations_saved), "saved"),
            ("Active time", duration(o.active_time), "active"),
            ("Reviews decided", str(o.reviews_decided), "reviews"),
            ("Accept rate", _percent(o.accept_rate), "accept-rate"),
            ("Open now", str(now.get("open", 0) + now.get("unassigned", 0)), "open-now"),
            ("In progress now", str(now.get("in_progress", 0)), "in-progress-now"),
            ("Overdue now", str(o.overdue_now), "overdue-now"),
        ]
        self.overview.clear()
        with self.overview:
            for title, value, key in figures:
                with ui.card().classes("col px-3 py-2 gap-0").props(
                        f"flat bordered data-testid=overview-{key}"):
                    ui.label(title).classes("text-caption text-grey-7 ellipsis") \
                        .style("white-space: nowrap")
                    ui.label(value).classes("text-h6 font-medium" + (
                        " text-negative" if key == "overdue-now" and o.overdue_now else ""))

    async def set_range(self, days: int) -> None:
        self.since.set_value((date.today() - timedelta(days=days)).isoformat())
        self.until.set_value(date.today().isoformat())

    async def load_feed(self, page: int = 1) -> None:
        self.trail.page = page
        self.trail.filters = {"actor_id": self.who.value or None,
                              "action": (self.action.value or "").strip() or None}
        found = await try_call(_feed_rows, self.trail, roles=Role.admin, report=notify_detail)
        if found is not None:
            show_page(self.feed, self.trail, *found)

    async def on_request(self, event: events.GenericEventArguments) -> None:
        await self.load_feed(event.args["pagination"].get("page", 1))


def _fill(table: ui.table, rows: list[dict]) -> None:
    table.rows = rows
    loading(table, False)
    table.update()


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def _period_view(session: Session, chosen: Range, *, actor: User) -> tuple[
        list[dict], stats.TeamOverview, stats.ReviewOutcomes, stats.Throughput]:
    return (_stat_rows(session, chosen, actor=actor),
            stats.team_overview(session, actor=actor, since=chosen.since, until=chosen.until),
            stats.review_outcomes(session, actor=actor, since=chosen.since, until=chosen.until),
            _throughput(session, chosen, actor=actor))


def _throughput(session: Session, chosen: Range, *, actor: User) -> stats.Throughput:
    return stats.throughput(session, actor=actor, first=chosen.first, last=chosen.last,
                            period=chosen.period)


def _stat_rows(session: Session, chosen: Range, *, actor: User) -> list[dict]:
    found = stats.all_user_stats(session, actor=actor, since=chosen.since, until=chosen.until)
    rows = []
    for entry in found:
        t = entry.total
        received = [{"result": k, "count": v} for k, v in sorted(t.review_results_received.items())]
        rows.append({"id": entry.user.id, "user": entry.user.display_name,
                     "roles": ", ".join(sorted(entry.user.role_set)),
                     "label": t.tasks_done["label"], "annotation": t.tasks_done["annotation"],
                     "review": t.tasks_done["review"], "saved": t.annotations_saved,
                     "received": received,
                     "received_text": ", ".join(f"{r['result']} {r['count']}" for r in received) or "—",
                     "given": t.reviews_given, "active": t.active_time,
                     "active_text": duration(t.active_time)})
    return rows


def _outcome_rows(found: list[stats.Outcomes]) -> list[dict]:
    return [{"id": o.name, "name": o.name, "decided": o.decided,
             "accepted": o.counts["accepted"], "corrected": o.counts["corrected"],
             "rejected": o.counts["rejected"], "rate": o.accept_rate,
             "rate_text": _percent(o.accept_rate)} for o in found]


def _feed_rows(session: Session, view: TableView, *, actor: User) -> tuple[list[dict], int]:
    """One page of the feed, newest first."""
    found, total = activity.feed(session, actor=actor, **view.filters,
                                 offset=(view.page - 1) * view.page_size, limit=view.page_size)
    return [{"id": a.id, "time": a.at.strftime("%Y-%m-%d %H:%M:%S"), "action": a.action,
             "sentence": a.sentence, "parts": [{"text": p.text, "href": p.href} for p in a.parts]}
            for a in found], total


def _agreement_rows(session: Session, *, actor: User) -> list[dict]:
    return [{"id": entry.label, "label": entry.label, "images": entry.images,
             "pairs": entry.pairs, "dice": _spread(entry.dice, 3),
             "hd95": _spread(entry.hd95_mm, 1), "volume": _spread(entry.volume_difference_ml, 2)}
            for entry in agreement.label_agreement(session, actor=actor) if entry.pairs]


def _spread(value: Spread, digits: int) -> str:
    if value.mean is None:
        return "—"
    return f"{value.mean:.{digits}f} ± {value.std or 0:.{digits}f}"
