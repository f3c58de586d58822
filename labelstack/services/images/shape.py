"""What the index says about a series' pixels: the shape of the volume the viewer will show.

The viewer shows the main stack (`imaging.volume_from_datasets`): a localizer, images of
another size or orientation, and further echoes or phases are split off. Masks are made
at the size the index states, so after an import or a sync touches a series its
`rows`, `columns` and `number_of_frames` are set to that stack's `(z, y, x)`, computed from
the headers alone; `number_of_instances` stays the instance count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlmodel import Session, col, select

from labelstack.db.models import Instance, Series
from labelstack.imaging.volume import main_stack_shape
from labelstack.stores import ImageStore

MAX_AUDIT_UIDS = 100


def instance_keys(session: Session, series_id: int | None) -> list[str]:
    """Store keys of a series' indexed instances in the order the viewer reads them."""
    return list(session.exec(select(Instance.store_key).where(Instance.series_id == series_id)
                             .order_by(col(Instance.instance_number), col(Instance.id))).all())


def content_key(series_uid: str, keys: Iterable[str]) -> str:
    """Names one set of instances of a series (for the volume and thumbnail caches): a
    series that gains, loses or swaps instances gets another key, whatever the count."""
    ordered = sorted(keys)
    digest = hashlib.sha256("\n".join(ordered).encode()).hexdigest()[:16]
    return f"{series_uid}-{len(ordered)}-{digest}"


def refresh_shape(session: Session, series: Series, store: ImageStore) -> str | None:
    """Set the series' size to its main stack's from the indexed instances' headers; the
    caller commits. Returns why it could not (headers that describe no image, an unreachable
    store): the size then stays as indexed from the instances."""
    keys = instance_keys(session, series.id)
    if not keys:
        return "no instances"
    try:
        z, rows, columns = main_stack_shape(store.read_headers(keys))
    except Exception as exc:  # noqa: BLE001  (ImagingError, StoreError, odd header values)
        return f"{type(exc).__name__}: {exc}"
    series.number_of_frames, series.rows, series.columns = z, rows, columns
    session.add(series)
    return None


def uid_summary(uids: Iterable[str]) -> dict[str, object]:
    """Series UIDs for an audit event: the count, and the first `MAX_AUDIT_UIDS` of them."""
    values = list(dict.fromkeys(uids))
    return {"count": len(values), "uids": values[:MAX_AUDIT_UIDS]}
