"""CSV of a table as shown, and the chart's options."""

from __future__ import annotations

import csv
import io
from datetime import date

from labelstack.components.stats_chart import chart_options, period_label
from labelstack.components.table_export import csv_text
from labelstack.db.models import User
from labelstack.services.stats import Throughput, UserLine

COLUMNS = [{"name": "user", "label": "User", "field": "user"},
           {"name": "active", "label": "Active time", "field": "active"}]


def test_csv_has_the_labels_and_the_text_each_cell_shows() -> None:
    rows: list[dict] = [{"user": 'Ann "the" Notator, MD', "active": 3900.0, "active_text": "1 h 5 min"},
            {"user": "Bob", "active": None}]
    parsed = list(csv.reader(io.StringIO(csv_text(COLUMNS, rows))))
    assert parsed == [["User", "Active time"], ['Ann "the" Notator, MD', "1 h 5 min"],
                      ["Bob", ""]]


def test_chart_stacks_one_series_per_user_and_says_when_empty() -> None:
    week = [date(2026, 11, 23), date(2026, 11, 30)]
    ann = User(id=2, email="ann@x.org", name="Ann", password_hash="-")
    found = Throughput(period="week", periods=week, users=[UserLine(
        user=ann, tasks_done=[0, 2], annotations_saved=[1, 3], active_time=[0.0, 5400.0])])
    options = chart_options(found, "active_time")
    assert options["xAxis"]["data"] == ["Nov 23 – Nov 29", "Nov 30 – Dec 6"]
    assert options["series"] == [{"name": "Ann", "type": "bar", "stack": "work",
                                  "emphasis": {"focus": "series"}, "data": [0.0, 1.5]}]
    assert "title" not in options
    empty = chart_options(Throughput(period="day", periods=week, users=[]), "tasks_done")
    assert empty["series"] == [] and empty["title"]["text"] == "No work in this period"
    assert period_label(date(2026, 12, 1), "day") == "2026-12-01"
