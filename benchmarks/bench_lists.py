"""Server time per page of the Tasks and Images lists and the activity feed, with 10,000
tasks and 10,000 images in PostgreSQL, against a plain SQL query of the same page.

Ours: the service the page and the API call, in a new session (as per request): the row
count, the page of rows, and what the list shows with them (task progress; a series' study;
the feed's names). Baseline: one hand-written SQL statement per page returning the same rows,
in the same order, with the columns the API shows (tasks: with their progress; series: with
their study; events: with the names their sentences use) and the count, through the same
engine, rows as tuples without type conversion. Both use the indexes of migration 0005.
Run: ``python -m benchmarks.bench_lists [--rows 10000]``; figures go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from benchmarks import interleaved_ms, print_table
from labelstack.db import session as db_session
from labelstack.db.migrate import upgrade
from labelstack.db.models import User
from labelstack.services import activity
from labelstack.services.images import catalog
from labelstack.services.tasks.queries import TaskFilter, list_tasks
from tests.services import postgres_database

WORDS = ("liver", "lung", "kidney", "spleen", "brain", "knee", "spine", "heart", "pancreas",
         "prostate", "bone", "lesion", "nodule", "vessel")
STATUSES = ("unassigned", "open", "in_progress", "done", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
MODALITIES = ("CT", "MR", "CR", "US", "PT")


def seed(engine: sa.Engine, rows: int) -> None:
    """`rows` tasks (one item each), `rows` series in `rows // 2` studies, two audit events
    per task; bulk inserts, then ANALYZE."""
    rnd = random.Random(7)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (email, name, password_hash, is_active, roles, created_at) "
            "VALUES ('admin@x.org', 'Ada Admin', '-', true, 'admin', :t), "
            "('ann@x.org', 'Ann Notator', '-', true, 'annotator', :t), "
            "('bob@x.org', 'Bob Builder', '-', true, 'annotator', :t)"), {"t": now})
        conn.execute(sa.text(
            "INSERT INTO studies (study_uid, patient_id, patient_name, study_date, "
            "study_description, accession_number, created_at) VALUES "
            "(:uid, :pid, :name, :day, :desc, '', :t)"),
            [{"uid": f"1.2.{i}", "pid": f"PAT-{i:05d}", "name": f"Doe^{rnd.choice(WORDS)}{i}",
              "day": date(2020, 1, 1) + timedelta(days=rnd.randrange(2000)),
              "desc": f"{rnd.choice(WORDS)} study", "t": now} for i in range(rows // 2)])
        conn.execute(sa.text(
            "INSERT INTO series (series_uid, study_id, modality, body_part, series_description, "
            "series_number, number_of_frames, number_of_instances, store, incomplete, "
            "created_at, updated_at) VALUES (:uid, :study, :mod, '', :desc, :num, 100, 100, "
            "'local', false, :t, :t)"),
            [{"uid": f"1.2.{i // 2}.{i}", "study": i // 2 + 1, "mod": rnd.choice(MODALITIES),
              "desc": f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} series", "num": i % 2 + 1,
              "t": now} for i in range(rows)])
        conn.execute(sa.text(
            "INSERT INTO tasks (type, name, description, priority, due_date, status, "
            "assignee_id, creator_id, created_at, updated_at, time_spent, row_version) VALUES "
            "('annotation', :name, :desc, :prio, :due, :status, :who, 1, :t, :t, 0, 1)"),
            [{"name": f"{rnd.choice(WORDS).title()} batch {i}",
              "desc": f"outline the {rnd.choice(WORDS)} on every slice",
              "prio": rnd.choice(PRIORITIES),
              "due": date(2026, 12, 1) + timedelta(days=rnd.randrange(-60, 120)),
              "status": (status := rnd.choice(STATUSES)),
              "who": None if status == "unassigned" else rnd.choice((2, 3)),
              "t": now - timedelta(minutes=rows - i)} for i in range(rows)])
        conn.execute(sa.text(
            "INSERT INTO task_items (task_id, position, series_id, done, active) "
            "SELECT id, 0, id, false, false FROM tasks"))
        conn.execute(sa.text(
            "INSERT INTO audit_events (created_at, actor_id, action, entity_type, entity_id, "
            "details) SELECT created_at, 1, 'task.create', 'task', id, "
            "json_build_object('assignee_id', assignee_id) FROM tasks UNION ALL "
            "SELECT created_at + interval '1 minute', coalesce(assignee_id, 1), 'task.status', "
            "'task', id, json_build_object('before', 'open', 'after', status) FROM tasks"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))


TASK_PAGE = """WITH page AS (SELECT t.*, {count} AS total,
  row_number() OVER (ORDER BY {order}, t.id) AS n
  FROM tasks t WHERE {where} ORDER BY {order}, t.id LIMIT 50 OFFSET {offset})
SELECT p.id, p.type, p.name, p.description, p.priority, p.due_date, p.status, p.assignee_id,
  p.creator_id, p.created_at, p.updated_at, p.started_at, p.completed_at, p.row_version,
  p.total,
  (SELECT count(*) FROM task_items i WHERE i.task_id = p.id) AS items,
  (SELECT count(*) FROM task_items i WHERE i.task_id = p.id AND (i.done
    OR EXISTS (SELECT 1 FROM label_assignments a WHERE a.task_id = p.id
               AND a.series_id = i.series_id)
    OR EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = p.id
               AND a.label_assignment_id = i.label_assignment_id AND EXISTS (
               SELECT 1 FROM annotation_revisions r WHERE r.annotation_id = a.id))
    OR EXISTS (SELECT 1 FROM reviews v WHERE v.task_id = p.id
               AND v.annotation_id = i.annotation_id AND v.result IS NOT NULL))) AS done,
  coalesce((SELECT sum(r.time_spent) FROM annotation_revisions r JOIN annotations a
            ON a.id = r.annotation_id WHERE a.task_id = p.id), p.time_spent) AS spent
FROM page p ORDER BY p.n"""
"""The page with the columns the API returns (`TaskPublic`) and its progress (the rule of
`tasks.items.progress_of`) in one statement; the count as a subquery (run once, the page can
come off an index) or, for a text search, in a window (the matching runs once)."""
SERIES_PAGE = """SELECT se.id, se.series_uid, st.study_uid, st.patient_id, st.patient_name,
st.study_date, st.study_description, st.accession_number, se.series_description,
se.series_number, se.modality, se.body_part, se.rows, se.columns, se.number_of_frames,
se.number_of_instances, se.store, se.incomplete, count(*) OVER () AS total
FROM series se JOIN studies st ON st.id = se.study_id WHERE {where}
ORDER BY {order}, st.study_date DESC NULLS LAST, st.patient_name, se.series_number NULLS LAST,
se.id LIMIT 50 OFFSET {offset}"""
"""The columns of a `SeriesRow`, blank sort values last and the ties broken as the Images page
breaks them (so both return the same page)."""
FEED_PAGE = """SELECT e.id, e.created_at, e.action, e.details, u.name, t.name, a.name,
(SELECT count(*) FROM audit_events) AS total FROM audit_events e
LEFT JOIN users u ON u.id = e.actor_id LEFT JOIN tasks t ON e.entity_type = 'task'
AND t.id = e.entity_id LEFT JOIN users a ON a.id = (e.details ->> 'assignee_id')::int
ORDER BY e.created_at DESC, e.id DESC LIMIT 25"""
"""The events with the names their sentences show: the actor, the task, the assignee of a
new task ("Ada Admin created 'Liver batch 3' for Ann Notator")."""


def _tasks_sql(*, where: str, order: str, offset: int, window: bool = False) -> str:
    count = "count(*) OVER ()" if window else f"(SELECT count(*) FROM tasks t WHERE {where})"
    return TASK_PAGE.format(count=count, where=where, order=order, offset=offset)


def cases(admin: User, annotator: User) -> list[tuple[str, Callable[[], object], str]]:
    """(what, our call, the plain SQL of the same page)."""
    def tasks(actor: User, **query: object) -> Callable[[], object]:
        def run() -> object:
            with db_session.session_scope() as s:
                return list_tasks(s, actor=actor, query=TaskFilter.model_validate(query))
        return run

    def series(**filters: object) -> Callable[[], object]:
        def run() -> object:
            with db_session.session_scope() as s:
                return catalog.search(s, actor=admin, **filters)
        return run

    def feed() -> object:
        with db_session.session_scope() as s:
            return activity.feed(s, actor=admin, limit=25, offset=0)

    return [
        ("Tasks: all, newest first (the default view)", tasks(admin),
         _tasks_sql(where="true", order="t.created_at DESC", offset=0)),
        ("Tasks: 2 statuses + priority, by due date, page 3",
         tasks(admin, status=["open", "in_progress"], priority=["high"], sort="-due_date",
               page=3),
         _tasks_sql(where="t.status IN ('open', 'in_progress') AND t.priority = 'high'",
                    order="t.due_date DESC NULLS LAST", offset=100)),
        ("Tasks: text search 'batch 12', newest first",
         tasks(admin, q="batch 12", sort="-created_at"),
         _tasks_sql(where="(t.name ILIKE '%batch 12%' OR t.description ILIKE "
                    "'%batch 12%')", order="t.created_at DESC", offset=0, window=True)),
        ("My tasks (annotator): own + takeable, by name, page 2",
         tasks(annotator, sort="name", page=2),
         _tasks_sql(where="(t.assignee_id = 2 OR (t.status = 'unassigned' AND t.type "
                    "IN ('annotation')))", order="t.name", offset=50)),
        ("Images: CT in 2022, by patient, page 3",
         series(modality="CT", date_from=date(2022, 1, 1), date_to=date(2022, 12, 31),
                sort="patient", offset=100, limit=50),
         SERIES_PAGE.format(where="upper(se.modality) = 'CT' AND st.study_date BETWEEN "
                            "'2022-01-01' AND '2022-12-31'",
                            order="st.patient_name = '', lower(st.patient_name), "
                            "st.patient_id", offset=100)),
        ("Images: text search patient 'PAT-0123'",
         series(patient="PAT-0123", limit=50),
         SERIES_PAGE.format(where="(st.patient_id ILIKE '%PAT-0123%' OR st.patient_name "
                            "ILIKE '%PAT-0123%')", order="st.study_date IS NULL, "
                            "st.study_date DESC",
                            offset=0)),
        ("Activity feed: newest 25 of 20,000 events, as sentences", feed, FEED_PAGE),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with postgres_database() as url:
        upgrade(url)
        engine = db_session.configure(url)
        seed(engine, args.rows)
        with db_session.session_scope() as s:
            admin, annotator = s.get(User, 1), s.get(User, 2)
        assert admin is not None and annotator is not None

        def plain(sql: str) -> Callable[[], object]:
            def run() -> object:
                with engine.connect() as conn:
                    return conn.execute(sa.text(sql)).all()
            return run

        rows = []
        for what, ours, sql in cases(admin, annotator):
            found = interleaved_ms({"ours": ours, "plain": plain(sql)}, repeat=args.repeat)
            rows.append((what, found["plain"], found["ours"],
                         f"{found['ours'] / found['plain']:.2f}x"))
        engine.dispose()
    print(f"\n{args.rows:,} tasks, {args.rows:,} series, PostgreSQL; median ms of "
          f"{args.repeat} page requests\n")
    print_table(["page request", "plain SQL", "ours", "ours / plain"], rows)


if __name__ == "__main__":
    main()
