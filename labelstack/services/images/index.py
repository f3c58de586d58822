"""The index of studies → series → instances: upsert from store entries, search, sync.

Search reads only the index, so it is the same for local files and a PACS; a sync
brings the index in line with what a store holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import SQLCoreOperations
from sqlmodel import Session, col, func, select

from labelstack.db import text_search
from labelstack.db.models import Instance, LabelAssignment, Series, Study, TaskItem
from labelstack.db.types import utcnow
from labelstack.services.errors import InvalidInput
from labelstack.services.images import runtime
from labelstack.services.images.shape import current_instances, refresh_shape
from labelstack.stores import ImageStore, IndexEntry, check_uid

MAX_PAGE_SIZE = 200
SORTABLE = ("study_date", "patient", "modality")


@dataclass(kw_only=True, slots=True)
class SeriesRow:
    """One series with its study, as lists and the API show it; `id` is what label
    assignments and tasks refer to."""

    id: int
    series_uid: str
    study_uid: str
    patient_id: str
    patient_name: str
    study_date: date | None
    study_description: str
    accession_number: str
    series_description: str
    series_number: int | None
    modality: str
    body_part: str
    rows: int | None
    columns: int | None
    number_of_frames: int
    number_of_instances: int
    store: str
    incomplete: bool  # an import of it has not finished (killed?): instances may be missing

    @classmethod
    def of(cls, series: Series, study: Study) -> SeriesRow:
        assert series.id is not None, "a stored series has an id"
        return cls(
            id=series.id, series_uid=series.series_uid, study_uid=study.study_uid,
            patient_id=study.patient_id, patient_name=study.patient_name, study_date=study.study_date,
            study_description=study.study_description, accession_number=study.accession_number,
            series_description=series.series_description, series_number=series.series_number,
            modality=series.modality, body_part=series.body_part, rows=series.rows,
            columns=series.columns, number_of_frames=series.number_of_frames,
            number_of_instances=series.number_of_instances, store=series.store,
            incomplete=series.incomplete)

    @property
    def title(self) -> str:
        """A one-line name for lists that show images: "CT · Chest · Doe John"."""
        patient = (self.patient_name or self.patient_id).replace("^", " ")
        parts = (self.modality, self.series_description or self.study_description, patient)
        return " · ".join(p for p in parts if p) or "(no description)"


@dataclass(kw_only=True, slots=True)
class SeriesPage:
    items: list[SeriesRow]
    total: int
    offset: int
    limit: int


def upsert_entry(session: Session, entry: IndexEntry, *, store: str) -> Instance:
    """Add one instance (and its study and series when new); the caller commits."""
    study = session.exec(select(Study).where(Study.study_uid == entry.study_uid)).first()
    if study is None:
        study = Study(study_uid=entry.study_uid)
        session.add(study)
    for name in ("patient_id", "patient_name", "study_date", "study_description",
                 "accession_number"):
        if not getattr(study, name) and getattr(entry, name):
            setattr(study, name, getattr(entry, name))
    session.flush()
    assert study.id is not None  # flushed
    series = session.exec(select(Series).where(Series.series_uid == entry.series_uid)).first()
    if series is None:
        series = Series(series_uid=entry.series_uid, study_id=study.id, store=store)
        session.add(series)
    for name in ("modality", "body_part", "series_description", "series_number", "rows",
                 "columns"):
        if getattr(series, name) in (None, "") and getattr(entry, name) not in (None, ""):
            setattr(series, name, getattr(entry, name))
    series.number_of_instances += 1
    series.number_of_frames += entry.number_of_frames
    series.updated_at = utcnow()
    session.flush()
    assert series.id is not None  # flushed
    instance = Instance(sop_instance_uid=entry.sop_instance_uid, series_id=series.id,
                        sop_class_uid=entry.sop_class_uid,
                        transfer_syntax_uid=entry.transfer_syntax_uid,
                        instance_number=entry.instance_number,
                        number_of_frames=entry.number_of_frames, store_key=entry.store_key,
                        file_size=entry.file_size)
    session.add(instance)
    session.flush()
    return instance


def search_series(session: Session, *, patient: str | None = None, modality: str | None = None,
                  date_from: date | None = None, date_to: date | None = None,
                  description: str | None = None, offset: int = 0,
                  limit: int = 50, sort: str = "-study_date") -> SeriesPage:
    """Series matching every given filter; text filters match parts. `sort` is one of
    `SORTABLE`, `-` first for descending (default: newest study first); ties fall back to
    newest study, patient, series number, so pages never overlap."""
    patient_text, description_text = (patient or "").strip(), (description or "").strip()
    dialect = session.get_bind().dialect.name
    page, count = _statements(dialect, bool(modality), date_from is not None,
                              date_to is not None, text_search.kind(patient_text),
                              text_search.kind(description_text), sort)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    values = {"modality": (modality or "").strip().upper(), "date_from": date_from,
              "date_to": date_to, "offset": max(0, offset), "limit": limit,
              "patient": text_search.value(dialect, _PATIENT, patient_text),
              "description_series": text_search.value(dialect, _SERIES_TEXT, description_text),
              "description_study": text_search.value(dialect, _STUDY_TEXT, description_text)}
    found: Sequence[Any] = session.connection().execute(page, values).all()
    total = found[0].total if found else session.connection().execute(count, values).scalar_one()
    return SeriesPage(items=[SeriesRow(**dict(zip(_FIELDS, r, strict=False))) for r in found],
                      total=total, offset=max(0, offset), limit=limit)


_PATIENT = ("patient_id", "patient_name")
_SERIES_TEXT = ("series_description",)
_STUDY_TEXT = ("study_description",)


_FIELDS = tuple(SeriesRow.__dataclass_fields__)
_STUDY_FIELDS = ("study_uid", "patient_id", "patient_name", "study_date", "study_description",
                 "accession_number")
_ROW_COLUMNS = [getattr(Study if name in _STUDY_FIELDS else Series, name).label(name)
                for name in _FIELDS]
"""A `SeriesRow`'s fields, selected by name: a page reads columns, not ORM entities."""


@lru_cache(maxsize=256)
def _statements(dialect: str, modality: bool, date_from: bool, date_to: bool,
                patient: text_search.Kind, description: text_search.Kind, sort: str,
                ) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page with its total, and the total alone (for a page past the end), for the
    filters used; their values are parameters named as in `search_series`, so requests
    that filter alike share one statement (building it and its cache key cost about as
    much as running it). No sort here can be read off an index, so the total rides along
    in a window (the matching runs once)."""
    def matching(where: text_search.Searchable, model: type[Any], columns: tuple[str, ...],
                 key: str, kind: text_search.Kind) -> sa.ColumnElement[bool]:
        return text_search.condition(dialect, where, model, columns, key=key,
                                     short=kind == "short")

    order = _order(sort)
    query = sa.select(*_ROW_COLUMNS).join(Study, col(Series.study_id) == col(Study.id))
    if patient != "none":
        query = query.where(matching(text_search.STUDIES, Study, _PATIENT, "patient", patient))
    if modality:
        query = query.where(func.upper(Series.modality) == sa.bindparam("modality"))
    if date_from:
        query = query.where(col(Study.study_date) >= sa.bindparam("date_from"))
    if date_to:
        query = query.where(col(Study.study_date) <= sa.bindparam("date_to"))
    if description != "none":
        query = query.where(sa.or_(
            matching(text_search.SERIES, Series, _SERIES_TEXT, "description_series", description),
            matching(text_search.STUDIES, Study, _STUDY_TEXT, "description_study", description)))
    page = (query.add_columns(func.count().over().label("total")).order_by(*order)
            .offset(sa.bindparam("offset", type_=sa.Integer))
            .limit(sa.bindparam("limit", type_=sa.Integer)))
    return page, sa.select(func.count()).select_from(query.subquery())


def _order(sort: str) -> list[SQLCoreOperations[Any]]:
    name = sort.strip().removeprefix("-")
    descending = sort.strip().startswith("-")
    if name not in SORTABLE:
        raise InvalidInput(f"cannot sort series by {name!r}; use one of {', '.join(SORTABLE)}")
    columns: dict[str, tuple[SQLCoreOperations[bool], list[SQLCoreOperations[Any]]]] = {
        "study_date": (col(Study.study_date).is_(None), [col(Study.study_date)]),
        "patient": (col(Study.patient_name) == "",
                    [func.lower(Study.patient_name), col(Study.patient_id)]),
        "modality": (col(Series.modality) == "", [func.upper(Series.modality)]),
    }
    blank, keys = columns[name]
    # blank values last either way: a missing date or name is nothing to sort by
    return [sa.case((blank, 1), else_=0), *(k.desc() if descending else k.asc() for k in keys),
            col(Study.study_date).desc().nulls_last(), col(Study.patient_name),
            col(Series.series_number).nulls_last(), col(Series.id)]


def series_titles(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """id → `SeriesRow.title`, for pages that list tasks' and assignments' images by id; a
    plain read: the caller has already checked who may see the items that name them."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Series, Study).join(Study, col(Series.study_id) == col(Study.id))
                        .where(col(Series.id).in_(wanted))).all()
    return {series.id: SeriesRow.of(series, study).title for series, study in rows
            if series.id is not None}


@dataclass(kw_only=True, slots=True)
class SyncReport:
    store: str
    full: bool
    series_seen: int = 0
    series_updated: int = 0
    instances_added: int = 0
    series_removed: int = 0
    updated: list[str] = field(default_factory=list)  # series that gained instances
    removed: list[str] = field(default_factory=list)  # gone from the store, dropped from the index
    kept: list[str] = field(default_factory=list)  # gone from the store but used by labels or tasks
    skipped: list[str] = field(default_factory=list)  # invalid UIDs from the store, with the reason


def sync_index(session: Session, store: ImageStore, *, full: bool) -> SyncReport:
    """Bring the index in line with `store`. Incremental: only series that are new or whose
    instance count changed are described; full: every series, and vanished ones removed.
    UIDs end up in file names and store keys, so a series or instance whose UIDs are not
    valid DICOM UIDs is skipped and reported."""
    report = SyncReport(store=store.name, full=full)
    listed = [s for s in store.list_series() if _valid(report, s.study_uid, s.series_uid)]
    known = {s.series_uid: s for s in session.exec(select(Series)).all()}
    for summary in listed:
        report.series_seen += 1
        series = known.get(summary.series_uid)
        if series is not None and (series.store != store.name or (
                not full and series.number_of_instances == summary.number_of_instances)):
            continue  # held by another store, or unchanged
        added = _add_instances(session, store, summary.study_uid, summary.series_uid, report)
        if added or full:
            series = session.exec(select(Series).where(
                Series.series_uid == summary.series_uid)).first()
            if series is not None:
                refresh_shape(session, series, store)
        session.commit()
        report.instances_added += added
        if added:
            report.series_updated += 1
            report.updated.append(summary.series_uid)
    if full:
        listed_uids = {s.series_uid for s in listed}
        for uid, series in known.items():
            if series.store == store.name and uid not in listed_uids:
                if _in_use(session, series):
                    report.kept.append(uid)
                else:
                    _remove(session, series)
                    report.removed.append(uid)
        report.series_removed = len(report.removed)
        session.commit()
    return report


def _add_instances(session: Session, store: ImageStore, study_uid: str, series_uid: str,
                   report: SyncReport) -> int:
    """Index the instances of one series the index lacks; returns how many."""
    series = session.exec(select(Series).where(Series.series_uid == series_uid)).first()
    have = set() if series is None else set(session.exec(
        select(Instance.sop_instance_uid).where(Instance.series_id == series.id)).all())
    added = 0
    for entry in store.describe_series(study_uid, series_uid):
        if entry.sop_instance_uid in have or not _valid(
                report, entry.study_uid, entry.series_uid, entry.sop_instance_uid):
            continue
        try:
            with session.begin_nested():
                upsert_entry(session, entry, store=store.name)
            added += 1
        except IntegrityError:  # indexed meanwhile by another process
            pass
    return added


def _valid(report: SyncReport, study_uid: str, series_uid: str, sop_uid: str | None = None) -> bool:
    checks = [(study_uid, "StudyInstanceUID"), (series_uid, "SeriesInstanceUID")]
    if sop_uid is not None:
        checks.append((sop_uid, "SOPInstanceUID"))
    try:
        for uid, what in checks:
            check_uid(uid, what)
    except ValueError as exc:
        report.skipped.append(f"{exc} (series {series_uid[:80]!r}): skipped")
        return False
    return True


def _remove(session: Session, series: Series) -> None:
    """Drop a series from the index and its cached volume and thumbnail."""
    runtime.forget(current_instances(session, series.id).key)
    session.delete(series)


def _in_use(session: Session, series: Series) -> bool:
    for model in (LabelAssignment, TaskItem):
        if session.exec(select(model.id).where(model.series_id == series.id)).first():
            return True
    return False
