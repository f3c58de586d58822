"""Reading a series from a real Orthanc as one streamed WADO-RS retrieve: every instance,
in the order asked, with progress as the parts arrive, and a clear error for what is gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from labelstack.config import Settings
from labelstack.imaging.phantom import write_ct_series
from labelstack.stores import DicomWebStore, StoreError
from tests.orthanc import Orthanc

SLICES = 12


@pytest.fixture(scope="module")
def series_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_ct_series(tmp_path_factory.mktemp("stream"), shape=(SLICES, 64, 64),
                           shuffle=True, seed=5)


@pytest.fixture
def stored(dicomweb_settings: Settings, orthanc: Orthanc,
           series_files: list[Path]) -> tuple[DicomWebStore, list[str]]:
    store = DicomWebStore(orthanc.dicomweb_url)
    return store, [store.put(dcmread(p), p.read_bytes()) for p in series_files]


def test_a_series_streams_in_the_order_asked_with_progress(
        stored: tuple[DicomWebStore, list[str]], series_files: list[Path]) -> None:
    store, keys = stored
    wanted = keys[::-1]
    seen: list[int] = []
    datasets = store.read(wanted, progress=seen.append)
    assert [k.rsplit("/", 1)[1] for k in wanted] == [str(d.SOPInstanceUID) for d in datasets]
    assert seen == list(range(1, SLICES + 1))
    by_sop = {str(dcmread(p).SOPInstanceUID): p for p in series_files}
    for ds in datasets:
        original = dcmread(by_sop[str(ds.SOPInstanceUID)])
        assert np.array_equal(ds.pixel_array, original.pixel_array)
        assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID


def test_part_of_a_series_comes_from_the_stream_without_the_rest(
        stored: tuple[DicomWebStore, list[str]]) -> None:
    store, keys = stored
    wanted = keys[2:9]
    seen: list[int] = []
    datasets = store.read(wanted, progress=seen.append)
    assert [str(d.SOPInstanceUID) for d in datasets] == [k.rsplit("/", 1)[1] for k in wanted]
    assert seen == list(range(1, len(wanted) + 1))


def test_an_instance_gone_from_the_series_is_named(stored: tuple[DicomWebStore, list[str]]) -> None:
    store, keys = stored
    gone = keys[0].rsplit("/", 1)[0] + "/1.2.826.0.1.3680043.8.498.4242"
    with pytest.raises(StoreError, match=r"1 instance\(s\) are gone .* e\.g\. " + gone.replace(".", r"\.")):
        store.read(keys + [gone])


def test_an_unknown_series_is_reported_missing(stored: tuple[DicomWebStore, list[str]]) -> None:
    store, keys = stored
    study = keys[0].split("/")[0]
    missing = [f"{study}/1.2.826.0.1.3680043.8.498.77/1.2.826.0.1.3680043.8.498.{n}" for n in range(8)]
    with pytest.raises(StoreError, match=r"8 instance\(s\) are gone"):
        store.read(missing)
