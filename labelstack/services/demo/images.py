"""Sample images for the demo: a generated CT phantom plus real files shipped with pydicom
and pydicom-data (MR, a computed radiograph, an ultrasound cine), imported like any upload."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid
from sqlmodel import Session

from labelstack.config import Settings
from labelstack.services.images.importing import ImportReport, import_dicom
from labelstack.services.images.runtime import configure
from labelstack.services.images.sources import sources_from_paths
from labelstack.stores import store_for

DEMO_FILES = ("MR_small.dcm", "RG3_J2KR.dcm", "examples_ybr_color.dcm")


def seed_demo_images(session: Session, settings: Settings) -> ImportReport:
    """Import the demo series into the configured store; running it twice changes nothing."""
    configure(settings)
    paths = [Path(p) for name in DEMO_FILES if (p := get_testdata_file(name))]
    with tempfile.TemporaryDirectory() as tmp:
        paths += write_ct_series(Path(tmp), shape=(48, 256, 256), patient_id="DEMO-CT-01",
                                 series_uid=generate_uid(entropy_srcs=["labelstack-demo-ct"]))
        return import_dicom(session, actor=None, sources=sources_from_paths(paths),
                            store=store_for(settings))


def write_ct_series(directory: Path, *, shape: tuple[int, int, int] = (32, 128, 128),
                    spacing: tuple[float, float, float] = (2.5, 0.8, 0.8),
                    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
                    patient_id: str = "PHANTOM", series_uid: str | None = None,
                    study_uid: str | None = None) -> list[Path]:
    """Write a synthetic axial CT (body, lungs, spine, a lesion, in HU) as one file per slice.

    Deterministic for a given series UID, so the demo and benchmarks can rely on it.
    """
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid(entropy_srcs=[series_uid, "study"])
    hu = phantom_hu(shape)
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for z in range(shape[0]):
        position = -np.array([shape[2] * spacing[2], shape[1] * spacing[1], 0]) / 2 \
            + normal * z * spacing[0]
        ds = _ct_slice(hu[z], z, spacing=spacing, orientation=orientation,
                       position=position, patient_id=patient_id, study_uid=study_uid,
                       series_uid=series_uid)
        path = directory / f"ct_{z:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def phantom_hu(shape: tuple[int, int, int]) -> np.ndarray:
    """int16 HU: air, a soft-tissue body, two lungs, a bony spine and a small dense lesion."""
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    zc, yc, xc = (s / 2 for s in shape)
    ny, nx, nz = (y - yc) / (shape[1] / 2), (x - xc) / (shape[2] / 2), (z - zc) / (shape[0] / 2)
    hu = np.full(shape, -1000, np.int16)
    hu[np.broadcast_to(nx**2 / 0.85 + ny**2 / 0.55 < 1, shape)] = 40
    for side in (-0.4, 0.4):
        hu[np.broadcast_to((nx - side) ** 2 / 0.08 + (ny + 0.05) ** 2 / 0.15 < 1, shape)] = -850
    hu[np.broadcast_to(nx**2 + (ny - 0.45) ** 2 < 0.012, shape)] = 700
    hu[(nx - 0.35) ** 2 + (ny + 0.1) ** 2 + nz**2 / 4 < 0.004] = 90
    return hu


def _ct_slice(hu: np.ndarray, z: int, *, spacing: tuple[float, float, float],
              orientation: Sequence[float], position: np.ndarray, patient_id: str,
              study_uid: str, series_uid: str) -> Dataset:
    sop_uid = generate_uid(entropy_srcs=[series_uid, str(z)])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.PatientID, ds.PatientName = patient_id, f"Phantom^{patient_id}"
    ds.StudyDate, ds.StudyTime = "20240115", "101500"
    ds.StudyDescription, ds.SeriesDescription = "Chest phantom", "Axial CT phantom"
    ds.AccessionNumber, ds.StudyID = "", "1"
    ds.Modality, ds.BodyPartExamined = "CT", "CHEST"
    ds.SeriesNumber, ds.InstanceNumber = 1, z + 1
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[series_uid, "for"])
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.ImagePositionPatient = [round(float(v), 4) for v in position]
    ds.SliceThickness, ds.PixelSpacing = spacing[0], [spacing[1], spacing[2]]
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = (hu.astype(np.int16) + 1024).astype("<i2").tobytes()
    return ds
