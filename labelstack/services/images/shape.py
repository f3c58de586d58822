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
with one instance instead of every header. Beside it, each slice's head (`imaging.stored`):
what showing that slice from its own stored bytes needs, so the first slice on screen costs
one read of its pixels, without parsing the instance.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from labelstack.db.models import Instance, Series
from labelstack.imaging.dataset import Dataset
from labelstack.imaging.stored import FrameHead, frame_head
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


# One statement, so that the token and the keys are of the same moment (two would see
# different snapshots when an import commits in between, on PostgreSQL).
_SET_AND_KEYS = (select(Series.series_uid, Series.instance_set, Instance.store_key,
                        Instance.transfer_syntax_uid)
                 .join(Instance, col(Instance.series_id) == col(Series.id), isouter=True)
                 .order_by(*INSTANCE_ORDER))
_INSTANCES_OF_UID = _SET_AND_KEYS.where(col(Series.series_uid) == bindparam("uid"))
_INSTANCES_OF_ID = _SET_AND_KEYS.where(col(Series.id) == bindparam("id"))


class Instances(NamedTuple):
    """A series' set of instances as the index has it at one moment."""

    key: str  # `runtime.content_key`: the caches' name for the set ("" for no series)
    keys: list[str]  # store keys, in viewer order
    syntaxes: list[str]  # each one's stored transfer syntax, as indexed ("" when unknown)


def _instances(rows: Sequence[Any]) -> Instances:
    if not rows:
        return Instances("", [], [])
    uid, instance_set = rows[0][0], rows[0][1]
    present = [(key, syntax or "") for _, _, key, syntax in rows if key is not None]
    return Instances(runtime.content_key(uid, instance_set), [k for k, _ in present],
                     [syntax for _, syntax in present])


def current_instances(session: Session, series_id: int | None) -> Instances:
    """The series' set of instances as this session sees it (its own changes flushed first);
    the name comes from the token the database renews with every change to them."""
    session.flush()
    return _instances(session.connection().execute(_INSTANCES_OF_ID, {"id": series_id}).all())


def current_instances_of_uid(session: Session, series_uid: str) -> Instances:
    """`current_instances` of the series named by its UID."""
    session.flush()
    return _instances(session.connection().execute(_INSTANCES_OF_UID, {"uid": series_uid}).all())


def refresh_shape(session: Session, series: Series, store: ImageStore) -> str | None:
    """Set the series' size to its main stack's from the indexed instances' headers, and
    keep its stack and opening slice; the caller commits. Returns why it could not (headers
    that describe no image, an unreachable store): the size then stays as indexed from the
    instances."""
    key, keys, syntaxes = current_instances(session, series.id)
    if not keys:
        return "no instances"
    try:
        headers = store.read_headers(keys)
        z, rows, columns = main_stack_shape(headers)
        kept = save_stack_order(key, keys, headers, syntaxes)
    except Exception as exc:  # noqa: BLE001  (ImagingError, StoreError, odd header values)
        return f"{type(exc).__name__}: {exc}"
    series.number_of_frames, series.rows, series.columns = z, rows, columns
    series.opening = opening_record(key, kept)
    session.add(series)
    return None


@dataclass(frozen=True, slots=True)
class Opening:
    """The slice a viewer opens a series with (the middle one of its main stack, each slice
    an instance of its own), kept in the index row with the name of the set of instances it
    was worked out from: opening a series reads that row and that slice's bytes, nothing
    else. Scrolling while the series loads reads the kept stack."""

    slices: int
    key: str
    frame: int
    head: FrameHead | None

    @property
    def index(self) -> int:
        return self.slices // 2


def opening_record(key: str, kept: KeptStack) -> str:
    """`series.opening` for the set of instances named `key` ("" when its slices are frames
    of multi-frame instances: those load as a whole)."""
    if not kept.one_instance_a_slice:
        return ""
    middle = len(kept.sources) // 2
    store_key, frame = kept.slice(middle)
    return json.dumps({"set": key, "slices": len(kept.sources), "key": store_key, "frame": frame,
                       "head": kept.head(middle)})


def opening_of(record: str, key: str) -> Opening | None:
    """The opening slice `record` keeps, if it was worked out for the set named `key`."""
    try:
        kept = json.loads(record) if record else None
        if not isinstance(kept, dict) or kept.pop("set", None) != key:
            return None
        opening = Opening(**kept)
    except (ValueError, TypeError):
        return None
    head = opening.head
    if (type(opening.slices) is not int or opening.slices < 1 or type(opening.key) is not str
            or type(opening.frame) is not int
            or not (head is None or (isinstance(head, dict) and head.keys() >= FrameHead.__required_keys__))):
        return None
    return opening


@dataclass(frozen=True, slots=True)
class KeptStack:
    """One set of instances as kept: their store keys in viewer order, which instance (and
    frame) each slice of the main stack comes from, and how each slice can be shown from its
    own stored bytes, when it can (`imaging.stored`)."""

    prefix: str  # the keys' common prefix
    suffixes: list[str]  # each key without it
    sources: list[int]  # per slice: its instance's place among the keys
    frames: list[int]  # per slice: the frame of that instance
    slice_heads: list[int]  # per slice: its entry in `heads`, -1 for none
    offsets: list[int]  # per slice: where its pixel bytes start in its file, -1: unknown
    file_sizes: list[int]  # per slice: the size of that file, -1: unknown
    heads: list[dict]  # the distinct heads, offset and file size left out

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.prefix + suffix for suffix in self.suffixes)

    @property
    def order(self) -> StackOrder:
        return [self.slice(z) for z in range(len(self.sources))]

    @property
    def one_instance_a_slice(self) -> bool:
        """Each slice has an instance of its own (not a frame of a multi-frame one)."""
        return not any(self.frames) and len(set(self.sources)) == len(self.sources)

    def slice(self, z: int) -> tuple[str, int]:
        """The store key and frame of slice `z`."""
        return self.prefix + self.suffixes[self.sources[z]], self.frames[z]

    def head(self, z: int) -> FrameHead | None:
        if self.slice_heads[z] < 0:
            return None
        offset, size = self.offsets[z], self.file_sizes[z]
        return cast(FrameHead, {**self.heads[self.slice_heads[z]], "offset": None if offset < 0 else offset,
                                "file_size": None if size < 0 else size})


def save_stack_order(key: str, keys: Sequence[str], headers: Sequence[Dataset],
                     syntaxes: Sequence[str] = ()) -> KeptStack:
    """Work out (from the instances' headers, in `keys` order, and their stored transfer
    syntaxes where the headers do not say them) and keep, as content `key`
    (`runtime.content_key` of the set of instances `keys`), the stack order and each
    slice's head; returns them. A disk that cannot keep them costs the next opening a read
    of every header, nothing else."""
    found: dict[str, int] = {}
    heads: list[dict] = []
    columns: dict[str, list[int]] = {"sources": [], "frames": [], "slice_heads": [], "offsets": [],
                                     "file_sizes": []}
    for source, frame in main_stack_frames(headers):
        head = frame_head(headers[source], syntaxes[source] if syntaxes else "")
        number = -1
        if head is not None:
            shared = {name: value for name, value in head.items() if name not in _PER_FILE}
            number = found.setdefault(json.dumps(shared, sort_keys=True), len(heads))
            if number == len(heads):
                heads.append(shared)
        columns["sources"].append(source)
        columns["frames"].append(frame)
        columns["slice_heads"].append(number)
        for name, column in _PER_FILE.items():
            value = None if head is None else head[name]  # type: ignore[literal-required]
            columns[column].append(-1 if value is None else value)
    prefix = os.path.commonprefix(list(keys))
    kept = KeptStack(prefix=prefix, suffixes=[k[len(prefix):] for k in keys], heads=heads, **columns)
    if not any("\n" in k for k in keys):  # (store keys are UIDs and slashes)
        _keep(runtime.stack_order_path(key),
              {"key": key, **asdict(kept), "suffixes": "\n".join(kept.suffixes)})
    return kept


def _keep(path: Path, content: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(content, out)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass


def stack_order(key: str) -> KeptStack | None:
    """What was kept for the set of instances whose `runtime.content_key` is `key`; None
    when nothing was (indexed before it was, or the file is gone, spoilt or of an older
    form). The keys are kept once (their common prefix apart, as one string: 300 strings
    cost JSON three times more to read); each slice names its instance
    by its place among them and its head by its place among the distinct heads (a CT series
    has one). Checked column by column (a first slice should not wait for a loop over every
    slice)."""
    try:
        kept = json.loads(runtime.stack_order_path(key).read_bytes())
        if not isinstance(kept, dict) or kept.pop("key", None) != key:
            return None
        stack = KeptStack(**kept | {"suffixes": kept["suffixes"].split("\n")})
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    count, suffixes, heads = len(stack.sources), stack.suffixes, stack.heads
    columns = (stack.sources, stack.frames, stack.slice_heads, stack.offsets, stack.file_sizes)
    if not (isinstance(stack.prefix, str) and isinstance(suffixes, list) and suffixes
            and {type(k) for k in suffixes} == {str} and isinstance(heads, list)
            and all(isinstance(h, dict) and h.keys() >= _HEAD_FIELDS for h in heads)
            and count and all(isinstance(c, list) and len(c) == count and {type(v) for v in c} == {int}
                              for c in columns)):
        return None
    if not (min(stack.sources) >= 0 and max(stack.sources) < len(suffixes) and min(stack.frames) >= 0
            and min(stack.slice_heads) >= -1 and max(stack.slice_heads) < len(heads)
            and min(stack.offsets) >= -1 and min(stack.file_sizes) >= -1):
        return None
    return stack


_PER_FILE = {"offset": "offsets", "file_size": "file_sizes"}  # head field: KeptStack column
_HEAD_FIELDS = FrameHead.__required_keys__ - _PER_FILE.keys()


def uid_summary(uids: Iterable[str]) -> dict[str, object]:
    """Series UIDs for an audit event: the count, and the first `MAX_AUDIT_UIDS` of them."""
    values = list(dict.fromkeys(uids))
    return {"count": len(values), "uids": values[:MAX_AUDIT_UIDS]}
