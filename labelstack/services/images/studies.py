"""Browsing the index by study: one page of studies (newest first) with their series, for the
Images page's study view; the same filters as the series search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from labelstack.db.enums import Role
from labelstack.db.models import Series, Study, User
from labelstack.db.queries import escape_like
from labelstack.services.images.index import MAX_PAGE_SIZE, SeriesRow
from labelstack.services.security import require_role


@dataclass(frozen=True, kw_only=True, slots=True)
class StudyRow:
    study_uid: str
    patient_name: str
    patient_id: str
    study_date: date | None
    description: str
    series: list[SeriesRow]


def list_studies(session: Session, *, actor: User, patient: str | None = None,
                 modality: str | None = None, description: str | None = None,
                 date_from: date | None = None, date_to: date | None = None, offset: int = 0,
                 limit: int = 20) -> tuple[list[StudyRow], int]:
    """Studies with at least one series matching the filters, and how many there are; each
    with its matching series."""
    require_role(actor, Role.admin)
    matching = select(Series.id).join(Study, col(Study.id) == Series.study_id)
    if patient:
        like = f"%{escape_like(patient.strip())}%"
        matching = matching.where(sa.or_(col(Study.patient_id).ilike(like, escape="\\"),
                                         col(Study.patient_name).ilike(like, escape="\\")))
    if modality:
        matching = matching.where(func.upper(Series.modality) == modality.strip().upper())
    if description:
        like = f"%{escape_like(description.strip())}%"
        matching = matching.where(sa.or_(col(Series.series_description).ilike(like, escape="\\"),
                                         col(Study.study_description).ilike(like, escape="\\")))
    if date_from:
        matching = matching.where(col(Study.study_date) >= date_from)
    if date_to:
        matching = matching.where(col(Study.study_date) <= date_to)
    studies = select(Study).where(col(Study.id).in_(
        select(Series.study_id).where(col(Series.id).in_(matching))))
    total = session.exec(select(func.count()).select_from(studies.subquery())).one()
    page = session.exec(studies.order_by(col(Study.study_date).desc().nulls_last(),
                                         col(Study.patient_name), col(Study.id))
                        .offset(max(0, offset)).limit(max(1, min(limit, MAX_PAGE_SIZE)))).all()
    series = session.exec(select(Series).where(col(Series.study_id).in_([s.id for s in page]),
                                               col(Series.id).in_(matching))
                          .order_by(col(Series.series_number), col(Series.id))).all()
    return [StudyRow(study_uid=s.study_uid, patient_name=s.patient_name,
                     patient_id=s.patient_id, study_date=s.study_date,
                     description=s.study_description,
                     series=[SeriesRow.of(x, s) for x in series if x.study_id == s.id])
            for s in page], int(total)
