"""Series search: sorting and paging on both databases (the Images page pages with these)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from labelstack.db.models import Series, Study
from labelstack.services.errors import InvalidInput
from labelstack.services.images.index import search_series

# patient name, patient id, study date, modality
INDEX = [
    ("beta^b", "P2", date(2024, 5, 1), "MR"),
    ("Alpha^a", "P1", date(2023, 1, 1), "CT"),
    ("gamma^c", "P3", None, "us"),
    ("", "P4", date(2025, 2, 2), ""),
    ("Delta^d", "P5", date(2022, 3, 3), "CR"),
]


@pytest.fixture
def index(session: Session) -> None:
    for n, (name, pid, day, modality) in enumerate(INDEX, start=1):
        study = Study(study_uid=f"1.2.3.{n}", patient_id=pid, patient_name=name, study_date=day)
        session.add(study)
        session.flush()
        session.add(Series(series_uid=f"1.2.3.{n}.1", study_id=study.id, modality=modality,
                           series_number=1))
    session.commit()


def _ids(session: Session, **kwargs: object) -> list[str]:
    return [r.patient_id for r in search_series(session, **kwargs).items]  # type: ignore[arg-type]


def test_default_is_newest_study_first_with_undated_last(session: Session, index: None) -> None:
    assert _ids(session) == ["P4", "P2", "P1", "P5", "P3"]
    assert _ids(session, sort="study_date") == ["P5", "P1", "P2", "P4", "P3"]


def test_sort_by_patient_ignores_case_and_puts_blank_names_last(session: Session,
                                                                  index: None) -> None:
    assert _ids(session, sort="patient") == ["P1", "P2", "P5", "P3", "P4"]
    assert _ids(session, sort="-patient") == ["P3", "P5", "P2", "P1", "P4"]


def test_sort_by_modality(session: Session, index: None) -> None:
    assert _ids(session, sort="modality") == ["P5", "P1", "P2", "P3", "P4"]
    assert _ids(session, sort="-modality") == ["P3", "P2", "P1", "P5", "P4"]


def test_pages_of_a_sorted_search_cover_every_row_once(session: Session, index: None) -> None:
    for sort in ("patient", "-modality", "-study_date"):
        pages = [search_series(session, sort=sort, offset=o, limit=2) for o in (0, 2, 4)]
        assert [p.total for p in pages] == [5, 5, 5]
        assert [len(p.items) for p in pages] == [2, 2, 1]
        seen = [r.patient_id for p in pages for r in p.items]
        assert seen == _ids(session, sort=sort)
    page = search_series(session, sort="patient", modality="ct", offset=0, limit=2)
    assert (page.total, [r.patient_id for r in page.items]) == (1, ["P1"])


def test_unknown_sort_is_refused(session: Session, index: None) -> None:
    with pytest.raises(InvalidInput, match="study_date, patient, modality"):
        search_series(session, sort="series_uid")


def test_api_sorts_and_refuses_unknown_keys(client: TestClient, session: Session, index: None,
                                            make_user, token_for) -> None:  # noqa: ANN001
    admin = token_for(make_user("admin"))
    r = client.get("/api/v1/series", params={"sort": "-patient", "limit": 2}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 5 and [i["patient_id"] for i in body["items"]] == ["P3", "P5"]
    r = client.get("/api/v1/series", params={"sort": "nope"}, headers=admin)
    assert r.status_code == 422 and "cannot sort series" in r.text
