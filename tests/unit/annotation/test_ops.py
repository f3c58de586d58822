"""Edit operations: JSON round trips, and early, field-naming refusals of malformed ones."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.ops import EditOp, Mode, Tool

BRUSH: dict[str, Any] = {
    "tool": "brush",
    "mode": "draw",
    "plane": "axial",
    "index": 3,
    "points": [[1.5, 2.0], [4.0, 6.25]],
    "radius_mm": 2.5,
}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BRUSH, id="brush"),
        pytest.param({**BRUSH, "tool": "sphere", "points": [[3, 4]], "mode": "erase"}, id="sphere"),
        pytest.param(
            {
                **BRUSH,
                "tool": "polygon",
                "plane": "coronal",
                "points": [[0, 0], [0, 5], [5, 0]],
                "radius_mm": None,
            },
            id="polygon",
        ),
        pytest.param(
            {
                **BRUSH,
                "tool": "spline",
                "plane": "sagittal",
                "points": [[0, 0], [0, 5], [5, 5], [5, 0]],
                "radius_mm": None,
            },
            id="spline",
        ),
    ],
)
def test_json_round_trip(data: dict[str, Any]) -> None:
    op = EditOp.from_json(data)
    assert isinstance(op.tool, Tool) and isinstance(op.mode, Mode)
    assert all(isinstance(v, float) for point in op.points for v in point)
    text = json.dumps(op.to_json())
    assert EditOp.from_json(json.loads(text)) == op
    assert json.loads(text) == {
        **data,
        "points": [[float(r), float(c)] for r, c in data["points"]],
        "radius_mm": data["radius_mm"],
    }


def test_direct_construction_validates_and_normalises() -> None:
    op = EditOp(tool="brush", mode="erase", plane="axial", index=0, points=[(1, 2)], radius_mm=3)  # type: ignore[arg-type]
    assert op.tool is Tool.BRUSH and op.mode is Mode.ERASE
    assert op.points == ((1.0, 2.0),) and op.radius_mm == 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.index = 2  # type: ignore[misc]
    assert (
        EditOp.from_json(
            {k: v for k, v in BRUSH.items() if k != "radius_mm"}
            | {"tool": "polygon", "points": [[0, 0], [0, 1], [1, 0]]}
        ).radius_mm
        is None
    )


BAD = [
    pytest.param(
        {**BRUSH, "tool": "pen"}, r"^tool: unknown tool 'pen'; expected one of brush, sphere", id="tool"
    ),
    pytest.param({**BRUSH, "mode": "xor"}, r"^mode: unknown mode 'xor'", id="mode"),
    pytest.param(
        {**BRUSH, "plane": "oblique"}, r"^plane: unknown plane 'oblique'; expected one of axial", id="plane"
    ),
    pytest.param({**BRUSH, "plane": 0}, r"^plane: unknown plane 0", id="plane-type"),
    pytest.param({**BRUSH, "index": -1}, r"^index: expected a slice index >= 0", id="negative-index"),
    pytest.param({**BRUSH, "index": 1.5}, r"^index: ", id="float-index"),
    pytest.param({**BRUSH, "index": True}, r"^index: ", id="bool-index"),
    pytest.param({**BRUSH, "radius_mm": None}, r"^radius_mm: required for the brush tool", id="no-radius"),
    pytest.param({**BRUSH, "radius_mm": 0}, r"^radius_mm: must be a positive", id="zero-radius"),
    pytest.param({**BRUSH, "radius_mm": "2"}, r"^radius_mm: expected a number", id="text-radius"),
    pytest.param(
        {**BRUSH, "tool": "polygon", "points": [[0, 0], [0, 1], [1, 0]]},
        r"^radius_mm: the polygon tool takes no radius",
        id="stray-radius",
    ),
    pytest.param(
        {**BRUSH, "points": [[0, 0]] * 10_001},
        r"^points: the brush tool takes at most 10000 points",
        id="too-many-points",
    ),
    pytest.param(
        {**BRUSH, "tool": "sphere"}, r"^points: the sphere tool takes one point", id="sphere-2-points"
    ),
    pytest.param(
        {**BRUSH, "tool": "spline", "radius_mm": None, "points": [[0, 0], [1, 1]]},
        r"^points: need at least 3",
        id="spline-2-points",
    ),
    pytest.param({**BRUSH, "points": []}, r"^points: need at least 1", id="no-points"),
    pytest.param({**BRUSH, "points": [[1, "2"]]}, r"^points: point 0 must be a \[row, col\] pair", id="text"),
    pytest.param({**BRUSH, "points": [[1, True]]}, r"^points: point 0 must be", id="bool-coordinate"),
    pytest.param({**BRUSH, "points": [[1, 2, 3]]}, r"^points: point 0 must be", id="triple"),
    pytest.param({**BRUSH, "points": [[1, float("nan")]]}, r"^points: point 0 is not finite", id="nan"),
    pytest.param({**BRUSH, "points": "1,2"}, r"^points: expected a list", id="points-string"),
    pytest.param({**BRUSH, "colour": "red"}, r"^unknown field\(s\) colour", id="unknown-field"),
    pytest.param(
        {k: v for k, v in BRUSH.items() if k != "plane"}, r"^missing field\(s\) plane", id="missing"
    ),
    pytest.param([BRUSH], r"must be a JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_json_is_refused_naming_the_field(data: Any, message: str) -> None:
    with pytest.raises(AnnotationInputError, match=message):
        EditOp.from_json(data)


def test_enum_values_are_the_wire_strings() -> None:
    assert [t.value for t in Tool] == ["brush", "sphere", "polygon", "spline"]
    assert [m.value for m in Mode] == ["draw", "erase"]
    assert Tool.BRUSH == "brush"
