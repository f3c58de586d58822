"""One edit of a mask as plain data: what the browser asked for, what the journal stores.

An ``EditOp`` validates itself when built (directly or from JSON), so a malformed request is
refused before it touches a mask, and a journal replays only operations that were valid.
Coordinates are ``(row, col)`` pixels of the named plane's slice, as ``labelstack.imaging.mpr``
lays it out; the sphere's single point is its centre on that slice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from labelstack.annotation.errors import AnnotationInputError
from labelstack.annotation.raster import MAX_POINTS, check_points, check_radius
from labelstack.imaging.mpr import PLANES

__all__ = ["EditOp", "Mode", "Tool"]


class Tool(StrEnum):
    BRUSH = "brush"
    SPHERE = "sphere"
    POLYGON = "polygon"
    SPLINE = "spline"


class Mode(StrEnum):
    DRAW = "draw"
    ERASE = "erase"


_POINT_COUNTS = {
    Tool.BRUSH: (1, MAX_POINTS),
    Tool.SPHERE: (1, 1),
    Tool.POLYGON: (3, MAX_POINTS),
    Tool.SPLINE: (3, MAX_POINTS),
}
_RADIUS_TOOLS = (Tool.BRUSH, Tool.SPHERE)
_REQUIRED = ("tool", "mode", "plane", "index", "points")
_FIELDS = (*_REQUIRED, "radius_mm")
_E = TypeVar("_E", Tool, Mode)


@dataclass(frozen=True, slots=True)
class EditOp:
    """A brush stroke, sphere, polygon or spline drawn (or erased) on one slice of one plane.

    ``tool`` and ``mode`` accept their string values; ``radius_mm`` is required for the brush
    and the sphere and refused for the others, so a journal entry never carries a stray size.
    """

    tool: Tool
    mode: Mode
    plane: str
    index: int
    points: tuple[tuple[float, float], ...]
    radius_mm: float | None = None

    def __post_init__(self) -> None:
        tool = _enum(Tool, self.tool, "tool")
        object.__setattr__(self, "tool", tool)
        object.__setattr__(self, "mode", _enum(Mode, self.mode, "mode"))
        if not isinstance(self.plane, str) or self.plane not in PLANES:
            raise AnnotationInputError(
                f"plane: unknown plane {self.plane!r}; expected one of {', '.join(PLANES)}"
            )
        object.__setattr__(self, "plane", str(self.plane))
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise AnnotationInputError(f"index: expected a slice index >= 0, got {self.index!r}")
        low, high = _POINT_COUNTS[tool]
        object.__setattr__(self, "points", _points(self.points, tool, low, high))
        if tool in _RADIUS_TOOLS:
            if self.radius_mm is None:
                raise AnnotationInputError(f"radius_mm: required for the {tool} tool")
            object.__setattr__(self, "radius_mm", check_radius(self.radius_mm))
        elif self.radius_mm is not None:
            raise AnnotationInputError(f"radius_mm: the {tool} tool takes no radius, got {self.radius_mm!r}")

    def to_json(self) -> dict[str, Any]:
        """A dict of JSON types (str, int, float, lists, None)."""
        return {
            "tool": self.tool.value,
            "mode": self.mode.value,
            "plane": self.plane,
            "index": self.index,
            "points": [[r, c] for r, c in self.points],
            "radius_mm": self.radius_mm,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EditOp:
        """Inverse of ``to_json``; unknown or missing fields are errors, not defaults."""
        if not isinstance(data, Mapping):
            raise AnnotationInputError(f"an edit operation must be a JSON object, got {type(data).__name__}")
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise AnnotationInputError(
                f"unknown field(s) {', '.join(unknown)}; expected {', '.join(_FIELDS)}"
            )
        missing = [key for key in _REQUIRED if key not in data]
        if missing:
            raise AnnotationInputError(f"missing field(s) {', '.join(missing)}")
        return cls(
            tool=data["tool"],
            mode=data["mode"],
            plane=data["plane"],
            index=data["index"],
            points=data["points"],
            radius_mm=data.get("radius_mm"),
        )


def _enum(kind: type[_E], value: object, name: str) -> _E:
    if isinstance(value, str) and value in {member.value for member in kind}:
        return kind(value)
    choices = ", ".join(member.value for member in kind)
    raise AnnotationInputError(f"{name}: unknown {name} {value!r}; expected one of {choices}")


def _points(points: object, tool: Tool, low: int, high: int) -> tuple[tuple[float, float], ...]:
    """Exact JSON numbers only (no strings, no booleans), as a tuple of float pairs."""
    if not isinstance(points, list | tuple):
        raise AnnotationInputError(
            f"points: expected a list of [row, col] pairs, got {type(points).__name__}"
        )
    if len(points) > high:  # before looking at each point: a huge list costs nothing
        what = "one point (its centre)" if high == 1 else f"at most {high} points"
        raise AnnotationInputError(f"points: the {tool} tool takes {what}, got {len(points)}")
    for i, point in enumerate(points):
        if not isinstance(point, list | tuple) or len(point) != 2 or not all(_is_number(v) for v in point):
            raise AnnotationInputError(
                f"points: point {i} must be a [row, col] pair of numbers, got {point!r}"
            )
    array = check_points(list(points), min_count=low, max_count=high)
    return tuple((float(r), float(c)) for r, c in array.tolist())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
