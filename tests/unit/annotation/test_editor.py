"""The mask editor: strokes land on the voxels the viewer shows, undo/redo restore exact bits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from labelstack.annotation import raster
from labelstack.annotation.editor import Change, MaskEditor
from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.ops import EditOp, Mode, Tool
from labelstack.imaging import Volume, extract_slice

SHAPE = (4, 5, 6)  # z, y, x: every axis a different length
SPACING = (3.0, 0.5, 0.75)
IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
ORIENTATIONS = [
    pytest.param(IDENTITY, id="axial-acquisition"),
    pytest.param((0.0, 1.0, 0.0, 0.0, 0.0, -1.0), id="sagittal-acquisition"),
    pytest.param((1.0, 0.0, 0.0, 0.0, 0.0, -1.0), id="coronal-acquisition"),
    pytest.param((1.0, 0.0, 0.0, 0.0, -1.0, 0.0), id="feet-first-axial"),
]
PLANES = ("axial", "coronal", "sagittal")


def fake_volume(
    orientation: tuple[float, ...] = IDENTITY, kind: str = "volume", shape: tuple[int, int, int] = SHAPE
) -> Volume:
    return Volume(
        pixels=np.zeros(shape, np.float32),
        spacing=SPACING,
        origin=(0.0, 0.0, 0.0),
        orientation=orientation,
        modality="CT",
        photometric="MONOCHROME2",
        default_window=None,
        series_uid="1.2.3",
        kind=kind,
        warnings=[],
    )


def op(
    tool: str, plane: str, index: int, points: list, radius: float | None = None, mode: str = "draw"
) -> EditOp:
    return EditOp.from_json(
        {"tool": tool, "mode": mode, "plane": plane, "index": index, "points": points, "radius_mm": radius}
    )


def voxels(mask: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in p) for p in np.argwhere(mask)}


def test_axial_then_coronal_strokes_hit_the_hand_computed_voxels() -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    # axial slice z=2, rows y 0.5 mm, cols x 0.75 mm, r 0.6 mm: one pixel up and down, none sideways
    first = editor.apply(op("brush", "axial", 2, [[2, 3]], 0.6))
    assert voxels(editor.mask) == {(2, 1, 3), (2, 2, 3), (2, 3, 3)}
    assert first == Change((2, 1, 3, 3, 4, 4), True)
    # coronal slice y=1: rows run z downwards from superior (row 0 = z 3), cols x; 3 mm x 0.75 mm
    second = editor.apply(op("brush", "coronal", 1, [[0, 0]], 1.0))
    assert voxels(editor.mask) == {(2, 1, 3), (2, 2, 3), (2, 3, 3), (3, 1, 0), (3, 1, 1)}
    assert second == Change((3, 1, 0, 4, 2, 2), True)
    assert editor.pixel_spacing("coronal") == (3.0, 0.75)
    assert editor.slice_shape("sagittal") == (4, 5) and editor.slice_count("sagittal") == 6


def test_sphere_is_centred_on_the_clicked_voxel_in_mm() -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    editor.apply(op("sphere", "coronal", 2, [[1, 3]], 1.0))  # row 1 = z 2, y 2, x 3
    z, y, x = np.indices(SHAPE)
    expected = ((z - 2) * 3.0) ** 2 + ((y - 2) * 0.5) ** 2 + ((x - 3) * 0.75) ** 2 <= 1.0
    np.testing.assert_array_equal(editor.mask, expected)
    assert expected[2, 0, 3] and expected[2, 4, 3]  # the rim at exactly 1 mm is in


def _tool_ops(plane: str, index: int) -> list[EditOp]:
    return [
        op("brush", plane, index, [[0.4, 0.2], [2.6, 3.9]], 0.9),
        op("polygon", plane, index, [[-0.5, 0.5], [2.5, 4.5], [3.2, 0.7]]),
        op("spline", plane, index, [[0.3, 1.2], [1.4, 3.8], [3.6, 2.1]]),
        op("brush", plane, index, [[1.1, 1.9]], 0.8, mode="erase"),
    ]


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_every_tool_in_every_plane_edits_what_extract_slice_shows(orientation) -> None:
    volume = fake_volume(orientation)
    for plane in PLANES:
        index = 1
        editor = MaskEditor(np.zeros(SHAPE, bool), volume)
        expected = np.zeros(SHAPE, bool)
        view = extract_slice(volume, plane, index, data=expected)
        rows, cols = view.shape
        _, row_axis, col_axis = _plane_axes(volume, plane)
        for edit in _tool_ops(plane, index):
            before = expected.copy()
            if edit.tool is Tool.BRUSH:
                spacing = (SPACING[row_axis], SPACING[col_axis])
                box, patch = raster.brush((rows, cols), edit.points, edit.radius_mm or 0, spacing)
            elif edit.tool is Tool.POLYGON:
                box, patch = raster.polygon((rows, cols), edit.points)
            else:
                box, patch = raster.spline((rows, cols), edit.points)
            r0, c0, r1, c1 = box
            if edit.mode is Mode.ERASE:
                view[r0:r1, c0:c1] &= ~patch
            else:
                view[r0:r1, c0:c1] |= patch
            change = editor.apply(edit)
            np.testing.assert_array_equal(editor.mask, expected, err_msg=f"{plane} {edit.tool}")
            diff = before != expected
            assert change.changed == diff.any()
            if diff.any():
                hits = np.argwhere(diff)
                assert change.box == (*hits.min(axis=0), *(hits.max(axis=0) + 1))
        assert expected.any()
        for other in PLANES:
            for i in range(editor.slice_count(other)):
                np.testing.assert_array_equal(
                    editor.slice_overlay(other, i), extract_slice(volume, other, i, data=expected)
                )


def _plane_axes(volume: Volume, plane: str) -> tuple[int, int, int]:
    """The volume axes of (index, rows, cols), found through extract_slice alone."""
    probe = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    view = extract_slice(volume, plane, 0, data=probe)
    strides = {abs(s): axis for axis, s in enumerate(probe.strides)}
    rows, cols = strides[abs(view.strides[0])], strides[abs(view.strides[1])]
    return 3 - rows - cols, rows, cols


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_box_in_plane_is_the_change_box_seen_in_each_slice(orientation) -> None:
    volume = fake_volume(orientation)
    editor = MaskEditor(np.zeros(SHAPE, bool), volume)
    change = Change((1, 2, 1, 3, 5, 4), True)  # z 1..2, y 2..4, x 1..3
    box_mask = np.zeros(SHAPE, bool)
    box_mask[change.slices] = True
    for plane in PLANES:
        for index in range(editor.slice_count(plane)):
            seen = extract_slice(volume, plane, index, data=box_mask)
            hits = np.argwhere(seen)
            expected = (*hits.min(axis=0), *(hits.max(axis=0) + 1)) if len(hits) else None
            assert editor.box_in_plane(change, plane, index) == expected, (plane, index)
    assert editor.box_in_plane(Change((0, 0, 0, 0, 0, 0), False), "axial", 0) is None


def test_a_stroke_in_one_view_refreshes_the_right_box_in_another() -> None:
    volume = fake_volume((0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
    editor = MaskEditor(np.zeros(SHAPE, bool), volume)
    change = editor.apply(op("brush", "sagittal", 2, [[1, 1], [1, 3]], 0.6))
    for plane in PLANES:
        for index in range(editor.slice_count(plane)):
            box = editor.box_in_plane(change, plane, index)
            overlay = editor.slice_overlay(plane, index)
            if box is None:
                assert not overlay.any()
            else:
                r0, c0, r1, c1 = box
                outside = overlay.copy()
                outside[r0:r1, c0:c1] = False
                assert not outside.any() and overlay[r0:r1, c0:c1].any()
                np.testing.assert_array_equal(editor.slice_overlay(plane, index, box), overlay[r0:r1, c0:c1])


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_undo_and_redo_restore_exact_bits_across_planes(orientation) -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume(orientation))
    snapshots = [editor.mask.copy()]
    changes = []
    for plane, edit in itertools.product(PLANES, range(4)):
        change = editor.apply(_tool_ops(plane, 2)[edit])
        if change.changed:
            snapshots.append(editor.mask.copy())
            changes.append(change)
    assert editor.undo_steps == len(changes) >= 9
    for k in range(len(changes), 0, -1):
        assert editor.undo() == changes[k - 1]
        np.testing.assert_array_equal(editor.mask, snapshots[k - 1])
    assert editor.undo() is None and editor.redo_steps == len(changes)
    for k in range(1, len(changes) + 1):
        assert editor.redo() == changes[k - 1]
        np.testing.assert_array_equal(editor.mask, snapshots[k])
    assert editor.redo() is None


def test_history_keeps_the_newest_max_steps() -> None:
    shape = (3, 8, 8)
    editor = MaskEditor(np.zeros(shape, bool), fake_volume(shape=shape))
    positions = list(itertools.product(range(3), range(8), range(8)))[:150]
    assert len(positions) == 150
    snapshots = []
    for z, y, x in positions:  # 150 single-voxel strokes, each a step
        assert editor.apply(op("brush", "axial", z, [[y, x]], 0.1)).changed
        snapshots.append(editor.mask.copy())
    assert editor.undo_steps == 100
    for _ in range(100):
        assert editor.undo() is not None
    assert editor.undo() is None
    np.testing.assert_array_equal(editor.mask, snapshots[49])  # the 50 oldest steps were dropped
    small = MaskEditor(np.zeros(SHAPE, bool), fake_volume(), max_steps=3)
    for y in range(5):
        small.apply(op("brush", "axial", 0, [[y, 0]], 0.1))
    assert small.undo_steps == 3


def test_a_new_apply_clears_redo_and_a_no_op_records_nothing() -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    stroke = op("brush", "axial", 0, [[1, 1]], 0.5)
    editor.apply(stroke)
    editor.apply(op("brush", "axial", 1, [[1, 1]], 0.5))
    editor.undo()
    assert editor.redo_steps == 1
    assert editor.apply(stroke) == Change((0, 0, 0, 0, 0, 0), False)  # already drawn: nothing changes
    assert (editor.undo_steps, editor.redo_steps) == (1, 1)
    editor.apply(op("brush", "axial", 3, [[4, 5]], 0.5))
    assert editor.redo_steps == 0 and editor.redo() is None
    assert editor.undo_steps == 2


def test_erase_clears_only_the_stroke() -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    editor.apply(op("polygon", "axial", 1, [[-1, -1], [-1, 9], [9, 9], [9, -1]]))
    assert editor.mask[1].all() and editor.mask.sum() == 30
    change = editor.apply(op("brush", "axial", 1, [[2, 2]], 0.6, mode="erase"))
    assert voxels(~editor.mask[1]) == {(1, 2), (2, 2), (3, 2)}
    assert change == Change((1, 1, 2, 2, 4, 3), True)
    assert not editor.apply(op("brush", "axial", 0, [[2, 2]], 0.6, mode="erase")).changed  # empty slice
    editor.undo()
    assert editor.mask[1].all()


def test_undo_memory_is_the_box_not_the_mask() -> None:
    volume = fake_volume(shape=(64, 256, 256))
    volume.spacing = (1.0, 0.7, 0.7)
    editor = MaskEditor(np.zeros((64, 256, 256), bool), volume)
    change = editor.apply(op("brush", "axial", 10, [[100, 100], [100, 110]], 5.0))
    z0, y0, x0, z1, y1, x1 = change.box
    assert (z1 - z0, y1 - y0) == (1, 15) and x1 - x0 == 25
    assert editor.history_nbytes == (15 * 25 + 7) // 8  # the box's previous bits, packed


BAD = [
    pytest.param(
        lambda e: e.apply(op("brush", "axial", 4, [[1, 1]], 1.0)),
        r"index: axial slice 4 out of "
        r"range; valid 0\.\.3",
        id="axial-index",
    ),
    pytest.param(
        lambda e: e.apply(op("brush", "sagittal", 6, [[1, 1]], 1.0)), r"valid 0\.\.5", id="sagittal"
    ),
    pytest.param(
        lambda e: e.slice_overlay("coronal", 5),
        r"coronal slice 5 out of range; valid 0\.\.4",
        id="overlay-index",
    ),
    pytest.param(lambda e: e.slice_overlay("oblique", 0), "plane: unknown plane 'oblique'", id="plane"),
    pytest.param(
        lambda e: e.slice_overlay("axial", 0, (0, 0, 6, 6)),
        r"box2d: .* not inside the axial slice",
        id="overlay-box",
    ),
    pytest.param(
        lambda e: e.box_in_plane(Change((0, 0, 0, 1, 1, 1), True), "axial", -1),
        r"axial slice -1 out of range",
        id="box-index",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_requests_name_the_valid_range(call, message) -> None:
    with pytest.raises(AnnotationInputError, match=message):
        call(MaskEditor(np.zeros(SHAPE, bool), fake_volume()))


def test_construction_checks_the_mask_and_the_planes() -> None:
    with pytest.raises(AnnotationInputError, match="does not match the volume"):
        MaskEditor(np.zeros((4, 5, 7), bool), fake_volume())
    with pytest.raises(AnnotationInputError, match="dtype bool"):
        MaskEditor(np.zeros(SHAPE, np.uint8), fake_volume())
    with pytest.raises(AnnotationInputError, match="max_steps"):
        MaskEditor(np.zeros(SHAPE, bool), fake_volume(), max_steps=0)
    cine = MaskEditor(np.zeros(SHAPE, bool), fake_volume(kind="cine"))
    assert cine.planes == ("axial",)
    with pytest.raises(AnnotationInputError, match="a cine has the axial plane only, not 'coronal'"):
        cine.apply(op("brush", "coronal", 0, [[1, 1]], 1.0))


def test_the_batches_of_one_stroke_are_one_undo_step() -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    before_stroke = editor.apply(op("brush", "axial", 1, [(0, 0)], 0.4), group=None)
    assert before_stroke.changed
    first = editor.mask.copy()
    for points in ([(1, 1), (1, 3)], [(1, 3), (3, 3)], [(3, 3), (3, 5)]):
        editor.apply(op("brush", "axial", 2, points, 0.4), group="stroke-7")
    assert editor.undo_steps == 2  # the lone dot, and the whole stroke
    editor.undo()
    assert np.array_equal(editor.mask, first)
    editor.redo()
    assert editor.mask[2, 1, 1:4].all() and editor.mask[2, 3, 3:6].all()
    editor.apply(op("brush", "axial", 3, [(2, 2)], 0.4), group="stroke-8")
    assert editor.undo_steps == 3


def test_rollback_takes_back_only_the_last_batch() -> None:
    """A batch whose journal write failed is taken back alone: the acknowledged batches of the
    same stroke stay, and one undo still removes the whole acknowledged stroke."""
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    editor.apply(op("brush", "axial", 2, [(1, 1), (1, 3)], 0.4), group="s")
    acknowledged = editor.mask.copy()
    editor.apply(op("brush", "axial", 2, [(1, 3), (3, 3)], 0.4), group="s")
    editor.rollback()
    assert np.array_equal(editor.mask, acknowledged) and editor.undo_steps == 1
    editor.undo()
    assert not editor.mask.any()
    lone = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    lone.apply(op("brush", "axial", 0, [(2, 2)], 0.4))
    lone.rollback()
    assert not lone.mask.any() and lone.undo_steps == 0


@pytest.mark.parametrize("tool, points", [
    ("brush", [(-9, -9), (-8, -20)]),
    ("polygon", [(10, 10), (10, 12), (12, 12)]),
    ("spline", [(-5, 2), (-5, 4), (-7, 3)]),
])
def test_a_shape_that_misses_the_slice_is_refused_and_changes_nothing(tool, points) -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    with pytest.raises(AnnotationInputError, match="outside the axial slice"):
        editor.apply(op(tool, "axial", 1, points, 0.4 if tool == "brush" else None))
    assert not editor.mask.any() and editor.undo_steps == 0


def test_a_brush_just_outside_the_edge_still_paints_the_edge() -> None:
    editor = MaskEditor(np.zeros(SHAPE, bool), fake_volume())
    assert editor.apply(op("brush", "axial", 1, [(-0.6, 2)], 1.0)).changed
