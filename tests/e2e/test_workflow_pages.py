"""The workflow pages in a real browser: labels, tasks, statistics, my tasks."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, login, screenshot


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def _pick(page: Page, select_testid: str, option: str) -> None:
    """Choose `option` in a q-select (its menu renders outside the field)."""
    page.get_by_test_id(select_testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def _switch_to(page: Page, server: LiveServer, role: str) -> None:
    page.context.clear_cookies()
    login(page, server, role)


def _close_menus(page: Page) -> None:
    page.get_by_test_id("page-title").click()
    expect(page.locator(".q-menu")).to_have_count(0)


def _create_label(page: Page, name: str) -> None:
    page.get_by_test_id("labels-new").click()
    dialog = page.get_by_test_id("label-dialog")
    dialog.get_by_test_id("label-name").fill(name)
    dialog.get_by_test_id("label-color").fill("#7c3aed")
    dialog.get_by_test_id("label-description").fill("Made by the browser test")
    dialog.get_by_test_id("label-save").click()
    expect(dialog).to_be_hidden()


def test_admin_labels_assigns_and_runs_a_task(page: Page, live_server: LiveServer) -> None:
    label, task = _unique("Spleen"), _unique("Outline spleens")
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/labels")
    expect(page.get_by_test_id("labels-table")).to_contain_text("Lesion")
    screenshot(page, "labels")

    _create_label(page, label)
    row = page.get_by_test_id("labels-table").get_by_role("row").filter(has_text=label)
    expect(row).to_contain_text("Made by the browser test")

    page.get_by_test_id("labels-assign").click()
    dialog = page.get_by_test_id("assign-dialog")
    _pick(page, "assign-label", label)
    series = dialog.get_by_test_id("assign-series")
    expect(series.locator("tbody tr").first).to_be_visible()
    series.locator("thead .q-checkbox").click()  # every image listed
    expect(dialog.get_by_test_id("assign-series-count")).to_contain_text("selected")
    dialog.get_by_test_id("assign-save").click()
    expect(dialog.get_by_test_id("assign-report")).to_contain_text(
        re.compile(r"[1-9]\d* new assignments?, 0 already assigned"))
    screenshot(page, "labels-assign")
    dialog.get_by_test_id("assign-save").click()  # again: nothing new, all reported as existing
    expect(dialog.get_by_test_id("assign-report")).to_contain_text(
        re.compile(r"^0 new assignments, [1-9]\d* already assigned"))
    dialog.get_by_role("button", name="Close").click()
    expect(row.locator("td").nth(2)).not_to_have_text("0")

    page.goto(f"{live_server.url}/tasks")
    expect(page.get_by_test_id("tasks-table")).to_contain_text("Demo: outline")
    page.get_by_test_id("tasks-new").click()
    dialog = page.get_by_test_id("task-dialog")
    _pick(page, "task-type", "Annotation")
    dialog.get_by_test_id("task-name").fill(task)
    dialog.get_by_test_id("task-due").fill("2031-01-15")
    _pick(page, "task-assignee", "Ann Notator")
    dialog.get_by_test_id("task-items-filter").fill(label)
    items = dialog.get_by_test_id("task-items")
    expect(items.locator("tbody tr").first).to_contain_text(label)
    items.locator("thead .q-checkbox").click()
    screenshot(page, "tasks-new-dialog")
    dialog.get_by_test_id("task-save").click()
    expect(dialog).to_be_hidden()

    table = page.get_by_test_id("tasks-table")
    row = table.get_by_role("row").filter(has_text=task)
    expect(row).to_contain_text("open")
    expect(row).to_contain_text("Ann Notator")
    expect(row).to_contain_text("normal")

    row.locator(".q-checkbox").click()
    page.get_by_test_id("tasks-bulk-edit").click()
    _pick(page, "edit-priority", "urgent")
    page.get_by_test_id("edit-save").click()
    expect(row).to_contain_text("urgent")

    page.get_by_test_id("tasks-search").fill(task.split()[-1])
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(task)
    page.get_by_test_id("tasks-search").fill("")
    _pick(page, "tasks-filter-type", "annotation")
    page.get_by_test_id("tasks-filter-status").click()
    page.get_by_role("option", name="unassigned", exact=True).click()
    _close_menus(page)
    expect(table).to_contain_text("Demo: mark bones on the radiographs")
    expect(table).not_to_contain_text(task)
    page.get_by_test_id("tasks-filter-reset").click()
    page.get_by_test_id("tasks-filter-priority").click()
    page.get_by_role("option", name="urgent", exact=True).click()
    _close_menus(page)
    expect(table).to_contain_text(task)
    expect(table).not_to_contain_text("Demo: outline")
    screenshot(page, "tasks-filtered")

    page.goto(f"{live_server.url}/my-tasks")  # an admin without the annotator role
    expect(page.get_by_test_id("forbidden")).to_be_visible()

    _switch_to(page, live_server, "annotator")
    mine = page.get_by_test_id("my-tasks-table")
    row = mine.get_by_role("row").filter(has_text=task)
    task_id = row.get_by_role("button", name="Start").get_attribute("data-testid").split("-")[-1]
    page.get_by_test_id(f"task-start-{task_id}").click()
    expect(row).to_contain_text("in progress")
    page.get_by_test_id(f"task-finish-{task_id}").click()  # nothing saved: refused, explained
    expect(page.locator(".q-notification.bg-negative")).to_contain_text(
        "must be saved at least once")
    expect(row).to_contain_text("in progress")
    screenshot(page, "my-tasks-annotator")


def test_status_actions_offer_only_allowed_states(page: Page, live_server: LiveServer) -> None:
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/tasks")
    table = page.get_by_test_id("tasks-table")
    row = table.get_by_role("row").filter(has_text="Demo: lesion outline (done)")
    button = row.get_by_role("button", name="Status")
    task_id = button.get_attribute("data-testid").split("-")[-1]
    button.click()
    expect(page.get_by_test_id(f"task-status-{task_id}-open")).to_be_visible()
    expect(page.get_by_test_id(f"task-status-{task_id}-cancelled")).to_have_count(0)
    screenshot(page, "tasks-status-menu")
    _close_menus(page)

    page.get_by_test_id("tasks-new").click()
    dialog = page.get_by_test_id("task-dialog")
    dialog.get_by_test_id("task-name").fill(_unique("Nothing in it"))
    dialog.get_by_test_id("task-save").click()
    expect(dialog.get_by_test_id("task-error")).to_contain_text("at least one item")
    dialog.get_by_role("button", name="Cancel").click()

    row = table.get_by_role("row").filter(has_text="Demo: outline the lungs")
    row.locator("[data-testid^=task-edit-]").click()
    edit = page.get_by_test_id("task-edit-dialog")
    edit.get_by_test_id("edit-name").fill("Demo: outline both lungs")
    edit.get_by_test_id("edit-save").click()
    expect(edit).to_be_hidden()
    expect(table).to_contain_text("Demo: outline both lungs")

    page.get_by_test_id("tasks-search").fill("no task is called this")
    expect(table.get_by_test_id("empty-state")).to_contain_text("No tasks match these filters")
    screenshot(page, "tasks-empty-filter")


def test_annotator_takes_an_available_task(page: Page, live_server: LiveServer) -> None:
    name = _unique("Free task")
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/tasks")
    page.get_by_test_id("tasks-new").click()
    dialog = page.get_by_test_id("task-dialog")
    _pick(page, "task-type", "Annotation")
    dialog.get_by_test_id("task-name").fill(name)
    dialog.get_by_test_id("task-items-filter").fill("Lesion")
    items = dialog.get_by_test_id("task-items")
    free = items.locator("tbody tr").filter(has_text="MR")
    expect(free.first).to_be_visible()
    free.first.locator(".q-checkbox").click()
    dialog.get_by_test_id("task-save").click()
    expect(dialog).to_be_hidden()

    _switch_to(page, live_server, "annotator")
    available = page.get_by_test_id("available-tasks-table")
    row = available.get_by_role("row").filter(has_text=name)
    row.get_by_role("button", name="Take").click()
    expect(page.get_by_test_id("my-tasks-table")).to_contain_text(name)
    expect(available).not_to_contain_text(name)


def test_reviewer_reviews_and_cannot_open_admin_pages(page: Page,
                                                      live_server: LiveServer) -> None:
    login(page, live_server, "reviewer")
    expect(page.get_by_test_id("page-title")).to_have_text("My tasks")
    mine = page.get_by_test_id("my-tasks-table")
    row = mine.get_by_role("row").filter(has_text="Demo: review the lesion outline")
    row.get_by_role("button", name="Start").click()
    expect(row).to_contain_text("in progress")
    panel = page.locator("[data-testid^=review-]").filter(has_text="Review: Demo: review")
    expect(panel).to_contain_text("Ann Notator")  # the author, though reviewers list no users
    screenshot(page, "my-tasks-review-panel")
    panel.get_by_role("button", name="Reject").first.click()
    page.get_by_test_id("review-reject-save").click()
    expect(page.get_by_test_id("review-error")).to_contain_text("needs a comment")
    page.get_by_test_id("review-comment").fill("The lower edge misses the lesion.")
    screenshot(page, "my-tasks-reject-dialog")
    page.get_by_test_id("review-reject-save").click()
    expect(panel).to_contain_text("rejected")
    expect(panel).to_contain_text("The lower edge misses the lesion.")
    row.get_by_role("button", name="Finish").click()
    expect(row).to_contain_text("done")
    screenshot(page, "my-tasks-reviewer")

    for path in ("/tasks", "/labels", "/stats"):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("tasks-table")).to_have_count(0)


def test_admin_sees_statistics_and_audit_trail(page: Page, live_server: LiveServer) -> None:
    login(page, live_server, "admin")
    page.goto(f"{live_server.url}/stats")
    stats = page.get_by_test_id("stats-table")
    expect(stats).to_contain_text("Ann Notator")
    annotator = stats.get_by_role("row").filter(has_text="Ann Notator")
    expect(annotator).to_contain_text("4 min")
    audit = page.get_by_test_id("audit-table")
    expect(audit).to_contain_text("task.create")
    expect(page.get_by_test_id("stats-agreement")).to_contain_text(
        "No label has two handed-in versions to compare yet")
    screenshot(page, "stats")
    page.get_by_test_id("audit-filter-action").fill("label.*")
    expect(audit).to_contain_text("label.create")
    expect(audit).not_to_contain_text("task.create")


def test_annotator_labels_images_inside_a_label_task(page: Page,
                                                     live_server: LiveServer) -> None:
    login(page, live_server, "annotator")
    row = page.get_by_test_id("my-tasks-table").get_by_role("row").filter(
        has_text="Demo: check the labels of the volumes")
    row.get_by_role("button", name="Start").click()
    expect(row).to_contain_text("in progress")
    panel = page.locator("[data-testid^=label-task-]")
    expect(panel).to_contain_text("Labels: Demo: check the labels of the volumes")
    _pick(page, "task-label-select", "Bone")
    panel.get_by_test_id("task-label-add").click()
    chips = panel.locator("[data-testid^=task-label-chip-]").filter(has_text="Bone")
    expect(chips).to_have_count(2)  # both images of the task
    screenshot(page, "my-tasks-label-task")
    chips.first.locator(".q-chip__icon--remove").click()
    expect(chips).to_have_count(1)
    row.get_by_role("button", name="Finish").click()
    expect(row).to_contain_text("done")
    expect(panel).to_have_count(0)
