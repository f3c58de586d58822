"""Small in-memory volumes for the geometry, window, render and cache tests, and the
reference files the pixel tests go through."""

from __future__ import annotations

import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from labelstack.imaging import Volume
from labelstack.imaging.dataset import undisplayable


def make_volume(
    pixels: np.ndarray | None = None,
    *,
    spacing: tuple[float, float, float] = (3.0, 0.5, 0.75),
    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    modality: str = "CT",
    photometric: str = "MONOCHROME2",
    default_window: tuple[float, float] | None = None,
    kind: str = "volume",
) -> Volume:
    if pixels is None:
        pixels = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    return Volume(
        pixels=pixels,
        spacing=spacing,
        origin=(0.0, 0.0, 0.0),
        orientation=orientation,
        modality=modality,
        photometric=photometric,
        default_window=default_window,
        series_uid="1.2.3",
        kind=kind,
        warnings=[],
    )


def displayable_testdata(*, grey: bool) -> list[pytest.param]:
    """Every file of pydicom / pydicom-data with pixel data the viewer accepts: the grey ones
    (one sample, MONOCHROME1/2) or all the others (colour)."""
    params = []
    for name in sorted(get_testdata_files()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(name)
            except Exception:  # noqa: BLE001  (deliberately broken reference files)
                continue
            if "PixelData" not in ds or undisplayable(ds) is not None:
                continue
            is_grey = int(ds.get("SamplesPerPixel", 1)) == 1 and \
                str(ds.get("PhotometricInterpretation")) in ("MONOCHROME1", "MONOCHROME2")
        if is_grey == grey:
            params.append(pytest.param(name, id=Path(name).name))
    return params


def secondary_capture(pixels: np.ndarray, photometric: str, **tags: object) -> pydicom.Dataset:
    """An uncompressed secondary capture of ``pixels`` (rows, cols) or (rows, cols, 3), stored
    little endian at their own width (signed for a signed dtype), with ``tags``, as read back
    from a file."""
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PhotometricInterpretation = "OT", photometric
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 else 1
    if pixels.ndim == 3:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.BitsAllocated = ds.BitsStored = 8 * pixels.dtype.itemsize
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, int(pixels.dtype.kind == "i")
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)
