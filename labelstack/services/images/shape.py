"""What the index says about a series' pixels: the shape of the volume the viewer will show.

The viewer shows the main stack (`imaging.volume_from_datasets`): a localizer, images of
another size or orientation, and further echoes or phases are split off. Masks are made
at the size the index states, so after an import or a sync touches a series its
`rows`, `columns` and `number_of_frames` are set to that stack's `(z, y, x)`, computed from
the headers alone; `number_of_instances` stays the instance count.

The same headers say which instance (and frame) each slice of the stack comes from, which
a viewer needs before it can show slice `z` of a series not yet decoded (slices are
ordered by position, never by instance number). That order is kept beside the caches, one
small file per set of instances (`runtime.stack_order_path`), so opening a series starts
with one instance instead of every header.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlmodel import Session, col, select

from labelstack.db.models import Instance, Series
from labelstack.imaging.dataset import Dataset
from labelstack.imaging.volume import main_stack_frames, main_stack_shape
from labelstack.services.images import runtime
from labelstack.stores import ImageStore

StackOrder = list[tuple[str, int]]  # (store key, frame) of each slice, in z order

MAX_AUDIT_UIDS = 100


INSTANCE_ORDER = (col(Instance.instance_number), col(Instance.id))  # as the viewer reads them


def instance_keys(session: Session, series_id: int | None) -> list[str]:
    """Store keys of a series' indexed instances in the order the viewer reads them."""
    return list(session.exec(select(Instance.store_key).where(Instance.series_id == series_id)
                             .order_by(*INSTANCE_ORDER)).all())


def refresh_shape(session: Session, series: Series, store: ImageStore) -> str | None:
    """Set the series' size to its main stack's from the indexed instances' headers; the
    caller commits. Returns why it could not (headers that describe no image, an unreachable
    store): the size then stays as indexed from the instances."""
    keys = instance_keys(session, series.id)
    if not keys:
        return "no instances"
    try:
        headers = store.read_headers(keys)
        z, rows, columns = main_stack_shape(headers)
        save_stack_order(series.series_uid, keys, headers)
    except Exception as exc:  # noqa: BLE001  (ImagingError, StoreError, odd header values)
        return f"{type(exc).__name__}: {exc}"
    series.number_of_frames, series.rows, series.columns = z, rows, columns
    session.add(series)
    return None


def save_stack_order(series_uid: str, keys: Sequence[str], headers: Sequence[Dataset]) -> StackOrder:
    """Work out (from the instances' headers, in `keys` order) and keep the stack order of
    this set of instances; returns it. A disk that cannot keep it costs the next opening
    a read of every header, nothing else."""
    key = runtime.content_key(series_uid, keys)
    order = [(keys[source], frame) for source, frame in main_stack_frames(headers)]
    place = {k: i for i, k in enumerate(sorted(keys))}
    path = runtime.stack_order_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump({"key": key, "slices": [[place[k], frame] for k, frame in order]}, out)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass
    return order


def stack_order(key: str, keys: Sequence[str]) -> StackOrder | None:
    """The kept stack order of the set of instances `keys`, whose `runtime.content_key` is
    `key`; None when none was kept (indexed before it was, or the file is gone or of an
    older form). The file names each slice's instance by its place among the sorted keys:
    a few bytes a slice, where the keys are ~150."""
    try:
        kept = json.loads(runtime.stack_order_path(key).read_text())
        slices = kept["slices"] if isinstance(kept, dict) and kept.get("key") == key else None
    except (OSError, ValueError, KeyError):
        return None
    ordered = sorted(keys)
    if not isinstance(slices, list) or not all(
            isinstance(entry, list) and len(entry) == 2 and type(entry[0]) is int
            and type(entry[1]) is int and 0 <= entry[0] < len(ordered) and entry[1] >= 0
            for entry in slices):
        return None
    return [(ordered[place], frame) for place, frame in slices]


def uid_summary(uids: Iterable[str]) -> dict[str, object]:
    """Series UIDs for an audit event: the count, and the first `MAX_AUDIT_UIDS` of them."""
    values = list(dict.fromkeys(uids))
    return {"count": len(values), "uids": values[:MAX_AUDIT_UIDS]}
