"""Synthetic DICOM series with known pixels and geometry, written as real files.

``phantom_ct`` gives the HU volume in slice order (ascending along the slice normal), so a
reader that sorts correctly must reproduce it exactly, whatever the file order and the
instance numbers say.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def phantom_ct(shape: tuple[int, int, int] = (40, 128, 128), seed: int = 0) -> np.ndarray:
    """int16 HU: air, an elliptic body, two lungs whose size changes with z, a spine, noise."""
    z, y, x = shape
    yy, xx = np.mgrid[-1 : 1 : complex(0, y), -1 : 1 : complex(0, x)].astype(np.float32)
    body = (xx / 0.85) ** 2 + (yy / 0.65) ** 2 <= 1
    spine = (xx**2 + (yy - 0.45) ** 2) <= 0.01
    out = np.empty(shape, np.int16)
    rng = np.random.default_rng(seed)
    for k in range(z):
        r = 0.18 + 0.12 * np.sin(np.pi * (k + 0.5) / z)
        lungs = (((np.abs(xx) - 0.4) / r) ** 2 + ((yy + 0.05) / (1.6 * r)) ** 2) <= 1
        image = np.where(body, 40, -1000).astype(np.int16)
        image[lungs & body] = -850
        image[spine] = 700
        image[k % y, :] = np.where(body[k % y], 200, image[k % y])  # a per-slice marker row
        image += rng.integers(-20, 21, size=(y, x), dtype=np.int16)
        out[k] = image
    return out


def ct_datasets(
    *,
    shape: tuple[int, int, int] = (40, 128, 128),
    spacing: tuple[float, float, float] = (2.5, 0.7, 0.7),
    orientation: Sequence[float] = AXIAL,
    origin: tuple[float, float, float] = (-90.0, -90.0, -120.0),
    uneven: bool = False,
    patient_id: str = "PHANTOM-1",
    series_uid: str | None = None,
    study_uid: str | None = None,
    window: tuple[float, float] | None = (40.0, 400.0),
    seed: int = 0,
) -> list[pydicom.Dataset]:
    """One CT dataset per slice, in slice order; with ``uneven`` the gap after the middle is doubled."""
    hu = phantom_ct(shape, seed)
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    frame_of_reference = generate_uid()
    out = []
    for k in range(shape[0]):
        distance = spacing[0] * (k + (1 if uneven and k > shape[0] // 2 else 0))
        position = np.asarray(origin) + distance * normal
        ds = _ct_slice(hu[k], position, orientation, spacing, window)
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
    spacing: tuple[float, float, float] = (2.5, 0.7, 0.7),
    orientation: Sequence[float] = AXIAL,
    origin: tuple[float, float, float] = (-90.0, -90.0, -120.0),
    shuffle: bool = True,
    uneven: bool = False,
    patient_id: str = "PHANTOM-1",
    series_uid: str | None = None,
    study_uid: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write a CT series as files; with ``shuffle`` file names and instance numbers are random."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    datasets = ct_datasets(
        shape=shape,
        spacing=spacing,
        orientation=orientation,
        origin=origin,
        uneven=uneven,
        patient_id=patient_id,
        series_uid=series_uid,
        study_uid=study_uid,
        seed=seed,
    )
    order = np.random.default_rng(seed + 1).permutation(len(datasets)) if shuffle else range(len(datasets))
    paths = []
    for number, k in enumerate(order):
        ds = datasets[k]
        if shuffle:
            ds.InstanceNumber = number + 1
        path = directory / f"IM{number:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _ct_slice(hu: np.ndarray, position, orientation, spacing, window) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Modality, ds.Manufacturer, ds.BodyPartExamined = "CT", "LabelStack phantom", "CHEST"
    ds.StudyDate, ds.StudyTime, ds.SeriesNumber = "20260101", "120000", 2
    ds.StudyDescription, ds.SeriesDescription = "Phantom chest", "Phantom axial 2.5mm"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    ds.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[2]:g}"]
    ds.SliceThickness = f"{spacing[0]:g}"
    ds.KVP, ds.PatientPosition = "120", "HFS"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = hu.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    if window:
        ds.WindowCenter, ds.WindowWidth = f"{window[0]:g}", f"{window[1]:g}"
    ds.PixelData = (hu.astype(np.int32) + 1024).astype("<u2").tobytes()
    return ds


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
