"""The management side in a real browser: task details and history, the not-found page,
cancelling with a confirmation and reopening, readable form errors, rejections on My tasks,
label removal offered only where it is allowed, and the Images page's names and dates.

These tests change the demo's tasks and reviews, so they run on a demo server of their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pydicom
import pytest
from playwright.sync_api import Page, expect
from pydicom.data import get_testdata_file

from tests.e2e.conftest import DEMO_LOGINS, LiveServer, api_client, login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    return start_server()


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def _new_annotation_task(server: LiveServer, name: str, *, modality: str = "CT") -> dict:
    """A fresh label on one image and an open annotation task of it for the demo annotator."""
    with api_client(server, "admin") as admin:
        label = admin.post("/labels", json={"name": _unique("Organ"), "color": "#7c3aed"})
        series = admin.get("/series", params={"modality": modality}).json()["items"][0]
        annotator = next(u for u in admin.get("/users").json()
                         if u["email"] == DEMO_LOGINS["annotator"][0])
        task = admin.post("/tasks", json={"type": "annotation", "name": name,
                                          "series_ids": [series["id"]],
                                          "label_ids": [label.json()["id"]],
                                          "assignee_id": annotator["id"]})
        assert task.status_code == 201, task.text
        return task.json()


def _task_id(server: LiveServer, name: str) -> int:
    with api_client(server, "admin") as admin:
        found = admin.get("/tasks", params={"q": name}).json()["items"]
        return next(t["id"] for t in found if t["name"] == name)


def _shot(page: Page, name: str) -> None:
    """A screenshot once dialogs and menus have finished appearing."""
    page.wait_for_function("() => !document.querySelector('[class*=\"-enter-active\"]')")
    screenshot(page, name)


def _switch_to(page: Page, server: LiveServer, role: str) -> None:
    page.context.clear_cookies()
    login(page, server, role)


def test_admin_opens_a_task_from_the_table_and_reads_its_history(page: Page,
                                                                 server: LiveServer) -> None:
    login(page, server, "admin")
    page.goto(f"{server.url}/tasks")
    page.get_by_test_id("tasks-table").get_by_role(
        "link", name="Demo: lesion outline (done)").click()
    details = page.get_by_test_id("task-details")
    expect(details).to_be_visible()
    expect(page.get_by_test_id("page-title")).to_have_text("Demo: lesion outline (done)")
    expect(details).to_contain_text("Ann Notator")
    history = page.get_by_test_id("task-history")
    expect(history).to_contain_text("Ada Admin created the task (1 item) for Ann Notator")
    expect(history).to_contain_text("Ann Notator started the task")
    expect(history).to_contain_text(re.compile(r"Ann Notator saved Lesion on MR"))
    expect(history).to_contain_text("Ann Notator finished the task")
    expect(page.get_by_test_id("task-items")).to_contain_text("Lesion")
    expect(page.get_by_test_id("task-items")).to_contain_text("done")
    expect(page.get_by_test_id("task-annotations")).to_contain_text("submitted")
    task_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_test_id("task-details-annotator")).to_have_attribute(
        "href", f"/task/{task_id}")
    expect(page.get_by_test_id("task-details-viewer")).to_have_attribute(
        "href", re.compile(r"^/view/[0-9.]+$"))
    page.wait_for_function("() => [...document.querySelectorAll("
                           "'[data-testid=task-item-thumbnail]')].every(i => i.naturalWidth > 0)")
    screenshot(page, "task-details")
    page.get_by_test_id("task-item-view-0").click()
    expect(page).to_have_url(re.compile(r"/view/[0-9.]+$"))


def test_task_details_are_not_found_for_others_and_unknown_pages_keep_the_frame(
        page: Page, server: LiveServer) -> None:
    review_id = _task_id(server, "Demo: review the lesion outline")
    login(page, server, "annotator")
    page.goto(f"{server.url}/tasks/{review_id}")  # the reviewer's task
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("task-details")).to_have_count(0)
    page.goto(f"{server.url}/tasks/999999")
    expect(page.get_by_test_id("not-found")).to_contain_text("does not exist")
    own = _task_id(server, "Demo: outline the lungs")
    page.goto(f"{server.url}/tasks/{own}")
    expect(page.get_by_test_id("task-details")).to_be_visible()
    screenshot(page, "task-details-annotator")

    page.goto(f"{server.url}/no/such/page")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("nav-my-tasks")).to_be_visible()
    screenshot(page, "not-found")
    page.get_by_test_id("not-found-home").click()
    expect(page).to_have_url(f"{server.url}/my-tasks")
    reply = httpx.get(f"{server.url}/api/v1/no-such-route")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "Not Found"}


def test_cancel_asks_first_and_a_cancelled_task_is_reopened(page: Page,
                                                            server: LiveServer) -> None:
    name = _unique("Cancel me")
    task = _new_annotation_task(server, name)
    login(page, server, "admin")
    page.goto(f"{server.url}/tasks")
    row = page.get_by_test_id("tasks-table").get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("open")
    status = page.get_by_test_id(f"task-status-{task['id']}")
    status.click()
    page.get_by_test_id(f"task-status-{task['id']}-cancelled").click()
    dialog = page.get_by_test_id("cancel-dialog")
    expect(dialog).to_contain_text(f"Cancel “{name}”?")
    _shot(page, "tasks-cancel-confirm")
    dialog.get_by_test_id("cancel-keep").click()
    expect(dialog).to_have_count(0)
    expect(row).to_contain_text("open")

    status.click()
    page.get_by_test_id(f"task-status-{task['id']}-cancelled").click()
    page.get_by_test_id("cancel-confirm").click()
    expect(page.get_by_test_id("cancel-dialog")).to_have_count(0)  # gone, backdrop too
    expect(row).to_contain_text("cancelled")
    status.click()  # a cancelled task still has its Status menu
    page.get_by_test_id(f"task-status-{task['id']}-open").click()
    expect(row).to_contain_text("open")
    expect(row).not_to_contain_text("cancelled")

    with api_client(server, "admin") as admin:  # without an assignee, Reopen says what it needs
        assert admin.patch(f"/tasks/{task['id']}", json={"assignee_id": None}).status_code == 200
        assert admin.post(f"/tasks/{task['id']}/status",
                          json={"status": "cancelled"}).status_code == 200
    page.reload()
    status.click()
    reopen = page.get_by_test_id(f"task-status-{task['id']}-open")
    expect(reopen).to_contain_text("Assign someone first (Edit)")
    expect(reopen).to_have_class(re.compile("disabled"))


def test_forms_say_what_is_wrong_next_to_the_field(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    page.goto(f"{server.url}/users")
    page.get_by_test_id("users-add").click()
    dialog = page.get_by_test_id("user-dialog")
    dialog.get_by_test_id("user-email").fill("not-an-address")
    dialog.get_by_test_id("user-password").fill("short")
    dialog.locator(".q-chip__icon--remove").click()  # no role left
    dialog.get_by_test_id("user-save").click()
    email_field = dialog.locator("label").filter(has=page.get_by_test_id("user-email"))
    expect(email_field).to_contain_text("Enter a valid e-mail address")
    expect(dialog).to_contain_text("The password needs at least 8 characters.")
    expect(dialog).to_contain_text("Choose at least one role.")
    expect(dialog).not_to_contain_text("should have")
    expect(dialog).not_to_contain_text("roles:")
    _shot(page, "users-form-errors")
    dialog.get_by_test_id("user-email").fill("new.person@example.org")
    expect(email_field).not_to_contain_text("Enter a valid e-mail address")
    expect(dialog).to_contain_text("Choose at least one role.")  # only the changed field clears
    page.keyboard.press("Escape")

    page.goto(f"{server.url}/labels")
    page.get_by_test_id("labels-new").click()
    label = page.get_by_test_id("label-dialog")
    label.get_by_test_id("label-name").fill("   ")
    label.get_by_test_id("label-save").click()
    expect(label).to_contain_text("Enter a name.")
    expect(label).not_to_contain_text("String should")
    label.get_by_test_id("label-name").fill("Liver")
    expect(label).not_to_contain_text("Enter a name.")
    page.keyboard.press("Escape")

    page.goto(f"{server.url}/tasks")
    page.get_by_test_id("tasks-new").click()
    task = page.get_by_test_id("task-dialog")
    task.get_by_test_id("task-due").fill("2031-02-31")
    task.get_by_test_id("task-save").click()
    expect(task).to_contain_text("Enter a name.")
    expect(task).to_contain_text("Enter a date as YYYY-MM-DD")
    expect(task).not_to_contain_text("name:")
    _shot(page, "tasks-new-form-errors")
    task.get_by_test_id("task-name").fill("Named now")
    expect(task).not_to_contain_text("Enter a name.")


def test_a_rejection_reaches_the_annotator_with_its_comment_and_rework(
        page: Page, server: LiveServer) -> None:
    comment = "The lower edge misses the lesion."
    login(page, server, "reviewer")
    row = page.get_by_test_id("my-tasks-table").get_by_role("row").filter(
        has_text="Demo: review the lesion outline")
    row.get_by_role("button", name="Start").click()
    panel = page.locator("[data-testid^=review-]").filter(has_text="Review: Demo: review")
    panel.get_by_role("button", name="Reject").first.click()
    page.get_by_test_id("review-comment").fill(comment)
    page.get_by_test_id("review-reject-save").click()
    expect(page.get_by_test_id("reject-dialog")).to_have_count(0)
    expect(panel).to_contain_text("rejected")
    row.get_by_role("button", name="Finish").click()
    expect(row).to_contain_text("done")
    log = (server.data_dir / "server.log").read_text()
    assert "deleted but is still being used" not in log

    _switch_to(page, server, "annotator")
    work = page.get_by_test_id("my-tasks-table").get_by_role("row").filter(
        has_text="Demo: lesion outline (done)")
    work_id = _task_id(server, "Demo: lesion outline (done)")
    expect(page.get_by_test_id(f"task-rejected-{work_id}")).to_have_text("1 rejected")
    rejection = page.get_by_test_id(f"task-rejection-{work_id}")
    expect(rejection).to_contain_text("Rey Viewer rejected Lesion on MR")
    expect(rejection).to_contain_text(comment)
    expect(rejection).to_contain_text("No rework task yet")

    _switch_to(page, server, "admin")
    page.goto(f"{server.url}/tasks/{_task_id(server, 'Demo: review the lesion outline')}")
    expect(page.get_by_test_id("task-reviews")).to_contain_text(comment)
    expect(page.get_by_test_id("task-history")).to_contain_text(
        "Rey Viewer rejected Lesion on MR")
    page.get_by_test_id("task-details-rework").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Rework of 1 rejected annotation(s)")

    _switch_to(page, server, "annotator")
    expect(work).to_be_visible()
    expect(rejection).to_contain_text("Redo it in Rework of 1 rejected annotation(s)")
    screenshot(page, "my-tasks-rejected")


def test_label_removal_is_offered_only_where_it_is_allowed(page: Page,
                                                           server: LiveServer) -> None:
    login(page, server, "annotator")
    row = page.get_by_test_id("my-tasks-table").get_by_role("row").filter(
        has_text="Demo: check the labels of the volumes")
    row.get_by_role("button", name="Start").click()
    panel = page.locator("[data-testid^=label-task-]")
    lung = panel.locator("[data-testid^=task-label-chip-]").filter(has_text="Lung")
    expect(lung).to_have_count(1)  # an item of "Demo: outline the lungs"
    expect(lung.locator(".q-chip__icon--remove")).to_have_count(0)
    expect(lung.locator("[data-testid^=task-label-locked-]")).to_be_visible()
    lung.hover()
    expect(page.locator(".q-tooltip")).to_contain_text("Cannot be removed: is an item of a task")
    lesion = panel.locator("[data-testid^=task-label-chip-]").filter(has_text="Lesion")
    expect(lesion).to_have_count(2)
    expect(lesion.locator(".q-chip__icon--remove")).to_have_count(1)  # the MR's has annotations
    screenshot(page, "my-tasks-label-chips")

    _switch_to(page, server, "admin")
    page.goto(f"{server.url}/labels")
    page.get_by_test_id("label-delete-Lesion").click()
    dialog = page.get_by_test_id("label-delete-dialog")
    expect(dialog.get_by_test_id("label-delete-explain")).to_contain_text("has annotations")
    expect(dialog).to_contain_text("“Lesion” cannot be deleted")
    expect(dialog.get_by_test_id("label-delete-confirm")).to_be_hidden()
    expect(dialog.get_by_test_id("label-archive")).to_be_visible()
    _shot(page, "labels-delete-refused")
    page.keyboard.press("Escape")

    with api_client(server, "admin") as admin:
        spare = admin.post("/labels", json={"name": _unique("Spare")}).json()["name"]
    page.reload()
    page.get_by_test_id(f"label-delete-{spare}").click()
    expect(dialog.get_by_test_id("label-delete-explain")).to_contain_text("Nothing uses it yet")
    dialog.get_by_test_id("label-delete-confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("labels-table")).not_to_contain_text(spare)


def test_images_page_names_patients_and_uses_the_calendar(page: Page,
                                                          server: LiveServer) -> None:
    login(page, server, "admin")
    page.goto(f"{server.url}/images")
    table = page.get_by_test_id("images-table")
    expect(table).to_contain_text("Phantom DEMO-CT-01")
    expect(table).not_to_contain_text("^")
    page.get_by_test_id("images-filter-from").locator("xpath=ancestor::label") \
        .locator(".q-icon", has_text="event").click()
    expect(page.locator(".q-date")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_test_id("images-filter-from").fill("2100-01-01")
    expect(table.get_by_test_id("empty-state")).to_contain_text("No images match")


def test_new_task_picker_keeps_chosen_items_in_sight(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    page.goto(f"{server.url}/tasks")
    page.get_by_test_id("tasks-new").click()
    dialog = page.get_by_test_id("task-dialog")
    series = dialog.get_by_test_id("task-series")
    expect(series.locator("tbody tr").first).to_be_visible()
    expect(series.locator(".q-table__bottom")).to_contain_text("25")
    series.locator("tbody tr").filter(has_text="CT").first.locator(".q-checkbox").click()
    chosen = dialog.get_by_test_id("task-series-chosen")
    expect(chosen).to_contain_text("Selected (1)")
    expect(chosen.get_by_test_id("chosen-chip")).to_contain_text("Phantom DEMO-CT-01")
    _shot(page, "tasks-new-chosen")
    chosen.get_by_test_id("chosen-chip").locator(".q-chip__icon--remove").click()
    expect(chosen).not_to_contain_text("Selected")
    expect(dialog.get_by_test_id("task-series-count")).to_have_text("No image selected")


def test_an_image_row_opens_its_details_and_a_task_is_made_from_selected_images(
        page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    page.goto(f"{server.url}/images")
    table = page.get_by_test_id("images-table")
    table.locator("tbody tr").filter(has_text="MR").locator("td").nth(3).click()
    details = page.get_by_test_id("image-details")
    expect(details).to_be_visible()
    expect(page).to_have_url(re.compile(r"/images/[0-9.]+$"))
    expect(page.get_by_test_id("image-labels")).to_contain_text("Lesion · 1 version")
    expect(page.get_by_test_id("image-annotations")).to_contain_text("Ann Notator")
    expect(page.get_by_test_id("image-tasks")).to_contain_text("Demo: lesion outline (done)")
    expect(page.get_by_test_id("image-study")).to_contain_text("Series 1")
    expect(page.get_by_test_id("image-details-viewer")).to_have_attribute(
        "href", re.compile(r"^/view/[0-9.]+$"))
    screenshot(page, "image-details")
    page.get_by_test_id("image-tasks").get_by_role("link",
                                                   name="Demo: lesion outline (done)").click()
    expect(page.get_by_test_id("task-details")).to_be_visible()

    name = _unique("From the Images page")
    page.goto(f"{server.url}/images")
    new_task = page.get_by_test_id("images-new-task")
    expect(new_task).to_be_disabled()
    for text in ("US", "CR"):  # the volumes are in the demo label task already
        table.locator("tbody tr").filter(has_text=text).first.locator(".q-checkbox").click()
    expect(new_task).to_have_text(re.compile("Create task from 2 selected"))
    expect(page).to_have_url(f"{server.url}/images")  # ticking a row does not open it
    new_task.click()
    dialog = page.get_by_test_id("task-dialog")
    expect(dialog.get_by_test_id("task-series-chosen")).to_contain_text("Selected (2)")
    expect(dialog.get_by_test_id("task-series-count")).to_have_text("2 images selected")
    _shot(page, "images-new-task")
    dialog.get_by_test_id("task-name").fill(name)
    dialog.get_by_test_id("task-save").click()
    expect(dialog).to_be_hidden()
    page.goto(f"{server.url}/tasks/{_task_id(server, name)}")
    expect(page.get_by_test_id("task-items").locator("tbody tr")).to_have_count(2)


def test_items_of_a_task_that_has_not_started_are_added_and_removed(page: Page,
                                                                    server: LiveServer) -> None:
    name = _unique("Grow me")
    task = _new_annotation_task(server, name)
    with api_client(server, "admin") as admin:
        extra = admin.post("/labels", json={"name": _unique("Extra")}).json()
        series = admin.get("/series", params={"modality": "CT"}).json()["items"][0]
        assigned = admin.post("/label-assignments", json={"label_id": extra["id"],
                                                          "series_ids": [series["id"]]})
        assert assigned.status_code in (200, 201), assigned.text
    login(page, server, "admin")
    page.goto(f"{server.url}/tasks")
    page.get_by_test_id(f"task-edit-{task['id']}").click()
    dialog = page.get_by_test_id("task-edit-dialog")
    current = dialog.get_by_test_id("edit-items").locator(".q-chip")
    expect(current).to_have_count(1)
    page.get_by_test_id("edit-add-items").click()
    page.get_by_role("option", name=re.compile(extra["name"])).click()
    page.keyboard.press("Escape")
    current.first.locator(".q-chip__icon--remove").click()
    expect(dialog).to_contain_text("1 item to remove")
    _shot(page, "tasks-edit-items")
    dialog.get_by_test_id("edit-save").click()
    expect(dialog).to_be_hidden()
    page.goto(f"{server.url}/tasks/{task['id']}")
    items = page.get_by_test_id("task-items")
    expect(items.locator("tbody tr")).to_have_count(1)
    expect(items).to_contain_text(extra["name"])
    expect(page.get_by_test_id("task-history")).to_contain_text(
        "Ada Admin changed the items: 1 added, 1 removed")


def test_an_unused_image_is_deleted_and_a_used_one_says_why_not(page: Page,
                                                                server: LiveServer) -> None:
    with api_client(server, "admin") as admin:
        data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
        stored = admin.post("/dicom", files=[("files", ("ct.dcm", data, "application/dicom"))])
        assert stored.status_code == 200 and stored.json()["summary"]["stored"] == 1, stored.text
        uid = pydicom.dcmread(get_testdata_file("CT_small.dcm")).SeriesInstanceUID
        used = admin.get("/series", params={"modality": "MR"}).json()["items"][0]["series_uid"]
    login(page, server, "admin")
    page.goto(f"{server.url}/images/{used}")
    expect(page.get_by_test_id("image-details-delete")).to_be_disabled()
    expect(page.get_by_test_id("image-details-delete-why")).to_have_text(
        "Cannot be deleted: It has 1 annotation: the work on it would lose its image.")

    page.goto(f"{server.url}/images/{uid}")
    page.get_by_test_id("image-details-delete").click()
    dialog = page.get_by_test_id("image-delete-dialog")
    expect(dialog).to_contain_text("its files are removed from the store")
    _shot(page, "image-delete-confirm")
    dialog.get_by_test_id("image-delete-confirm").click()
    expect(page).to_have_url(f"{server.url}/images")
    expect(page.get_by_test_id("images-total")).to_have_text("4 series")
    page.goto(f"{server.url}/images/{uid}")
    expect(page.get_by_test_id("not-found")).to_contain_text("This image does not exist")


def test_images_are_browsed_by_study(page: Page, server: LiveServer) -> None:
    login(page, server, "admin")
    page.goto(f"{server.url}/images")
    page.get_by_test_id("images-view-mode").get_by_text("By study").click()
    studies = page.get_by_test_id("images-studies")
    expect(page.get_by_test_id("images-table")).to_be_hidden()
    expect(page.get_by_test_id("images-total")).to_have_text(re.compile(r"^\d+ stud(y|ies)$"))
    study = studies.locator("[data-testid^=study-]").filter(has_text="Phantom DEMO-CT-01").first
    expect(study).to_contain_text("1 series")
    study.click()
    series = study.locator("[data-testid^=study-series-]")
    expect(series).to_contain_text("Axial CT phantom")
    expect(series).to_be_visible()
    page.wait_for_timeout(400)  # the expansion slides open; the picture should show it open
    _shot(page, "images-by-study")
    page.get_by_test_id("images-filter-modality").click()
    page.get_by_role("option", name="MR", exact=True).click()
    expect(studies.locator("[data-testid^=study-]").filter(has_text="Phantom")).to_have_count(0)
    expect(page.get_by_test_id("images-total")).to_have_text("1 study")
    studies.locator("[data-testid^=study-]").first.click()
    studies.locator("[data-testid^=study-series-]").first.click()
    expect(page.get_by_test_id("image-details")).to_be_visible()
