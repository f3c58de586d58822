"""What a 3D view process is started with: one JSON file, written by the parent."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

Box = tuple[int, int, int, int, int, int]  # (z0, y0, x0, z1, y1, x1), end exclusive


@dataclass(kw_only=True, slots=True)
class LabelSpec:
    """One label as the label panel shows it; its mask is `label-<id>.npy` in the labels dir."""

    id: int
    color: str  # "#rrggbb"
    visible: bool = True
    box: Box | None = None  # where its voxels are (None: empty)


@dataclass(kw_only=True, slots=True)
class ViewSpec:
    volume: str  # a (z, y, x) .npy, memory-mapped read-only
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]  # (dz, dy, dx) mm
    origin: tuple[float, float, float]  # patient position (LPS, mm) of voxel (0, 0, 0)
    orientation: tuple[float, ...]  # row and column direction cosines (DICOM IOP)
    modality: str
    labels_dir: str
    labels: list[LabelSpec] = field(default_factory=list)
    slices: tuple[int | None, int | None, int | None] = (None, None, None)  # (z, y, x) planes shown
    port: int = 0
    host: str = "127.0.0.1"
    size: tuple[int, int] = (640, 480)

    def label_path(self, label_id: int) -> Path:
        return label_mask_path(Path(self.labels_dir), label_id)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> ViewSpec:
        data = json.loads(Path(path).read_text())
        labels = [LabelSpec(**{**item, "box": _box(item.get("box"))}) for item in data.pop("labels", [])]
        return cls(**{**data, **{k: tuple(data[k]) for k in
                                 ("shape", "spacing", "origin", "orientation", "slices", "size")
                                 if k in data}}, labels=labels)


def label_mask_path(labels_dir: Path, label_id: int) -> Path:
    return Path(labels_dir) / f"label-{label_id}.npy"


def _box(value: list[int] | None) -> Box | None:
    return None if value is None else (value[0], value[1], value[2], value[3], value[4], value[5])
