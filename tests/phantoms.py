"""Test series built from the one CT phantom writer, ``labelstack.imaging.phantom``.

Its names are re-exported here for the tests that import them from this module.
"""

from __future__ import annotations

import pydicom
from pydicom.uid import generate_uid

from labelstack.imaging.phantom import AXIAL, ct_datasets, phantom_ct, write_ct_series

__all__ = ["AXIAL", "ct_datasets", "mixed_ct_datasets", "phantom_ct", "write_ct_series"]


def mixed_ct_datasets(
    *, series_uid: str | None = None, study_uid: str | None = None
) -> list[pydicom.Dataset]:
    """One series as a scanner may send it: a 40x32 localizer first, two 16x16 images, then the
    10x32x32 main stack; the viewer shows only the main stack."""
    series_uid, study_uid = series_uid or generate_uid(), study_uid or generate_uid()
    same = dict(series_uid=series_uid, study_uid=study_uid)
    localizer = ct_datasets(shape=(1, 40, 32), orientation=(0, 1, 0, 0, 0, -1), **same)[0]
    localizer.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    small = ct_datasets(shape=(2, 16, 16), origin=(-90, -90, -400), seed=1, **same)
    main = ct_datasets(shape=(10, 32, 32), seed=2, **same)
    for number, ds in enumerate([localizer, *small, *main]):
        ds.InstanceNumber = number + 1
    return [localizer, *small, *main]
