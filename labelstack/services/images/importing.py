"""Images: import into the configured store, keep the index, search it, sync it from a PACS.

Every file is validated before a byte is stored: parsed, its index tags read, and checked
displayable (the viewer's geometry and pixel decoding, `imaging.dataset.undisplayable`), so
what the import accepts the viewer can show. Each instance is stored and indexed in its own
savepoint, so a bad file never leaves a half entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Role
from labelstack.db.models import Instance, Series, Study, User
from labelstack.imaging.dataset import INDEX_UIDS, Dataset, header_problem, parse_dataset, undisplayable
from labelstack.services import audit
from labelstack.services.errors import TooLarge
from labelstack.services.images import runtime
from labelstack.services.images.index import upsert_entry
from labelstack.services.images.shape import refresh_shape, uid_summary
from labelstack.services.images.sources import Source
from labelstack.services.security import require_role
from labelstack.stores import ImageStore, IndexEntry, StoreError, check_uid

# stored: new, indexed · present: this very file is indexed already · conflict: its
# SOPInstanceUID is indexed for another series or other content (not stored) · rejected:
# cannot be read, indexed or displayed (the reason says which)
Status = Literal["stored", "present", "conflict", "rejected"]
STATUSES: tuple[Status, ...] = ("stored", "present", "conflict", "rejected")
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

    Work is committed every `COMMIT_EVERY` files, each commit with an `images.import` audit
    event counting its own files (`part`; the last says `final`), so every indexed instance
    is accounted for even if the process dies. A series that gains instances in a commit
    before the last is marked `incomplete` there, and complete again when this import
    finishes; a killed import leaves it marked until an import of that series finishes.
    Whatever unforeseen escapes (the database went away, the process is being stopped)
    takes the files stored since the last commit out of the store again on its way out.
    """
    if actor is not None:
        require_role(actor, Role.admin)
    store = store or runtime.store()
    report = ImportReport(store=store.name)
    batch = _Batch()
    touched: set[str] = set()  # series with a file stored or present: complete when done
    grown: set[str] = set()  # series with a file stored: their shape is refreshed
    try:
        for source in sources:
            item, key = _import_one(session, store, source)
            report.items.append(item)
            batch.add(item, key)
            if item.status in ("stored", "present"):
                touched.add(item.series_uid)
            if item.status == "stored":
                grown.add(item.series_uid)
            if len(batch.items) == COMMIT_EVERY:
                _commit(session, actor, store, batch, final=False)
                batch = _Batch(part=batch.part + 1)
        _finish(session, store, touched, grown)
        _commit(session, actor, store, batch, final=True)
    except BaseException:
        session.rollback()
        for key in batch.keys:
            with contextlib.suppress(Exception):  # best effort: the first error is the one to report
                store.remove(key)
        raise
    return report


@dataclass(kw_only=True, slots=True)
class _Batch:
    """The files since the last commit, and the store keys they wrote (undone on failure)."""

    part: int = 1
    items: list[ImportItem] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def add(self, item: ImportItem, key: str | None) -> None:
        self.items.append(item)
        if key is not None:
            self.keys.append(key)


def _commit(session: Session, actor: User | None, store: ImageStore, batch: _Batch, *,
            final: bool) -> None:
    counts: dict[str, int] = {s: sum(1 for i in batch.items if i.status == s) for s in STATUSES}
    stored = [i.series_uid for i in batch.items if i.status == "stored"]
    audit.record(session, actor=actor, action=AuditAction.images_import, entity_type="series",
                 entity_id=None, details={"store": store.name, **counts,
                                          "series": uid_summary(stored), "part": batch.part,
                                          "final": final})
    session.commit()
    batch.keys.clear()


def _finish(session: Session, store: ImageStore, touched: set[str], grown: set[str]) -> None:
    """The import got through its files: the series it touched are complete again, and those
    that gained instances (here or in an import that did not finish) get their main stack's
    shape."""
    if not touched:
        return
    for series in session.exec(select(Series).where(col(Series.series_uid).in_(touched))).all():
        if series.store == store.name and (series.series_uid in grown or series.incomplete):
            refresh_shape(session, series, store)
        series.incomplete = False
        session.add(series)


def check_upload_size(size: int) -> None:
    """Refuse (413) an upload once its bytes, counted so far or in total, pass
    LABELSTACK_MAX_UPLOAD_MB: uploads are spooled to disk and imported file by file, and this
    bounds how much one request may make the server hold."""
    limit_mb = runtime.current_settings().max_upload_mb
    if size > limit_mb * 2**20:
        raise TooLarge(f"upload too large: more than the {limit_mb} MB limit for one upload "
                       "(LABELSTACK_MAX_UPLOAD_MB); send fewer or smaller files",
                       limit_mb=limit_mb)


def _import_one(session: Session, store: ImageStore, source: Source) -> tuple[ImportItem, str | None]:
    """What became of one file, and the store key it wrote (None: nothing new stored)."""

    def rejected(reason: str) -> tuple[ImportItem, None]:
        return ImportItem(name=source.name, status="rejected", reason=reason), None

    try:
        raw = source.read()
        ds = parse(raw)
        entry = IndexEntry.of(ds, store_key="", file_size=len(raw))
    except OSError as exc:
        return rejected(f"cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        return rejected(str(exc))
    except Exception as exc:  # noqa: BLE001  (a header value pydicom cannot convert)
        return rejected(header_problem(exc))
    digest = hashlib.sha256(raw).hexdigest()
    done = ImportItem(name=source.name, status="stored", series_uid=entry.series_uid,
                      sop_instance_uid=entry.sop_instance_uid)
    known = session.exec(select(Instance, Series).join(Series, col(Instance.series_id) == col(Series.id))
                         .where(Instance.sop_instance_uid == entry.sop_instance_uid)).first()
    if known is not None:
        done.reason = instance_conflict(session, *known, entry=entry, digest=digest) or ""
        done.status = "conflict" if done.reason else "present"
        return done, None
    reason = undisplayable(ds) or series_conflict(session, ds)
    if reason:
        return rejected(reason)
    try:
        key = store.put(ds, raw)
    except (StoreError, OSError) as exc:
        return rejected(f"could not store: {exc}")
    try:
        with session.begin_nested():
            instance = upsert_entry(session, dataclasses.replace(entry, store_key=key),
                                    store=store.name)
            instance.sha256 = digest
            series = session.get(Series, instance.series_id)
            if series is not None:
                series.incomplete = True  # until this import finishes
            session.flush()
    except IntegrityError:  # another import indexed this instance meanwhile
        done.status = "present"
        return done, None
    except SQLAlchemyError as exc:
        store.remove(key)
        return rejected(f"could not index: {type(exc).__name__}")
    return done, key


def parse(raw: bytes) -> Dataset:
    """The dataset with the UIDs the index needs, or ValueError with a reason to act on
    (ImagingError is one): UIDs become store keys, so they must also be valid."""
    ds = parse_dataset(raw)
    for keyword in INDEX_UIDS:
        check_uid(str(ds.get(keyword)), keyword)
    return ds


def instance_conflict(session: Session, instance: Instance, series: Series, *, entry: IndexEntry,
                      digest: str) -> str | None:
    """Why a file whose SOPInstanceUID is indexed already is not that instance, if it is
    not: it names another series or study, or its bytes differ from the imported file's
    (by SHA-256, or by size where the index has no digest, as for synced instances)."""
    study_uid = series_study_uid(session, series)
    if (entry.series_uid, entry.study_uid) != (series.series_uid, study_uid):
        return (f"conflict: SOPInstanceUID {entry.sop_instance_uid} is already indexed in series "
                f"{series.series_uid} of study {study_uid}; this file says series "
                f"{entry.series_uid} of study {entry.study_uid}. Not stored: one UID names one "
                "instance")
    other = (instance.sha256 != digest) if instance.sha256 else (
        instance.file_size > 0 and instance.file_size != entry.file_size)
    if other:
        return (f"conflict: SOPInstanceUID {entry.sop_instance_uid} is already indexed in this "
                f"series with other content ({instance.file_size} bytes indexed, this file "
                f"{entry.file_size}). Not stored: the indexed instance is kept")
    return None


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
