"""Browsing the index by study: studies newest first with their matching series, filtered and
paged like the series search; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from labelstack.imaging.phantom import write_ct_series
from labelstack.services.errors import Forbidden
from labelstack.services.images import importing as image_import
from labelstack.services.images.sources import sources_from_paths
from labelstack.services.images.studies import list_studies


@pytest.fixture
def studies(session, tmp_path: Path) -> None:
    """Study A (2020) with two CT series, study B (2021) with one."""
    paths = []
    for n, (study, date) in enumerate((("1.2.826.0.1.3680043.8.498.7201", "20200101"),
                                       ("1.2.826.0.1.3680043.8.498.7201", "20200101"),
                                       ("1.2.826.0.1.3680043.8.498.7202", "20210101"))):
        written = write_ct_series(tmp_path / str(n), shape=(1, 8, 8), seed=n,
                                  series_uid=f"1.2.826.0.1.3680043.8.498.73{n}")
        for path in written:
            ds = pydicom.dcmread(path)
            ds.StudyInstanceUID, ds.StudyDate = study, date
            ds.PatientName = f"Study^{study[-1]}"
            ds.save_as(path)
        paths += written
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(paths))


def test_studies_come_newest_first_with_their_series(session, studies, make_user) -> None:
    admin = make_user("admin")
    found, total = list_studies(session, actor=admin)
    assert total == 2
    assert [(s.study_uid[-4:], len(s.series)) for s in found] == [("7202", 1), ("7201", 2)]
    page, total = list_studies(session, actor=admin, offset=1, limit=1)
    assert (total, [s.study_uid[-4:] for s in page]) == (2, ["7201"])
    only, total = list_studies(session, actor=admin, patient="study 2")
    assert total == 0 and only == []
    only, total = list_studies(session, actor=admin, patient="Study^1")
    assert (total, [len(s.series) for s in only]) == (1, [2])
    with pytest.raises(Forbidden):
        list_studies(session, actor=make_user("annotator"))
