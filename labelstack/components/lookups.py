"""Read-only look-ups the workflow pages need for display, where no service offers them yet.

Only plain reads by primary key or UID, no rules: who may do what stays in the
services. Each function says which service would be its natural home.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from labelstack.db.models import Series, Study


def series_ids_by_uid(session: Session, uids: Iterable[str]) -> dict[str, int]:
    """series_uid → id. (services.images: `SeriesRow` carries no id, but tasks and label
    assignments take series ids.)"""
    uids = list(uids)
    if not uids:
        return {}
    rows = session.exec(select(Series.series_uid, Series.id)
                        .where(col(Series.series_uid).in_(uids))).all()
    return {uid: sid for uid, sid in rows if sid is not None}


def series_titles(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """id → "CT · Chest · Doe^John" for lists that show images by id. (services.images)"""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = session.exec(select(Series, Study).join(Study, col(Study.id) == Series.study_id)
                        .where(col(Series.id).in_(ids))).all()
    return {series.id: title(series.modality, series.series_description
                             or study.study_description, study.patient_name or study.patient_id)
            for series, study in rows if series.id is not None}


def title(modality: str, description: str, patient: str) -> str:
    return " · ".join(p for p in (modality, description, patient.replace("^", " ")) if p) \
        or "(no description)"
