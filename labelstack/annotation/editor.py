"""One annotation's mask under edit: apply ``EditOp``s in any plane, undo and redo them.

The mask is the ``(z, y, x)`` bool volume itself, edited in place; a plane's slice is a view
of it laid out as ``labelstack.imaging.mpr`` shows it, so a stroke in any view edits the same
voxels. An undo step keeps only the changed box and its previous voxels (bit-packed), so a
hundred strokes cost kilobytes, not a hundred masks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from labelstack.annotation import raster
from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.ops import EditOp, Mode, Tool
from labelstack.annotation.raster import Box2, Box3
from labelstack.imaging.errors import ImagingError
from labelstack.imaging.mpr import PLANES, SliceMap, slice_map
from labelstack.imaging.volume import Volume

__all__ = ["Change", "MaskEditor", "plane_view"]

DEFAULT_MAX_STEPS = 100
_NOTHING: Box3 = (0, 0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Change:
    """The voxels an edit (or its undo/redo) touched: a tight ``(z0, y0, x0, z1, y1, x1)`` box."""

    box: Box3
    changed: bool

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Index the mask with these to read the changed voxels."""
        return _slices(self.box)


@dataclass(frozen=True, slots=True)
class _Step:
    """A box and the voxels to put back into it (bit-packed); `group` names the stroke whose
    batches it holds, so a stroke drawn over many pointer events is one undo step."""

    box: Box3
    bits: np.ndarray
    group: object = None

    @classmethod
    def capture(cls, mask: np.ndarray, box: Box3, group: object = None) -> _Step:
        return cls(box, np.packbits(mask[_slices(box)], axis=None), group)

    def restore(self, mask: np.ndarray) -> None:
        region = mask[_slices(self.box)]
        region[...] = self.unpacked()

    def unpacked(self) -> np.ndarray:
        z0, y0, x0, z1, y1, x1 = self.box
        shape = (z1 - z0, y1 - y0, x1 - x0)
        return np.unpackbits(self.bits, count=int(np.prod(shape))).reshape(shape).view(bool)

    def widened(self, mask: np.ndarray, box: Box3) -> _Step:
        """This step grown to cover `box` too: voxels outside its own box are put back as
        they are in `mask` now (before the next batch of the same stroke changes them)."""
        union: Box3 = (min(self.box[0], box[0]), min(self.box[1], box[1]), min(self.box[2], box[2]),
                       max(self.box[3], box[3]), max(self.box[4], box[4]), max(self.box[5], box[5]))
        before = mask[_slices(union)].copy()
        z0, y0, x0, z1, y1, x1 = self.box
        before[z0 - union[0]:z1 - union[0], y0 - union[1]:y1 - union[1],
               x0 - union[2]:x1 - union[2]] = self.unpacked()
        return _Step(union, np.packbits(before, axis=None), self.group)


def plane_view(mask: np.ndarray, mapping: SliceMap, index: int) -> np.ndarray:
    """Slice ``index`` of a plane as a writable view of ``mask`` (what ``mpr.extract_slice`` gives)."""
    steps = tuple(slice(None, None, -1 if flip else 1) for flip in mapping.flips)
    return np.moveaxis(mask, mapping.axes, (0, 1, 2))[steps][index]


class MaskEditor:
    """Applies edit operations to one mask, with a bounded undo/redo history.

    ``volume`` is read for its geometry only (spacing, orientation, kind). Every ``apply`` that
    changes voxels is one undo step and clears the redo stack, except that consecutive applies
    with the same ``group`` (the batches of one brush stroke) grow one step; an ``apply`` that
    changes nothing records no step and leaves redo intact. Beyond ``max_steps`` the oldest
    step is dropped. Do not write ``mask`` behind the editor's back: undo would restore stale bits.
    """

    def __init__(self, mask: np.ndarray, volume: Volume, *, max_steps: int = DEFAULT_MAX_STEPS) -> None:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.ndim != 3:
            raise AnnotationInputError("mask: expected a 3D (z, y, x) numpy array of dtype bool")
        if mask.shape != volume.shape[:3]:
            raise AnnotationInputError(
                f"mask: shape {mask.shape} does not match the volume {volume.shape[:3]}"
            )
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise AnnotationInputError(f"max_steps: expected an integer >= 1, got {max_steps!r}")
        self._mask = mask
        self._kind = volume.kind
        self._spacing = tuple(float(s) for s in volume.spacing)
        self._maps: dict[str, SliceMap] = {}
        for plane in PLANES:
            try:
                self._maps[plane] = slice_map(volume, plane)
            except ImagingError:
                continue  # images and cines have the axial plane (= frame) only
        self._undo: deque[_Step] = deque(maxlen=max_steps)
        self._redo: deque[_Step] = deque(maxlen=max_steps)
        self._rollback: tuple[_Step, _Step | None] | None = None

    @property
    def mask(self) -> np.ndarray:
        """The live mask (edited in place)."""
        return self._mask

    @property
    def planes(self) -> tuple[str, ...]:
        return tuple(self._maps)

    @property
    def undo_steps(self) -> int:
        return len(self._undo)

    @property
    def redo_steps(self) -> int:
        return len(self._redo)

    @property
    def history_nbytes(self) -> int:
        """Memory held by the undo and redo steps (packed voxels)."""
        return sum(step.bits.nbytes for step in (*self._undo, *self._redo))

    def slice_count(self, plane: str) -> int:
        return self._mask.shape[self._map(plane).axes[0]]

    def slice_shape(self, plane: str) -> tuple[int, int]:
        _, rows, cols = self._map(plane).axes
        return self._mask.shape[rows], self._mask.shape[cols]

    def pixel_spacing(self, plane: str) -> tuple[float, float]:
        """``(row_mm, col_mm)`` of the plane's slice pixels."""
        _, rows, cols = self._map(plane).axes
        return self._spacing[rows], self._spacing[cols]

    def apply(self, op: EditOp, *, group: object = None) -> Change:
        """Draw or erase ``op`` into the mask; one undo step, or part of the latest one when it
        has the same ``group``."""
        mapping = self._map(op.plane)
        self._check_index(op.plane, op.index)
        self._check_inside(op)
        if op.tool is Tool.SPHERE:
            centre = self._to_volume(mapping, op.index, op.points[0])
            box, patch = raster.sphere(self._mask.shape, centre, _radius(op), self._zyx_spacing())
        else:
            shape = self.slice_shape(op.plane)
            if op.tool is Tool.BRUSH:
                box2, patch2 = raster.brush(shape, op.points, _radius(op), self.pixel_spacing(op.plane))
            elif op.tool is Tool.POLYGON:
                box2, patch2 = raster.polygon(shape, op.points)
            else:
                box2, patch2 = raster.spline(shape, op.points)
            box, patch = self._lift(mapping, op.index, box2, patch2)
        return self._commit(box, patch, op.mode, group)

    def rollback(self) -> None:
        """Take back the latest ``apply`` alone (its change could not be made durable): the mask
        and the undo history are as before it; the redo history it cleared stays cleared."""
        if self._rollback is None:
            return
        before, previous = self._rollback
        self._rollback = None
        before.restore(self._mask)
        if previous is None:
            self._undo.pop()
        else:
            self._undo[-1] = previous

    def undo(self) -> Change | None:
        """Revert the latest step; None when there is nothing to undo."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(self._swap(step))
        return Change(step.box, True)

    def redo(self) -> Change | None:
        """Re-apply the latest undone step; None when there is nothing to redo."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(self._swap(step))
        return Change(step.box, True)

    def slice_overlay(self, plane: str, index: int, box2d: Box2 | None = None) -> np.ndarray:
        """A contiguous copy of the slice (or its ``(r0, c0, r1, c1)`` sub-box), to encode and send."""
        self._check_index(plane, index)
        view = plane_view(self._mask, self._map(plane), index)
        if box2d is None:
            return view.copy()
        r0, c0, r1, c1 = box2d
        rows, cols = view.shape
        if not (0 <= r0 <= r1 <= rows and 0 <= c0 <= c1 <= cols):
            raise AnnotationInputError(f"box2d: {box2d} is not inside the {plane} slice of {rows}x{cols}")
        return view[r0:r1, c0:c1].copy()

    def box_in_plane(self, change: Change, plane: str, index: int) -> Box2 | None:
        """The ``(r0, c0, r1, c1)`` part of slice ``index`` that ``change`` touched, or None."""
        mapping = self._map(plane)
        self._check_index(plane, index)
        if not change.changed:
            return None
        (i0, r0, c0), (i1, r1, c1) = self._to_plane(mapping, change.box)
        return (r0, c0, r1, c1) if i0 <= index < i1 else None

    def _commit(self, box: Box3, patch: np.ndarray, mode: Mode, group: object = None) -> Change:
        self._rollback = None
        if patch.size == 0:
            return Change(_NOTHING, False)
        region = self._mask[_slices(box)]
        flips = patch & (region if mode is Mode.ERASE else ~region)
        if not flips.any():
            return Change(_NOTHING, False)
        (d0, h0, w0, d1, h1, w1), _ = raster.crop(box[:3], flips)
        tight: Box3 = (d0, h0, w0, d1, h1, w1)
        last = self._undo[-1] if self._undo else None
        if group is not None and last is not None and last.group == group:
            self._undo[-1] = last.widened(self._mask, tight)
        else:
            self._undo.append(_Step.capture(self._mask, tight, group))
            last = None
        self._rollback = (_Step.capture(self._mask, tight), last)
        self._redo.clear()
        if mode is Mode.ERASE:
            region &= ~patch
        else:
            region |= patch
        return Change(tight, True)

    def _swap(self, step: _Step) -> _Step:
        self._rollback = None
        current = _Step.capture(self._mask, step.box, step.group)
        step.restore(self._mask)
        return current

    def _lift(self, mapping: SliceMap, index: int, box2: Box2, patch2: np.ndarray) -> tuple[Box3, np.ndarray]:
        """A 2D (box, patch) on a plane's slice as the (box, patch) of the volume it covers."""
        if patch2.size == 0:
            return _NOTHING, np.zeros((0, 0, 0), bool)
        r0, c0, r1, c1 = box2
        starts, stops = [0, 0, 0], [0, 0, 0]
        for axis, flip, lo, hi in zip(
            mapping.axes, mapping.flips, (index, r0, c0), (index + 1, r1, c1), strict=True
        ):
            n = self._mask.shape[axis]
            starts[axis], stops[axis] = (n - hi, n - lo) if flip else (lo, hi)
        steps = tuple(slice(None, None, -1 if flip else 1) for flip in mapping.flips)
        patch3 = np.moveaxis(patch2[None][steps], (0, 1, 2), mapping.axes)
        return (starts[0], starts[1], starts[2], stops[0], stops[1], stops[2]), patch3

    def _to_plane(self, mapping: SliceMap, box: Box3) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """A volume box as (index, row, col) start and stop in the plane's layout."""
        starts, stops = [0, 0, 0], [0, 0, 0]
        for k, (axis, flip) in enumerate(zip(mapping.axes, mapping.flips, strict=True)):
            n, lo, hi = self._mask.shape[axis], box[axis], box[axis + 3]
            starts[k], stops[k] = (n - hi, n - lo) if flip else (lo, hi)
        return (starts[0], starts[1], starts[2]), (stops[0], stops[1], stops[2])

    def _to_volume(
        self, mapping: SliceMap, index: int, point: tuple[float, float]
    ) -> tuple[float, float, float]:
        """A (row, col) point on slice ``index`` as fractional (z, y, x) voxel coordinates."""
        zyx = [0.0, 0.0, 0.0]
        for axis, flip, value in zip(mapping.axes, mapping.flips, (float(index), *point), strict=True):
            zyx[axis] = self._mask.shape[axis] - 1 - value if flip else value
        return zyx[0], zyx[1], zyx[2]

    def _zyx_spacing(self) -> tuple[float, float, float]:
        return self._spacing[0], self._spacing[1], self._spacing[2]

    def _map(self, plane: str) -> SliceMap:
        mapping = self._maps.get(plane)
        if mapping is None:
            if plane in PLANES:
                raise AnnotationInputError(f"plane: a {self._kind} has the axial plane only, not {plane!r}")
            raise AnnotationInputError(f"plane: unknown plane {plane!r}; expected one of {', '.join(PLANES)}")
        return mapping

    def _check_inside(self, op: EditOp) -> None:
        """Refuse a shape that misses the slice altogether (a client off by a view or a plane)."""
        rows, cols = self.slice_shape(op.plane)
        points = np.asarray(op.points, float)
        row_mm, col_mm = self.pixel_spacing(op.plane)
        flat = op.tool in (Tool.POLYGON, Tool.SPLINE, Tool.SPHERE)
        reach = 0.0 if flat else _radius(op) / min(row_mm, col_mm)
        low, high = points.min(axis=0) - reach, points.max(axis=0) + reach
        if op.tool is Tool.SPHERE:
            low = high = points[0]
        if high[0] < -0.5 or high[1] < -0.5 or low[0] > rows - 0.5 or low[1] > cols - 0.5:
            raise AnnotationInputError(
                f"points: the {op.tool} lies outside the {op.plane} slice (rows 0..{rows - 1}, "
                f"columns 0..{cols - 1})")

    def _check_index(self, plane: str, index: int) -> None:
        count = self.slice_count(plane)
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or not 0 <= index < count:
            raise AnnotationInputError(f"index: {plane} slice {index!r} out of range; valid 0..{count - 1}")


def _radius(op: EditOp) -> float:
    if op.radius_mm is None:  # EditOp refuses this already; keeps the type checker honest
        raise AnnotationInputError(f"radius_mm: required for the {op.tool} tool")
    return op.radius_mm


def _slices(box: Box3) -> tuple[slice, slice, slice]:
    return slice(box[0], box[3]), slice(box[1], box[4]), slice(box[2], box[5])
