"""The image catalogue as admins use it: search the index, look up a series, sync it
from a DICOMweb server."""

from __future__ import annotations

from dataclasses import asdict

from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Role
from labelstack.db.models import Series, Study, User
from labelstack.services import audit
from labelstack.services.errors import Conflict, NotFound
from labelstack.services.images import runtime
from labelstack.services.images.index import SeriesPage, SeriesRow, SyncReport, search_series, sync_index
from labelstack.services.images.shape import uid_summary
from labelstack.services.security import require_role
from labelstack.stores import StoreError


def search(session: Session, *, actor: User, **filters: object) -> SeriesPage:
    """The Images page and `GET /series`: admins see the whole index."""
    require_role(actor, Role.admin)
    return search_series(session, **filters)  # type: ignore[arg-type]


def sync_from_dicomweb(session: Session, *, actor: User | None, full: bool = False) -> SyncReport:
    """Index what the DICOMweb server holds (incremental unless `full`)."""
    if actor is not None:
        require_role(actor, Role.admin)
    try:
        report = sync_index(session, runtime.store("dicomweb"), full=full)
    except StoreError as exc:
        raise Conflict(str(exc)) from None
    details = {k: v for k, v in asdict(report).items() if not isinstance(v, list)}
    details.update({name: uid_summary(getattr(report, name))
                    for name in ("updated", "removed", "kept")},
                   skipped={"count": len(report.skipped), "reasons": report.skipped[:20]})
    audit.record(session, actor=actor, action=AuditAction.images_sync, entity_type="series",
                 entity_id=None, details=details)
    session.commit()
    return report


def series_row(session: Session, series_uid: str) -> SeriesRow:
    row = session.exec(select(Series, Study).join(Study, col(Series.study_id) == col(Study.id))
                       .where(Series.series_uid == series_uid)).first()
    if row is None:
        raise NotFound(f"no series {series_uid} in the index")
    return SeriesRow.of(*row)
