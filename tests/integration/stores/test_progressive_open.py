"""Opening a series progressively: while its instances are still being read, a slice is
rendered from its own instance, the load tells how far it is, and the whole volume follows.

The store is the real local store, held back at the series read (`tests/held_store.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from labelstack.config import Settings
from labelstack.db.session import session_scope
from labelstack.imaging.phantom import write_ct_series
from labelstack.imaging.render import render_slice
from labelstack.services.images import importing as image_import
from labelstack.services.images import runtime
from labelstack.services.images import view as image_view
from labelstack.services.images.sources import sources_from_paths
from tests.held_store import HeldStore
from tests.integration.stores.conftest import CT_SHAPE

CT_UID = "1.2.826.0.1.3680043.8.498.1001"
RENDER = f"/api/v1/series/{CT_UID}/render"


@pytest.fixture(scope="module")
def shuffled_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The CT's slices in random files whose instance numbers follow the file names."""
    return write_ct_series(tmp_path_factory.mktemp("shuffled"), shape=CT_SHAPE, shuffle=True,
                           spacing=(2.5, 0.8, 0.8), series_uid=CT_UID, seed=3)


@pytest.fixture(params=["in-order", "shuffled"])
def held(request: pytest.FixtureRequest, settings: Settings, session, ct_files: list[Path],
         monkeypatch) -> Iterator[HeldStore]:
    files = ct_files if request.param == "in-order" else request.getfixturevalue("shuffled_files")
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(files))
    store = HeldStore(settings.data_dir / "dicom", hold_after=2)
    monkeypatch.setattr(runtime, "store", lambda name=None: store)
    yield store
    store.release.set()


@pytest.fixture
def admin_headers(make_user, token_for) -> dict[str, str]:
    return token_for(make_user("admin"))


def _load(series_uid: str = CT_UID):
    with session_scope() as session:
        return image_view.start_load(session, series_uid)


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def test_a_slice_renders_from_its_own_instance_while_the_series_loads(
        client: TestClient, held: HeldStore, admin_headers: dict) -> None:
    params = {"index": 4, "wl": 40, "ww": 400}
    early = client.get(RENDER, params=params, headers=admin_headers)
    assert early.status_code == 200, early.text
    load = _load()
    assert held.holding.wait(30) and not load.done
    assert load.read == 2 and 0 < load.fraction < 1
    assert _pixels(early.content).shape == CT_SHAPE[1:]

    held.release.set()
    assert load.wait(30) is not None and load.done and load.fraction == 1.0
    late = client.get(RENDER, params=params, headers=admin_headers)
    assert late.status_code == 200
    assert np.array_equal(_pixels(early.content), _pixels(late.content))
    assert held.series_reads == 1


def test_the_default_slice_while_loading_is_the_middle_one(
        client: TestClient, held: HeldStore, admin_headers: dict) -> None:
    early = client.get(RENDER, params={"wl": 40, "ww": 400}, headers=admin_headers)
    assert early.status_code == 200 and not _load().done
    held.release.set()
    _load().wait(30)
    middle = client.get(RENDER, params={"index": CT_SHAPE[0] // 2, "wl": 40, "ww": 400},
                        headers=admin_headers)
    assert np.array_equal(_pixels(early.content), _pixels(middle.content))


def test_every_slice_while_loading_matches_the_whole_volume(
        client: TestClient, held: HeldStore, admin_headers: dict) -> None:
    """Slices are ordered by position, not by instance: each early slice is the right one."""
    early = [client.get(RENDER, params={"index": z, "wl": 40, "ww": 400}, headers=admin_headers)
             for z in range(CT_SHAPE[0])]
    assert not _load().done
    held.release.set()
    _load().wait(30)
    for z, r in enumerate(early):
        late = client.get(RENDER, params={"index": z, "wl": 40, "ww": 400}, headers=admin_headers)
        assert np.array_equal(_pixels(r.content), _pixels(late.content)), f"slice {z}"


def test_an_index_out_of_range_while_loading_is_a_clear_error(
        client: TestClient, held: HeldStore, admin_headers: dict) -> None:
    r = client.get(RENDER, params={"index": CT_SHAPE[0]}, headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["detail"] == f"slice index {CT_SHAPE[0]} out of range 0..{CT_SHAPE[0] - 1} for axial"
    assert not _load().done


def test_many_viewers_share_one_load(held: HeldStore) -> None:
    first, second = _load(), _load()
    assert first is second
    held.release.set()
    assert first.wait(30) is second.wait(30)
    assert held.series_reads == 1
    assert _load().done  # from the volume cache now


def test_a_failed_load_is_told_to_every_waiter_and_the_next_open_tries_again(
        client: TestClient, held: HeldStore, admin_headers: dict) -> None:
    load = _load()
    assert held.holding.wait(30)
    held.fail = "the PACS went away"
    held.release.set()
    with pytest.raises(Exception, match="the PACS went away"):
        load.wait(30)
    r = client.get(RENDER, params={"plane": "coronal"}, headers=admin_headers)
    assert r.status_code == 409 and r.json()["detail"] == "the PACS went away"
    held.fail = None
    r = client.get(RENDER, params={"plane": "coronal"}, headers=admin_headers)
    assert r.status_code == 200 and held.series_reads == 3


def _older_form(kept: dict) -> dict:
    """As kept before the keys and heads were: slices named by place among the sorted keys."""
    return {"key": kept["key"], "slices": [[place, 0] for place in kept["sources"]]}


def _first(column: str, value: object):
    return lambda kept: kept | {column: [value] + kept[column][1:]}


SPOILT = {
    "gone": None,
    "older form": _older_form,
    "place out of range": _first("sources", 10**6),
    "negative place": _first("sources", -1),
    "not numbers": _first("sources", "0"),
    "a head out of range": _first("slice_heads", 5),
    "a head without its fields": lambda kept: kept | {"heads": [{"rows": 1}]},
    "keys not a string": lambda kept: kept | {"suffixes": 7},
    "another set's": lambda kept: kept | {"key": "1.2.3-0123456789abcdef"},
    "not json": lambda kept: "{",
}


@pytest.mark.parametrize("spoilt", SPOILT)
def test_a_series_whose_stack_order_is_not_kept_as_now_reads_the_headers_once(
        client: TestClient, held: HeldStore, admin_headers: dict, settings: Settings,
        spoilt: str) -> None:
    """As for series indexed before the order was kept (or in an older form, or a file
    spoilt): the headers tell it, and it is kept again."""
    kept = list((settings.data_dir / "cache" / "stacks").glob("*.json"))
    assert len(kept) == 1
    spoil = SPOILT[spoilt]
    if spoil is None:
        kept[0].unlink()
    else:
        bad = spoil(json.loads(kept[0].read_text()))
        kept[0].write_text(bad if isinstance(bad, str) else json.dumps(bad))
    early = [client.get(RENDER, params={"index": z, "wl": 40, "ww": 400}, headers=admin_headers)
             for z in (0, CT_SHAPE[0] - 1)]
    assert "sources" in json.loads(kept[0].read_text()) and not _load().done
    held.release.set()
    _load().wait(30)
    for z, r in zip((0, CT_SHAPE[0] - 1), early, strict=True):
        late = client.get(RENDER, params={"index": z, "wl": 40, "ww": 400}, headers=admin_headers)
        assert np.array_equal(_pixels(r.content), _pixels(late.content)), f"slice {z}"


TURNED = {"sagittal": (0.0, 1.0, 0.0, 0.0, 0.0, -1.0),  # an axial slice cuts across the files
          "feet-first": (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0)}  # stacked towards the feet, mirrored


@pytest.mark.parametrize("acquired", TURNED)
def test_a_slice_no_file_holds_as_shown_waits_for_the_whole_volume(
        client: TestClient, settings: Settings, session, admin_headers: dict, monkeypatch,
        tmp_path: Path, acquired: str) -> None:
    files = write_ct_series(tmp_path, shape=CT_SHAPE, orientation=TURNED[acquired],
                            spacing=(2.5, 0.8, 0.8), series_uid=CT_UID, seed=4)
    image_import.import_dicom(session, actor=None, sources=sources_from_paths(files))
    store = HeldStore(settings.data_dir / "dicom", hold_after=2)
    monkeypatch.setattr(runtime, "store", lambda name=None: store)
    params = {"index": 3, "wl": 40, "ww": 400}
    with ThreadPoolExecutor(1) as pool:
        early = pool.submit(client.get, RENDER, params=params, headers=admin_headers)
        assert store.holding.wait(30) and not early.done()
        store.release.set()
        answer = early.result(30)
    assert answer.status_code == 200, answer.text
    volume = _load().wait(30)
    assert volume is not None
    expected = render_slice(volume, "axial", 3, center=40, width=400, fmt="png")
    assert np.array_equal(_pixels(answer.content), _pixels(expected))
