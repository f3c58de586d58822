"""The whole team workflow through the REST API, on SQLite and PostgreSQL.

Admin assigns labels → label task → annotation tasks (two annotators, two
labels) → saves with revisions → review task with accepted / rejected /
corrected → re-annotation of the rejected one → review of the new versions →
everything final; the audit trail and the statistics match what happened.
"""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
from fastapi.testclient import TestClient

from tests.integration.workflow.annotation_helpers import (
    SHAPE,
    blob,
    make_series,
    npy,
)

API = "/api/v1"


class Api:
    """A TestClient acting as one user; every call must succeed with the expected status."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def __call__(self, method: str, path: str, expect: int = 200, **kwargs) -> dict | list:
        r = self.client.request(method, API + path, headers=self.headers, **kwargs)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else {}

    def status(self, task_id: int, status: str, expect: int = 200) -> dict:
        return self("POST", f"/tasks/{task_id}/status", expect, json={"status": status})

    def save(self, annotation_id: int, mask: np.ndarray, seconds: float,
             expect: int = 201) -> dict:
        return self("POST", f"/annotations/{annotation_id}/revisions", expect, content=npy(mask),
                    params={"time_spent": seconds})


def test_full_workflow(client: TestClient, session, make_user, token_for) -> None:
    users = {name: make_user(*roles) for name, roles in [
        ("admin", ["admin"]), ("ann1", ["annotator"]), ("ann2", ["annotator"]),
        ("rev1", ["reviewer"]), ("rev2", ["reviewer"])]}
    admin, ann1, ann2, rev1, rev2 = (Api(client, token_for(u)) for u in users.values())
    ids = {name: u.id for name, u in users.items()}
    images = [make_series(session).id, make_series(session).id]

    # 1. labels, and the admin assigns "liver" to both images
    liver = admin("POST", "/labels", 201, json={"name": "liver", "color": "#aa0000"})["id"]
    tumor = admin("POST", "/labels", 201, json={"name": "tumor", "color": "#00aa00"})["id"]
    admin("POST", "/label-assignments", json={"label_id": liver, "series_ids": images})

    # 2. a label task: ann1 adds "tumor" to the task's images
    label_task = admin("POST", "/tasks", 201, json={
        "type": "label", "name": "what to draw", "assignee_id": ids["ann1"],
        "series_ids": images})["id"]
    ann1.status(label_task, "in_progress")
    ann1("POST", f"/tasks/{label_task}/labels", json={"label_id": tumor})
    ann1.status(label_task, "done")
    pairs = {(a["label_id"], a["series_id"]): a["id"]
             for a in admin("GET", "/label-assignments")}
    assert len(pairs) == 4

    # 3. annotation tasks: ann1 draws the liver, ann2 the tumour, on both images
    drawn = {}
    for who, name, label in [(ann1, "ann1", liver), (ann2, "ann2", tumor)]:
        task = admin("POST", "/tasks", 201, json={
            "type": "annotation", "name": f"draw {name}", "assignee_id": ids[name],
            "label_assignment_ids": [pairs[(label, s)] for s in images]})["id"]
        who.status(task, "in_progress")
        found = who("GET", "/annotations", params={"task_id": task})
        assert [(a["version"], a["author_id"], a["status"]) for a in found] == \
            [(1, ids[name], "draft")] * 2
        drawn[name] = (task, [a["id"] for a in found])

    # 4. saves with revisions (one unchanged save adds nothing)
    liver1, liver2 = drawn["ann1"][1]
    tumor1, tumor2 = drawn["ann2"][1]
    ann1.save(liver1, blob(size=2), 60)
    ann1.save(liver1, blob(size=3), 30)
    assert ann1.save(liver1, blob(size=3), 5, expect=200)["reason"] == "unchanged"
    ann1.save(liver2, blob(size=2, at=1), 45)
    ann2.save(tumor1, blob(size=1), 20)
    ann2.save(tumor2, blob(size=1, at=2), 25)
    assert [r["sequence"] for r in ann1("GET", f"/annotations/{liver1}/revisions")] == [1, 2]
    for who, name in [(ann1, "ann1"), (ann2, "ann2")]:
        finished = who.status(drawn[name][0], "done")
        assert finished["progress"]["done"] == finished["progress"]["total"] == 2
    assert ann2("GET", f"/annotations/{liver1}", 403)

    # 5. review: accepted, accepted, rejected, corrected
    review_task = admin("POST", "/tasks", 201, json={
        "type": "review", "name": "check", "assignee_id": ids["rev1"],
        "annotation_ids": [liver1, liver2, tumor1, tumor2]})["id"]
    rev1.status(review_task, "in_progress")
    open_reviews = {r["annotation_id"]: r["id"]
                    for r in rev1("GET", "/reviews", params={"task_id": review_task})}
    rev1("POST", f"/annotations/{tumor1}/comments", 201, json={
        "text": "misses the lower pole", "plane": "axial", "slice_index": 0, "x": 2, "y": 3})
    rev1.status(review_task, "done", expect=409)
    for annotation_id, result, comment in [(liver1, "accepted", ""), (liver2, "accepted", ""),
                                           (tumor1, "rejected", "misses the lower pole"),
                                           (tumor2, "corrected", "trimmed the rim")]:
        decided = rev1("POST", f"/reviews/{open_reviews[annotation_id]}",
                       json={"result": result, "comment": comment})
        assert decided["annotation"]["status"] == result
    correction = decided["correction"]
    assert (correction["version"], correction["author_id"]) == (2, ids["rev1"])
    seeded = rev1("GET", f"/annotations/{correction['id']}/revisions")
    assert len(seeded) == 1
    rev1.save(correction["id"], blob(size=2, at=2), 40)
    rev1.status(review_task, "done")
    assert [c["text"] for c in ann2("GET", f"/annotations/{tumor1}/comments")] == [
        "misses the lower pole"]

    # 6. re-annotation of the rejected tumour, in one admin action
    rework = admin("POST", "/annotations/rework", 201,
                   json={"annotation_ids": [tumor1], "assignee_id": ids["ann1"]})
    assert rework["label_assignment_ids"] == [pairs[(tumor, images[0])]]
    ann1.status(rework["task_id"], "in_progress")
    (redo,) = ann1("GET", "/annotations", params={"task_id": rework["task_id"]})
    assert redo["version"] == 2
    ann1.save(redo["id"], blob(size=3), 50)
    ann1.status(rework["task_id"], "done")

    # 7. the new versions are reviewed by someone who wrote neither
    admin("POST", "/tasks", 409, json={"type": "review", "name": "own work",
                                       "assignee_id": ids["rev1"],
                                       "annotation_ids": [correction["id"]]})
    final_task = admin("POST", "/tasks", 201, json={
        "type": "review", "name": "final", "assignee_id": ids["rev2"],
        "annotation_ids": [redo["id"], correction["id"]]})["id"]
    rev2.status(final_task, "in_progress")
    for review in rev2("GET", "/reviews", params={"task_id": final_task}):
        rev2("POST", f"/reviews/{review['id']}", json={"result": "accepted"})
    rev2.status(final_task, "done")

    # 8. everything final: the latest version of every label on every image is accepted
    for pair_id in pairs.values():
        versions = admin("GET", f"/label-assignments/{pair_id}/history")
        assert versions[-1]["annotation"]["status"] == "accepted"
    tumor1_history = admin("GET", f"/label-assignments/{pairs[(tumor, images[0])]}/history")
    assert [(v["annotation"]["version"], [r["result"] for r in v["reviews"]])
            for v in tumor1_history] == [(1, ["rejected"]), (2, ["accepted"])]
    final_mask = ann2.client.get(f"{API}/annotations/{redo['id']}/revisions/1/mask",
                                 headers=ann2.headers)
    assert final_mask.status_code == 200  # final work is readable by everyone
    assert np.load(io.BytesIO(final_mask.content)).shape == SHAPE

    # 9. the audit trail matches what happened
    events = admin("GET", "/audit-events", params={"limit": 500})["items"]
    by_action = Counter(e["action"] for e in events)
    assert by_action["annotation.save"] == 7
    assert by_action["review.decide"] == 6
    assert by_action["review.create"] == 6
    assert by_action["annotation.create"] == 4 + 1 + 1  # tasks, correction, rework
    assert by_action["comment.create"] == 1
    saves = Counter(e["actor_id"] for e in events if e["action"] == "annotation.save")
    assert saves == {ids["ann1"]: 4, ids["ann2"]: 2, ids["rev1"]: 1}
    results = [e["details"]["result"] for e in events if e["action"] == "review.decide"]
    assert results == ["accepted", "accepted", "rejected", "corrected", "accepted", "accepted"]

    # 10. statistics match, for admins and for each user themselves
    stats = {s["user_id"]: s["total"] for s in admin("GET", "/stats/users")}
    assert stats[ids["ann1"]] == {
        "tasks_done": {"label": 1, "annotation": 2}, "annotations_saved": 4,
        "active_time": 185.0, "review_results_received": {"accepted": 3}, "reviews_given": 0}
    assert stats[ids["ann2"]] == {
        "tasks_done": {"annotation": 1}, "annotations_saved": 2, "active_time": 45.0,
        "review_results_received": {"rejected": 1, "corrected": 1}, "reviews_given": 0}
    assert stats[ids["rev1"]] == {
        "tasks_done": {"review": 1}, "annotations_saved": 1, "active_time": 40.0,
        "review_results_received": {"accepted": 1}, "reviews_given": 4}
    assert stats[ids["rev2"]]["reviews_given"] == 2
    for who, name in [(ann1, "ann1"), (rev2, "rev2")]:
        assert who("GET", "/stats/me")["total"] == stats[ids[name]]
    ann1("GET", "/stats/users", 403)
