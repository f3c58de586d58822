"""Fixtures for the imaging tests: real files from pydicom / pydicom-data, and phantoms."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from labelstack.imaging.phantom import ct_datasets


def load(name: str) -> pydicom.Dataset:
    """A test file shipped with pydicom or pydicom-data (never downloaded)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is missing: install pydicom-data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # several reference files carry deliberately odd tags
        return pydicom.dcmread(Path(path))


@pytest.fixture
def ct_series() -> Callable[..., list[pydicom.Dataset]]:
    """Phantom CT datasets, read back from bytes so they are what a store would hand over."""

    def make(**kwargs) -> list[pydicom.Dataset]:
        return [roundtrip(ds) for ds in ct_datasets(**kwargs)]

    return make


def roundtrip(ds: pydicom.Dataset) -> pydicom.Dataset:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)
