"""One brush segment on a 512×512 axial slice of a 64×512×512 mask, answered as an overlay update.

Ours: ``MaskEditor.apply`` (vectorised over the segment's box, undo step = that box) and the
changed box of the slice bit-packed (``np.packbits``) — what the server sends back per segment.
Baseline: the same apply, then the whole slice redrawn the usual way: window the float32 CT
slice, blend the label overlay and JPEG-encode the frame.
Each call alternates draw and erase, so every call really changes voxels.
"""

from __future__ import annotations

import numpy as np

from benchmarks import interleaved_ms, print_table
from labelstack.annotation.editor import MaskEditor
from labelstack.annotation.ops import EditOp
from labelstack.imaging import Volume, extract_slice
from labelstack.imaging.phantom import AXIAL, phantom_ct
from labelstack.imaging.render import blend_overlays, encode, window_slice

SHAPE = (64, 512, 512)
SPACING = (1.0, 0.7, 0.7)
INDEX = SHAPE[0] // 2
CENTER, WIDTH, OPACITY, COLOUR = 40.0, 400.0, 0.4, (255, 64, 0)
SEGMENT = ((250.0, 300.0), (256.0, 308.0))  # 10 px apart
RADIUS_MM = 5.0


def main() -> None:
    volume = Volume(
        pixels=phantom_ct(SHAPE).astype(np.float32),
        spacing=SPACING,
        origin=(0.0, 0.0, 0.0),
        orientation=AXIAL,
        modality="CT",
        photometric="MONOCHROME2",
        default_window=(CENTER, WIDTH),
        series_uid="bench",
        kind="volume",
        warnings=[],
    )
    ops = [_op(mode) for mode in ("draw", "erase")]
    ours_editor, base_editor = (MaskEditor(_blob_mask(SHAPE), volume) for _ in range(2))
    turns = {"apply": 0, "ours": 0, "base": 0}

    def next_op(name: str) -> EditOp:
        turns[name] += 1
        return ops[(turns[name] - 1) % 2]  # draw first, then erase what was drawn, and so on

    apply_editor = MaskEditor(_blob_mask(SHAPE), volume)

    def apply_only() -> object:
        return apply_editor.apply(next_op("apply"))

    def ours() -> tuple[tuple[int, int, int, int], bytes]:
        change = ours_editor.apply(next_op("ours"))
        box = ours_editor.box_in_plane(change, "axial", INDEX)
        assert box is not None
        return box, np.packbits(ours_editor.slice_overlay("axial", INDEX, box)).tobytes()

    def baseline() -> bytes:
        base_editor.apply(next_op("base"))
        image = window_slice(volume, "axial", INDEX, center=CENTER, width=WIDTH)
        overlay = extract_slice(volume, "axial", INDEX, data=base_editor.mask)
        return encode(blend_overlays(image, [(overlay, COLOUR)], OPACITY), "jpeg", 90)

    ms = interleaved_ms({"apply": apply_only, "ours": ours, "base": baseline}, repeat=200, warmup=4)
    box, sent = ours()
    jpeg = baseline()
    print(
        f"Brush segment (2 points 10 px apart, r {RADIUS_MM:g} mm at {SPACING[1]:g} mm) on axial slice "
        f"{INDEX} of a {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} mask, median ms"
    )
    print_table(
        ["answer", "what is sent", "ms", "baseline / this"],
        [
            ("apply only (raster + undo step)", "-", ms["apply"], f"{ms['base'] / ms['apply']:.1f}x"),
            (
                "ours: apply + changed box packbits",
                f"{box[2] - box[0]}x{box[3] - box[1]} box, {len(sent)} B",
                ms["ours"],
                f"{ms['base'] / ms['ours']:.1f}x",
            ),
            (
                "baseline: apply + window + blend + JPEG q90",
                f"512x512 JPEG, {len(jpeg)} B",
                ms["base"],
                "1.0x",
            ),
        ],
    )


def _op(mode: str) -> EditOp:
    return EditOp.from_json(
        {
            "tool": "brush",
            "mode": mode,
            "plane": "axial",
            "index": INDEX,
            "points": [list(p) for p in SEGMENT],
            "radius_mm": RADIUS_MM,
        }
    )


def _blob_mask(shape: tuple[int, int, int]) -> np.ndarray:
    """An existing label (a sphere of radius 60 voxels) that the stroke lies outside of."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return (z - shape[0] // 2) ** 2 + (y - 200) ** 2 + (x - 200) ** 2 <= 60**2


if __name__ == "__main__":
    main()
