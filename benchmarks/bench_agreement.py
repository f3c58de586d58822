"""HD95 between two masks of a 512×512×300 volume, spacing 1.25 × 0.7 × 0.7 mm.

Ours: ``labelstack.annotation.agreement.surface_distances`` — crop to the union's box, surfaces
by morphological erosion, nearest-neighbour queries (``scipy.spatial.cKDTree``) from the voxels
of one surface that are not on the other. Reference: ``tests/unit/annotation/agreement_reference``
— the same crop, surfaces by explicit neighbour comparison, and a Euclidean distance transform
of each surface's complement (``scipy.ndimage.distance_transform_edt``, ``sampling=`` spacing)
read at the other surface. Both give the same distances (checked below to 1e-9 mm).

Two pairs: two different annotators (ellipsoids of ≈ 4.3 M voxels, offset and rippled: little
surface in common), and two versions (the second adds a bump of radius 40 mm: most surface shared).
"""

from __future__ import annotations

import numpy as np

from benchmarks import interleaved_ms, print_table
from labelstack.annotation import agreement
from tests.unit.annotation import agreement_reference as reference

SHAPE = (300, 512, 512)
SPACING = (1.25, 0.7, 0.7)


def main() -> None:
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    a = ((z - 150) / 80.0) ** 2 + ((y - 256) / 120.0) ** 2 + ((x - 240) / 110.0) ** 2 <= 1
    b = ((z - 155) / 78.0) ** 2 + ((y - 250) / 125.0) ** 2 + ((x - 246) / 104.0) ** 2 \
        + 0.05 * np.sin(x / 9.0) * np.cos(y / 7.0) <= 1
    bump = ((z - 150) * SPACING[0]) ** 2 + ((y - 256) * SPACING[1]) ** 2 \
        + ((x - 350) * SPACING[2]) ** 2 <= 40.0**2
    pairs = {"two annotators": (a, b), "two versions (+ a bump)": (a, a | bump)}
    rows = []
    for name, (m1, m2) in pairs.items():
        ours = agreement.surface_distances(m1, m2, SPACING)
        ref = reference.distances_edt(m1, m2, SPACING)
        for mine, theirs in zip(ours, ref, strict=True):
            np.testing.assert_allclose(np.sort(mine), np.sort(theirs), atol=1e-9)
        hd_ours, hd_ref = agreement.hd95(*ours), reference.hd95(*ref)
        assert hd_ours is not None and abs(hd_ours - hd_ref) < 1e-9

        def run_ours(m1: np.ndarray = m1, m2: np.ndarray = m2) -> float | None:
            return agreement.hd95(*agreement.surface_distances(m1, m2, SPACING))

        def run_ref(m1: np.ndarray = m1, m2: np.ndarray = m2) -> float:
            return reference.hd95(*reference.distances_edt(m1, m2, SPACING))

        ms = interleaved_ms({"ours": run_ours, "ref": run_ref}, repeat=5, warmup=1)
        surfaces = f"{ours[0].size} / {ours[1].size}"
        shared = int(np.count_nonzero(ours[0] == 0))
        rows.append((name, surfaces, shared, f"{hd_ours:.3f}", ms["ours"], ms["ref"],
                     f"{ms['ref'] / ms['ours']:.1f}x"))
    print(f"HD95 on two {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} masks, spacing {SPACING} mm (dz, dy, dx), "
          "median ms of 5")
    print_table(["pair", "surface voxels a / b", "a's voxels at 0 mm", "HD95 mm", "ours kd-tree ms",
                 "reference EDT ms", "reference / ours"], rows)


if __name__ == "__main__":
    main()
