"""Images: import into the configured store, keep the index, search it, sync it from a PACS.

Every file is validated (parsed, decodable) before a byte is stored, and each instance
is stored and indexed in its own transaction, so a bad file never leaves a half entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Role
from labelstack.db.models import Instance, Series, Study, User
from labelstack.imaging.dataset import INDEX_UIDS, Dataset, parse_dataset, undecodable
from labelstack.services import audit
from labelstack.services.errors import TooLarge
from labelstack.services.images import runtime
from labelstack.services.images.index import (
    upsert_entry,
)
from labelstack.services.images.shape import refresh_shape, uid_summary
from labelstack.services.images.sources import Source
from labelstack.services.security import require_role
from labelstack.stores import ImageStore, IndexEntry, StoreError, check_uid

Status = Literal["stored", "present", "rejected"]
STATUSES: tuple[Status, ...] = ("stored", "present", "rejected")
COMMIT_EVERY = 64


@dataclass(kw_only=True, slots=True)
class ImportItem:
    name: str
    status: Status
    reason: str = ""
    series_uid: str = ""
    sop_instance_uid: str = ""


@dataclass(kw_only=True, slots=True)
class ImportReport:
    store: str
    items: list[ImportItem] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def summary(self) -> dict[str, int]:
        return {s: self.count(s) for s in STATUSES}


def import_dicom(session: Session, *, actor: User | None, sources: Iterable[Source],
                 store: ImageStore | None = None) -> ImportReport:
    """Import files into `store` (default: the configured one); `actor=None` is the CLI.

    Each instance is indexed in its own savepoint and committed in batches: a failing
    file rolls back alone, and a crash leaves at most unindexed files (re-importable).
    """
    if actor is not None:
        require_role(actor, Role.admin)
    store = store or runtime.store()
    report = ImportReport(store=store.name)
    for source in sources:
        report.items.append(_import_one(session, store, source))
        if len(report.items) % COMMIT_EVERY == 0:
            session.commit()
    stored = [i.series_uid for i in report.items if i.status == "stored"]
    for series in session.exec(select(Series).where(col(Series.series_uid).in_(set(stored)))).all():
        if series.store == store.name:
            refresh_shape(session, series, store)
    audit.record(session, actor=actor, action=AuditAction.images_import, entity_type="series",
                 entity_id=None, details={"store": store.name, **report.summary,
                                          "series": uid_summary(stored)})
    session.commit()
    return report


def check_upload_size(size: int) -> None:
    """Refuse (413) an upload once its bytes, counted so far or in total, pass
    LABELSTACK_MAX_UPLOAD_MB: uploads are spooled to disk and imported file by file, and this
    bounds how much one request may make the server hold."""
    limit_mb = runtime.current_settings().max_upload_mb
    if size > limit_mb * 2**20:
        raise TooLarge(f"upload too large: more than the {limit_mb} MB limit for one upload "
                       "(LABELSTACK_MAX_UPLOAD_MB); send fewer or smaller files",
                       limit_mb=limit_mb)


def _import_one(session: Session, store: ImageStore, source: Source) -> ImportItem:
    def rejected(reason: str) -> ImportItem:
        return ImportItem(name=source.name, status="rejected", reason=reason)

    try:
        raw = source.read()
        ds = parse(raw)
    except OSError as exc:
        return rejected(f"cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        return rejected(str(exc))
    sop, series_uid = str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID)
    done = ImportItem(name=source.name, status="stored", series_uid=series_uid,
                      sop_instance_uid=sop)
    if session.exec(select(Instance.id).where(Instance.sop_instance_uid == sop)).first():
        done.status = "present"
        return done
    reason = undecodable(ds) or series_conflict(session, ds)
    if reason:
        return rejected(reason)
    try:
        key = store.put(ds, raw)
    except (StoreError, OSError) as exc:
        return rejected(f"could not store: {exc}")
    try:
        with session.begin_nested():
            upsert_entry(session, IndexEntry.of(ds, store_key=key, file_size=len(raw)),
                         store=store.name)
    except IntegrityError:  # another import indexed this instance meanwhile: same bytes
        done.status = "present"
    except SQLAlchemyError as exc:
        store.remove(key)
        return rejected(f"could not index: {type(exc).__name__}")
    return done


def parse(raw: bytes) -> Dataset:
    """The dataset with the UIDs the index needs, or ValueError with a reason to act on
    (ImagingError is one): UIDs become store keys, so they must also be valid."""
    ds = parse_dataset(raw)
    for keyword in INDEX_UIDS:
        check_uid(str(ds.get(keyword)), keyword)
    return ds


def series_conflict(session: Session, ds: Dataset) -> str | None:
    """Why `ds` cannot join the series it names (another study or modality), if so."""
    series = session.exec(select(Series).where(
        Series.series_uid == str(ds.SeriesInstanceUID))).first()
    if series is None:
        return None
    study_uid = series_study_uid(session, series)
    if study_uid != str(ds.StudyInstanceUID):
        return (f"mixed series: series {series.series_uid} already belongs to study "
                f"{study_uid}, this file says study {ds.StudyInstanceUID}")
    modality = str(ds.get("Modality", ""))
    if series.modality and modality and modality != series.modality:
        return (f"mixed series: series {series.series_uid} is {series.modality}, "
                f"this file is {modality}")
    return None


def series_study_uid(session: Session, series: Series) -> str:
    study = session.get(Study, series.study_id)
    return study.study_uid if study else ""


