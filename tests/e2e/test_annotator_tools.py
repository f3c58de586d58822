"""The annotator's tools and keys in Chromium: every shortcut of `components.annotator.SHORTCUTS`
does what a user would notice, and the brush, sphere, spline, polygon and erase land on the
voxels the geometry says (`imaging.mpr.slice_map`), on the demo's axial CT and on a sagittal
acquisition."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from labelstack.components.annotator import SHORTCUTS
from labelstack.imaging.mpr import slice_map
from labelstack.imaging.phantom import derived_uid, write_ct_series
from labelstack.imaging.volume import Volume
from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.test_annotator import (
    api,
    choose_plane,
    click_points,
    client_xy,
    drag,
    keys_ready,
    mask,
    new_task,
    open_task,
    series,
    slice_index,
    start_task,
    token,
    use_tool,
    viewport,
    wait_frame,
    wait_mask,
)

pytestmark = pytest.mark.browser

SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # rows run posterior, columns inferior


@pytest.fixture(scope="module")
def server(start_server) -> LiveServer:  # noqa: ANN001
    """A demo of its own: these tests paint its lung task and add tasks and an image."""
    return start_server()


@pytest.fixture(scope="module")
def lung(server: LiveServer) -> dict:
    headers = token(server, "annotator")
    task = api(server, headers, "GET", "/tasks", params={"q": "outline the lungs"}).json()["items"][0]
    return {"task": task["id"], "annotation": start_task(server, task["id"])[0]}


@pytest.fixture(scope="module")
def two_images(server: LiveServer) -> dict:
    """The MR and the CT (in the index's order) with two labels each (Kidney before Liver:
    labels go by name)."""
    return new_task(server, "Tools: two images", [series(server, "CT")["id"], series(server, "MR")["id"]],
                    [("Kidney", "#8b5cf6"), ("Liver", "#f59e0b")])


@pytest.fixture(scope="module")
def sagittal(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A CT acquired in sagittal slices, imported through the API, in a task of its own."""
    uid = derived_uid("labelstack-e2e-sagittal")
    files = write_ct_series(tmp_path_factory.mktemp("sagittal"), shape=(40, 96, 112), spacing=(2.5, 0.7, 0.7),
                            orientation=SAGITTAL, patient_id="SAGITTAL-1", series_uid=uid, seed=None)
    admin = token(server, "admin")
    report = api(server, admin, "POST", "/dicom",
                 files=[("files", (f.name, Path(f).read_bytes(), "application/dicom")) for f in files]).json()
    assert report["summary"], report
    found = api(server, admin, "GET", f"/series/{uid}").json()
    return {"series": found, **new_task(server, "Tools: sagittal CT", [found["id"]], [("Spleen", "#22c55e")])}


def geometry(server: LiveServer, series_uid: str) -> Volume:
    """A volume with the series' geometry (no pixels needed) for `slice_map`."""
    g = api(server, token(server, "admin"), "GET", f"/series/{series_uid}").json()["geometry"]
    return Volume(pixels=np.zeros(g["shape"][:3], np.uint8), spacing=tuple(g["spacing"]),
                  origin=tuple(g["origin"]), orientation=tuple(g["orientation"]), modality="CT",
                  photometric="MONOCHROME2", default_window=None, series_uid=series_uid, kind=g["kind"])


def voxel(volume: Volume, plane: str, index: int, row: int, col: int) -> tuple[int, int, int]:
    """Pixel (row, col) of slice `index` of `plane` as a (z, y, x) voxel, from the geometry."""
    mapping = slice_map(volume, plane)
    out = [0, 0, 0]
    for k, value in enumerate((index, row, col)):
        axis = mapping.axes[k]
        n = volume.pixels.shape[axis]
        out[axis] = n - 1 - value if mapping.flips[k] else value
    return out[0], out[1], out[2]


def in_plane(volume: Volume, plane: str, index: int, found: np.ndarray) -> np.ndarray:
    """The (row, col) pixels of slice `index` of `plane` that `found` (z, y, x) holds."""
    mapping = slice_map(volume, plane)
    steps = tuple(slice(None, None, -1 if flip else 1) for flip in mapping.flips)
    return np.moveaxis(found, mapping.axes, (0, 1, 2))[steps][index]


def press(page: Page, key: str) -> None:
    page.keyboard.press(key)
    page.wait_for_timeout(150)


def size(page: Page) -> float:
    box = page.locator("[data-testid=tool-size] input, input[data-testid=tool-size]").first
    return float(box.input_value())


def until(check, timeout: float = 15) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.1)


# ---- every shortcut


def test_undo_and_redo_keys(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    index, before = slice_index(page), mask(server, lung["annotation"])
    drag(page, [(240, 150), (240, 170)])
    stroke = wait_mask(server, lung["annotation"], lambda m: bool(m[index, 240, 152:169].all()))
    press(page, "Control+z")
    wait_mask(server, lung["annotation"], lambda m: np.array_equal(m, before))
    press(page, "Control+y")
    wait_mask(server, lung["annotation"], lambda m: np.array_equal(m, stroke))
    press(page, "Control+z")
    wait_mask(server, lung["annotation"], lambda m: np.array_equal(m, before))
    press(page, "Control+Shift+z")
    wait_mask(server, lung["annotation"], lambda m: np.array_equal(m, stroke))


def test_tool_mode_and_size_keys(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    for key, tool in (("p", "polygon"), ("s", "spline"), ("b", "brush")):
        press(page, key)
        page.wait_for_function(f"() => document.querySelector('[data-testid=viewport-axial]')"
                               f".__viewport.tool === '{tool}'")
        expect(page.get_by_test_id(f"tool-{tool}")).to_have_attribute("aria-pressed", "true")
    for key, mode in (("e", "erase"), ("d", "draw")):
        press(page, key)
        until(lambda mode=mode: viewport(page, "mode") == mode)
        expect(page.get_by_test_id(f"mode-{mode}")).to_have_attribute("aria-pressed", "true")
    start = size(page)
    press(page, "Alt+Equal")
    until(lambda: size(page) > start)
    grown = size(page)
    press(page, "Alt+Minus")
    until(lambda: size(page) < grown)
    assert abs(size(page) - start) < 0.11


def test_save_key(page: Page, server: LiveServer, lung: dict) -> None:
    """Alt+S saves at once, before the autosave (after a few idle seconds) would."""
    open_task(page, server, lung["task"])
    keys_ready(page)
    annotation, index = lung["annotation"], slice_index(page)
    headers = token(server, "annotator")

    def revisions() -> int:
        return len(api(server, headers, "GET", f"/annotations/{annotation}/revisions").json())

    saved = revisions()
    drag(page, [(20, 100), (20, 120)])
    wait_mask(server, annotation, lambda m: bool(m[index, 20, 102:119].all()))
    acknowledged = time.monotonic()
    press(page, "Alt+s")
    until(lambda: revisions() > saved, timeout=10)
    assert time.monotonic() - acknowledged < 2.5, "saved by the autosave, not by Alt+S"
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")


def test_next_and_previous_image_keys_and_label_number_keys(page: Page, server: LiveServer,
                                                             two_images: dict) -> None:
    open_task(page, server, two_images["task"]["id"])
    keys_ready(page)
    expect(page.get_by_test_id("image-item-0")).to_have_attribute("data-selected", "true")
    kidney, liver = page.get_by_test_id("label-row-Kidney"), page.get_by_test_id("label-row-Liver")
    expect(kidney).to_have_attribute("data-active", "true")
    press(page, "2")
    expect(liver).to_have_attribute("data-active", "true")
    expect(kidney).to_have_attribute("data-active", "false")
    press(page, "1")
    expect(kidney).to_have_attribute("data-active", "true")
    press(page, "9")  # no ninth label: nothing changes
    expect(kidney).to_have_attribute("data-active", "true")

    ct, mr = series(server, "CT")["series_uid"], series(server, "MR")["series_uid"]
    assert mr in viewport(page, "frame")
    expect(page.get_by_test_id("layout-2")).to_be_disabled()  # a single image: one view
    press(page, "ArrowRight")
    expect(page.get_by_test_id("image-item-1")).to_have_attribute("data-selected", "true")
    expect(page.get_by_test_id("image-item-0")).to_have_attribute("data-selected", "false")
    until(lambda: ct in (viewport(page, "frame") or ""))
    expect(page.get_by_test_id("layout-2")).to_be_enabled()
    press(page, "ArrowLeft")
    expect(page.get_by_test_id("image-item-0")).to_have_attribute("data-selected", "true")
    until(lambda: mr in (viewport(page, "frame") or ""))


def test_invert_hide_and_reset_keys(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    assert "invert=0" in viewport(page, "frame")
    press(page, "i")
    until(lambda: "invert=1" in (viewport(page, "frame") or ""))
    press(page, "i")
    until(lambda: "invert=0" in (viewport(page, "frame") or ""))

    layer = page.get_by_test_id("viewport-axial").locator(".ls-stage > div.ls-layer").first
    expect(layer).to_be_visible()
    press(page, "h")
    expect(layer).to_be_hidden()
    press(page, "h")
    expect(layer).to_be_visible()

    page.get_by_test_id("zoom-in").click()
    until(lambda: viewport(page, "zoom") > 1.2)
    page.mouse.move(*client_xy(page, 128, 128))
    press(page, "r")
    until(lambda: viewport(page, "zoom") == 1)


def test_slice_keys(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    start = slice_index(page)
    for key, step in (("ArrowUp", 1), ("ArrowDown", -1), ("PageDown", -10), ("PageUp", 10)):
        before = slice_index(page)
        press(page, key)
        until(lambda before=before, step=step: slice_index(page) == before + step)
        until(lambda: f"index={slice_index(page)}&" in (viewport(page, "frame") or ""))
    assert slice_index(page) == start


def test_help_key_lists_every_shortcut(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    press(page, "?")
    help_ = page.get_by_test_id("shortcuts-help")
    expect(help_).to_be_visible()
    for key, what in SHORTCUTS:
        expect(help_).to_contain_text(key)
        expect(help_).to_contain_text(what)
    screenshot(page, "annotator-shortcuts-help")
    press(page, "Escape")
    expect(help_).to_be_hidden()


# ---- drawing lands where the geometry says


def test_brush_in_the_coronal_view_lands_on_the_geometry_voxel(page: Page, server: LiveServer,
                                                               lung: dict) -> None:
    volume = geometry(server, series(server, "CT")["series_uid"])
    open_task(page, server, lung["task"])
    choose_plane(page, 0, "coronal")
    wait_frame(page, "coronal")
    index, before = slice_index(page), mask(server, lung["annotation"])
    row, col = 12, 60  # near the top: superior (coronal rows run superior → inferior)
    drag(page, [(row, col), (row, col + 20)], plane="coronal")
    z, y, x = voxel(volume, "coronal", index, row, col)
    assert z == volume.pixels.shape[0] - 1 - row and y == index and x == col
    found = wait_mask(server, lung["annotation"],
                      lambda m: bool(m[voxel(volume, "coronal", index, row, col + 10)]) and bool(m[z, y, x]))
    added = found & ~before
    assert set(np.nonzero(added)[1]) == {index}  # one coronal slice: one y
    rows, cols = np.nonzero(in_plane(volume, "coronal", index, added))
    assert rows.min() >= row - 2 and rows.max() <= row + 2  # 3 mm at 2.5 mm rows
    assert cols.min() >= col - 5 and cols.max() <= col + 25  # 3 mm at 0.8 mm columns
    screenshot(page, "annotator-brush-coronal")
    choose_plane(page, 0, "axial")


def test_spline_and_erasing_part_of_a_stroke(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    annotation, index = lung["annotation"], slice_index(page)
    use_tool(page, "spline", key="s")
    ring = [(60 + 14 * np.sin(a), 190 + 14 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 6)[:-1]]
    click_points(page, ring)
    page.mouse.move(*client_xy(page, 60 + 14 * np.sin(1.8 * np.pi), 190 + 14 * np.cos(1.8 * np.pi)))
    page.wait_for_timeout(300)
    assert len(viewport(page, "shape")) == 5
    screenshot(page, "annotator-spline-drawing")
    press(page, "Enter")
    found = wait_mask(server, annotation, lambda m: bool(m[index, 60, 180:200].all()))
    assert not found[index, 60, 210:].any() and not found[index, 85:95, 180:200].any()

    use_tool(page, "brush", key="b")
    drag(page, [(230, 60), (230, 120)])
    wait_mask(server, annotation, lambda m: bool(m[index, 230, 62:119].all()))
    use_tool(page, "brush", mode="erase")
    drag(page, [(215, 90), (245, 90)])
    found = wait_mask(server, annotation, lambda m: not m[index, 230, 88:93].any())
    assert found[index, 230, 62:80].all() and found[index, 230, 100:119].all()
    screenshot(page, "annotator-brush-erase")


def test_polygon_and_spline_erase(page: Page, server: LiveServer, lung: dict) -> None:
    open_task(page, server, lung["task"])
    keys_ready(page)
    annotation, index = lung["annotation"], slice_index(page)
    use_tool(page, "polygon", key="p")
    click_points(page, [(120, 200), (120, 240), (160, 240), (160, 200)])
    press(page, "Enter")
    wait_mask(server, annotation, lambda m: bool(m[index, 122:159, 202:239].all()))
    use_tool(page, "polygon", mode="erase")
    click_points(page, [(130, 210), (130, 220), (140, 220), (140, 210)])
    press(page, "Enter")
    found = wait_mask(server, annotation, lambda m: not m[index, 132:139, 212:219].any())
    assert found[index, 122:128, 202:239].all()  # the rest of the square stays
    use_tool(page, "spline", key="s")
    ring = [(150 + 5 * np.sin(a), 230 + 5 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 5)[:-1]]
    click_points(page, ring)
    press(page, "Enter")
    found = wait_mask(server, annotation, lambda m: not m[index, 148:153, 228:233].any())
    assert found[index, 150, 210:222].all()


def test_sphere_and_a_size_in_pixels(page: Page, server: LiveServer, lung: dict) -> None:
    volume = geometry(server, series(server, "CT")["series_uid"])
    open_task(page, server, lung["task"])
    annotation, index = lung["annotation"], slice_index(page)
    page.get_by_test_id("tool-size-unit").get_by_text("px").click()
    until(lambda: abs(size(page) - 3.8) < 0.01)  # 3 mm at 0.8 mm pixels
    press(page, "Alt+Equal")  # in pixels a step is one pixel
    until(lambda: abs(size(page) - 5) < 0.01)
    before = mask(server, annotation)
    page.mouse.click(*client_xy(page, 200, 200))
    found = wait_mask(server, annotation, lambda m: bool(m[index, 200, 200]))
    rows, cols = np.nonzero((found & ~before)[index])
    assert abs(rows.max() - rows.min() - 10) <= 1 and abs(cols.max() - cols.min() - 10) <= 1  # 5 px

    page.get_by_test_id("tool-size-unit").get_by_text("mm").click()
    until(lambda: abs(size(page) - 4.0) < 0.01)
    page.get_by_test_id("tool-sphere").click()
    before = mask(server, annotation)
    page.mouse.click(*client_xy(page, 60, 60))
    found = wait_mask(server, annotation, lambda m: bool(m[index, 60, 60]))
    added = found & ~before
    z, y, x = np.nonzero(added)
    assert set(z) == {index - 1, index, index + 1}  # 4 mm around the centre at 2.5 mm slices
    assert abs(y.max() - y.min() - 10) <= 1 and abs(x.max() - x.min() - 10) <= 1  # 4 mm at 0.8 mm
    ball = 4 / 3 * np.pi * 4.0 ** 3 / float(np.prod(volume.spacing))
    assert 0.6 * ball < added.sum() < 1.4 * ball


def test_brush_on_a_sagittal_acquisition(page: Page, server: LiveServer, sagittal: dict) -> None:
    uid = sagittal["series"]["series_uid"]
    volume = geometry(server, uid)
    assert slice_map(volume, "axial").axes[0] == 1  # the axial plane cuts the volume's rows
    annotation = sagittal["annotations"][0]
    open_task(page, server, sagittal["task"]["id"])
    index = slice_index(page)
    for plane, (row, col) in (("axial", (40, 20)), ("coronal", (30, 10))):
        if plane != "axial":
            choose_plane(page, 0, plane)
            wait_frame(page, plane)
            index = slice_index(page)
        before = mask(server, annotation)
        page.mouse.click(*client_xy(page, row, col, plane))
        expected = voxel(volume, plane, index, row, col)
        found = wait_mask(server, annotation, lambda m, e=expected: bool(m[e]))
        added = found & ~before
        cut = slice_map(volume, plane).axes[0]
        assert set(np.nonzero(added)[cut]) == {expected[cut]}  # all on that one slice
        rows, cols = np.nonzero(in_plane(volume, plane, index, added))
        _, row_mm, col_mm = (volume.spacing[a] for a in slice_map(volume, plane).axes)
        assert abs(rows.mean() - row) < 0.6 and abs(cols.mean() - col) < 0.6
        assert rows.max() - row <= 3 / row_mm + 0.5 and cols.max() - col <= 3 / col_mm + 0.5
        screenshot(page, f"annotator-sagittal-acquisition-{plane}")
    choose_plane(page, 0, "axial")
