"""A synthetic chest CT with known pixels and geometry, as pydicom datasets or as files: the
demo's sample volume, the tests' reference series and the benchmarks' input.

``phantom_ct`` gives the HU volume in slice order (ascending along the slice normal), so a
reader that sorts correctly must reproduce it exactly, whatever the file order and the
instance numbers say.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from labelstack.imaging.frames import Vec3

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
ORIGIN: Vec3 = (-90.0, -90.0, -120.0)
RESCALE_INTERCEPT = -1024  # stored value 0 is -1024 HU


def phantom_ct(shape: tuple[int, int, int] = (40, 128, 128), seed: int | None = 0) -> np.ndarray:
    """int16 HU: air, an elliptic body, two lungs whose size changes with z, a spine and a
    small dense lesion in one lung (around the middle slice).

    With a ``seed``, every slice also gets ±20 HU noise from that seed and a 200 HU marker
    row (row ``k % rows`` of slice ``k``), so no two slices are alike; ``seed=None`` is the
    clean image the demo shows.
    """
    z, y, x = shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, y), np.linspace(-1, 1, x), indexing="ij")
    yy, xx = yy.astype(np.float32), xx.astype(np.float32)
    body = (xx / 0.85) ** 2 + (yy / 0.65) ** 2 <= 1
    spine = (xx**2 + (yy - 0.45) ** 2) <= 0.01
    lesion_disc = (xx - 0.35) ** 2 + (yy + 0.1) ** 2
    out = np.empty(shape, np.int16)
    rng = None if seed is None else np.random.default_rng(seed)
    for k in range(z):
        t = (k + 0.5) / z
        r = 0.18 + 0.12 * np.sin(np.pi * t)
        lungs = (((np.abs(xx) - 0.4) / r) ** 2 + ((yy + 0.05) / (1.6 * r)) ** 2) <= 1
        image = np.where(body, 40, -1000).astype(np.int16)
        image[lungs & body] = -850
        image[spine] = 700
        image[lesion_disc + (2 * t - 1) ** 2 / 4 < 0.004] = 90
        if rng is not None:
            image[k % y, :] = np.where(body[k % y], 200, image[k % y])
            image += rng.integers(-20, 21, size=(y, x), dtype=np.int16)
        out[k] = image
    return out


def ct_datasets(
    *,
    shape: tuple[int, int, int] = (40, 128, 128),
    spacing: Vec3 = (2.5, 0.7, 0.7),
    orientation: Sequence[float] = AXIAL,
    origin: Sequence[float] = ORIGIN,
    uneven: bool = False,
    patient_id: str = "PHANTOM-1",
    series_uid: str | None = None,
    study_uid: str | None = None,
    window: tuple[float, float] | None = (40.0, 400.0),
    seed: int | None = 0,
) -> list[Dataset]:
    """One CT dataset per slice of ``phantom_ct(shape, seed)``, in slice order; ``spacing`` is
    (slice gap, row, column) in mm, ``origin`` the first slice's position. With ``uneven``
    the gaps after the middle slice are doubled.

    UIDs are derived from the series UID (a random one when not given): the study and frame
    of reference from it alone, each instance from it, the seed and the slice number. The
    same call therefore writes the same instances (the demo relies on this to be
    idempotent), and another seed gives other instances of the same series.
    """
    hu = phantom_ct(shape, seed)
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or derived_uid(series_uid, "study")
    frame_of_reference = derived_uid(series_uid, "for")
    variant = [] if seed is None else [str(seed)]
    out = []
    for k in range(shape[0]):
        distance = spacing[0] * (k + (1 if uneven and k > shape[0] // 2 else 0))
        position = np.asarray(origin, float) + distance * normal
        ds = _ct_slice(hu[k], derived_uid(series_uid, *variant, str(k)), position=position,
                       orientation=orientation, spacing=spacing, window=window)
        ds.PatientID, ds.PatientName = patient_id, f"Phantom^{patient_id}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.FrameOfReferenceUID = frame_of_reference
        ds.InstanceNumber = k + 1
        ds.SliceLocation = f"{float(np.dot(position, normal)):.4f}"
        out.append(ds)
    return out


def write_ct_series(
    directory: Path,
    *,
    shape: tuple[int, int, int] = (40, 128, 128),
    spacing: Vec3 = (2.5, 0.7, 0.7),
    orientation: Sequence[float] = AXIAL,
    origin: Sequence[float] = ORIGIN,
    shuffle: bool = False,
    uneven: bool = False,
    patient_id: str = "PHANTOM-1",
    series_uid: str | None = None,
    study_uid: str | None = None,
    window: tuple[float, float] | None = (40.0, 400.0),
    seed: int | None = 0,
) -> list[Path]:
    """Write ``ct_datasets(...)`` as ``IM00000.dcm``, ``IM00001.dcm``, ... in slice order; with
    ``shuffle`` the files come in a random order and their instance numbers follow the file
    names, so neither tells the slice order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    datasets = ct_datasets(shape=shape, spacing=spacing, orientation=orientation, origin=origin,
                           uneven=uneven, patient_id=patient_id, series_uid=series_uid,
                           study_uid=study_uid, window=window, seed=seed)
    order = list(range(len(datasets)))
    if shuffle:
        order = [int(k) for k in np.random.default_rng((seed or 0) + 1).permutation(len(datasets))]
    paths = []
    for number, k in enumerate(order):
        ds = datasets[k]
        if shuffle:
            ds.InstanceNumber = number + 1
        path = directory / f"IM{number:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def derived_uid(*sources: str) -> str:
    """A UID under pydicom's root that depends only on ``sources``."""
    return str(generate_uid(entropy_srcs=list(sources)))


def _ct_slice(hu: np.ndarray, sop_uid: str, *, position: np.ndarray, orientation: Sequence[float],
              spacing: Vec3, window: tuple[float, float] | None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
    ds.StudyDate, ds.StudyTime = "20240115", "101500"
    ds.StudyDescription, ds.SeriesDescription = "Chest phantom", "Axial CT phantom"
    ds.AccessionNumber, ds.StudyID, ds.SeriesNumber = "", "1", 1
    ds.Modality, ds.Manufacturer, ds.BodyPartExamined = "CT", "LabelStack phantom", "CHEST"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.KVP, ds.PatientPosition = "120", "HFS"
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.ImageOrientationPatient = [f"{float(v):.6f}" for v in orientation]
    ds.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[2]:g}"]
    ds.SliceThickness = f"{spacing[0]:g}"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = hu.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = str(RESCALE_INTERCEPT), "1", "HU"
    if window:
        ds.WindowCenter, ds.WindowWidth = f"{window[0]:g}", f"{window[1]:g}"
    ds.PixelData = (hu.astype(np.int32) - RESCALE_INTERCEPT).astype("<u2").tobytes()
    return ds
