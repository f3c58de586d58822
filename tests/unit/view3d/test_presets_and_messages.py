"""The transfer function presets, the spec file and the line protocol of the 3D view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelstack.view3d import protocol
from labelstack.view3d.presets import CT_PRESETS, data_range, presets_for
from labelstack.view3d.spec import LabelSpec, ViewSpec


def test_ct_offers_its_four_presets_and_others_a_ramp_over_their_data() -> None:
    assert [p.title for p in presets_for("CT", -1000, 2000)] == [
        "Soft tissue", "Bone", "Lung", "Vessels (contrast)"]
    (mr,) = presets_for("MR", 10.0, 810.0)
    values = [p[0] for p in mr.points]
    assert values[0] == 10.0 and values[-1] == 810.0


@pytest.mark.parametrize("preset", CT_PRESETS, ids=lambda p: p.name)
def test_presets_are_ordered_and_in_range(preset) -> None:  # noqa: ANN001
    values = [p[0] for p in preset.points]
    assert values == sorted(values)
    assert all(0 <= c <= 1 for p in preset.points for c in p[1:])


def test_the_opacity_control_scales_and_never_exceeds_one() -> None:
    bone = CT_PRESETS[1]
    doubled = bone.scaled(2.0)
    assert [p[4] for p in doubled] == [min(1.0, 2 * p[4]) for p in bone.points]
    assert max(p[4] for p in doubled) == 1.0


def test_data_range_reads_a_strided_sample() -> None:
    pixels = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    low, high = data_range(pixels, samples=1000)
    assert 5 < low < 15 and 990 < high < 1000


def test_the_spec_file_reads_back(tmp_path: Path) -> None:
    spec = ViewSpec(volume="/v.npy", shape=(3, 4, 5), spacing=(2.0, 1.0, 1.0), origin=(0.0, 1.0, 2.0),
                    orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), modality="CT", labels_dir=str(tmp_path),
                    labels=[LabelSpec(id=7, color="#ff0000", box=(0, 1, 2, 3, 4, 5))], slices=(1, None, 2),
                    port=1234)
    spec.write(tmp_path / "spec.json")
    assert ViewSpec.read(tmp_path / "spec.json") == spec
    assert spec.label_path(7) == tmp_path / "label-7.npy"


def test_messages_are_one_json_object_a_line_and_anything_else_is_ignored() -> None:
    line = protocol.encode(protocol.MASK, label=3, box=[0, 0, 0, 1, 1, 1])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert protocol.decode(line) == {"type": "mask", "label": 3, "box": [0, 0, 0, 1, 1, 1]}
    for other in (b"Starting server\n", b"[1, 2]\n", b'{"no": "type"}\n', b"\xff\xfe"):
        assert protocol.decode(other) is None
