"""Text search of the lists: right rows on SQLite (FTS5) and PostgreSQL (pg_trgm), found
through the search index rather than by reading the table, and kept in sync with edits."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from labelstack.db import text_search
from labelstack.db.enums import TaskType
from labelstack.db.models import Series, Study, Task
from labelstack.services.tasks.queries import TaskFilter, list_tasks


def _tasks(session: Session, *names_and_descriptions: tuple[str, str]) -> list[int]:
    rows = [Task(type=TaskType.label, name=n, description=d) for n, d in names_and_descriptions]
    session.add_all(rows)
    session.commit()
    return [r.id for r in rows]  # type: ignore[misc]


def _found(session: Session, admin, text: str, **filters) -> list[int]:
    page = list_tasks(session, actor=admin, query=TaskFilter(q=text, **{"sort": "id", **filters}))
    return [t.id for t in page.items]  # type: ignore[misc]


def test_task_search_matches_parts_of_name_or_description(session, make_user) -> None:
    admin = make_user("admin")
    liver, lung, quote = _tasks(session, ("Liver batch 3", "portal venous"),
                                ("Lung nodules", "LIVER metastases too"),
                                ('The "big" one', "50% done_now"))
    assert _found(session, admin, "liver") == [liver, lung]
    assert _found(session, admin, "ER BAT") == [liver]
    assert _found(session, admin, "nodule") == [lung]
    assert _found(session, admin, '"big"') == [quote]
    assert _found(session, admin, "50%") == [quote]
    assert _found(session, admin, "e_n") == [quote]  # `_` is a character, not a wildcard
    assert _found(session, admin, "lu") == [lung]  # shorter than a trigram
    assert _found(session, admin, "spleen") == []
    assert _found(session, admin, "liver", sort="-id") == [lung, liver]


def test_task_search_follows_renames_and_deletes(session, make_user) -> None:
    admin = make_user("admin")
    first, second = _tasks(session, ("Kidney left", ""), ("Kidney right", ""))
    task = session.get(Task, first)
    assert task is not None
    task.name = "Spleen"
    session.add(task)
    session.delete(session.get(Task, second))
    session.commit()
    assert _found(session, admin, "kidney") == []
    assert _found(session, admin, "spleen") == [first]


def test_image_columns_search(session) -> None:
    study = Study(study_uid="1.2.3", patient_id="CT-01", patient_name="Phantom^Demo",
                  study_description="Abdomen")
    session.add(study)
    session.flush()
    assert study.id is not None
    series = Series(series_uid="1.2.3.4", study_id=study.id, series_description="Portal venous")
    session.add(series)
    session.commit()

    def studies(text: str, *columns: str) -> list[int]:
        where = text_search.contains(session, text_search.STUDIES, Study, columns, text)
        return list(session.exec(select(Study.id).where(where)).all())

    assert studies("phantom^d", "patient_id", "patient_name") == [study.id]
    assert studies("abdomen", "patient_id", "patient_name") == []
    assert studies("abdomen", "study_description") == [study.id]
    found = session.exec(select(Series.id).where(text_search.contains(
        session, text_search.SERIES, Series, ["series_description"], "VENOUS"))).all()
    assert list(found) == [series.id]


def test_search_reads_the_search_index(session, make_user) -> None:
    """The plan goes through the FTS table or the trigram index, not the task rows."""
    _tasks(session, *((f"task {i}", "") for i in range(50)))
    where = text_search.contains(session, text_search.TASKS, Task, ["name", "description"],
                                 "task 4")
    query = select(Task.id).where(where)
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(r) for r in session.exec(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "VIRTUAL TABLE" in plan and "tasks_fts" in plan
    else:
        session.exec(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(r) for r in session.exec(sa.text(f"EXPLAIN {compiled}")))
        assert "ix_tasks_name_trgm" in plan and "ix_tasks_description_trgm" in plan
    assert sorted(session.exec(query).all()) == sorted(
        session.exec(select(Task.id).where(col(Task.name).like("task 4%"))).all())
