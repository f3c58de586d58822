"""Series searches of one shape share a statement: each must still get its own values' rows
(on both databases), and a page past the end still tells the total."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from labelstack.db.models import Series, Study
from labelstack.services.images.index import search_series

# patient id, study date, modality, study description, series description
INDEX = [("P1", date(2023, 1, 1), "CT", "Abdomen", "portal venous"),
         ("P2", date(2024, 5, 1), "MR", "Brain", "T1 axial"),
         ("P3", date(2024, 6, 1), "CT", "Chest", "lung window"),
         ("P4", date(2025, 2, 2), "ct", "Venous study", "")]


def _index(session: Session) -> None:
    for n, (pid, day, modality, study_text, series_text) in enumerate(INDEX, start=1):
        study = Study(study_uid=f"1.2.5.{n}", patient_id=pid, study_date=day,
                      patient_name=f"Doe^{pid}x", study_description=study_text)
        session.add(study)
        session.flush()
        session.add(Series(series_uid=f"1.2.5.{n}.1", study_id=study.id, modality=modality,
                           series_description=series_text))
    session.commit()


def _ids(session: Session, **kwargs: object) -> list[str]:
    return [r.patient_id for r in search_series(session, **kwargs).items]  # type: ignore[arg-type]


def test_same_filters_other_values_other_rows(session: Session) -> None:
    _index(session)
    assert _ids(session, modality="CT") == ["P4", "P3", "P1"]
    assert _ids(session, modality="mr") == ["P2"]
    in_2024 = {"date_from": date(2024, 1, 1), "date_to": date(2024, 12, 31)}
    assert _ids(session, modality="CT", **in_2024) == ["P3"]
    assert _ids(session, modality="MR", **in_2024) == ["P2"]
    assert _ids(session, modality="CT", date_from=date(2025, 1, 1),
                date_to=date(2025, 12, 31)) == ["P4"]


def test_text_searches_of_one_shape_get_their_own_rows(session: Session) -> None:
    _index(session)
    assert _ids(session, patient="p3") == ["P3"]  # shorter than a trigram
    assert _ids(session, patient="p2") == ["P2"]
    assert _ids(session, patient="doe^p1") == ["P1"]
    assert _ids(session, patient="DOE^P4") == ["P4"]
    assert _ids(session, description="venous") == ["P4", "P1"]  # study or series text
    assert _ids(session, description="axial") == ["P2"]
    assert _ids(session, description="venous", patient="p1") == ["P1"]
    assert _ids(session, description="50%") == []


def test_a_page_past_the_end_keeps_the_total(session: Session) -> None:
    _index(session)
    page = search_series(session, modality="CT", offset=10, limit=2)
    assert (page.items, page.total) == ([], 3)
    page = search_series(session, patient="P", offset=10, limit=2)
    assert (page.items, page.total) == ([], 4)
