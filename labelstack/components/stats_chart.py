"""The Statistics chart: work per user and day or week, as stacked ECharts bars."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from labelstack.services.stats import Period, Throughput

METRICS = {"tasks_done": "Tasks done", "annotations_saved": "Annotations saved",
           "active_time": "Active time (hours)"}


def period_label(start: date, period: Period) -> str:
    """"2026-12-01", or for a week "Nov 30 – Dec 6"."""
    if period == "day":
        return start.isoformat()
    end = start + timedelta(days=6)
    return f"{start:%b} {start.day} – {end:%b} {end.day}"


def chart_options(found: Throughput, metric: str) -> dict[str, Any]:
    """One bar series per user, stacked, so a bar's height is the team's total."""
    labels = [period_label(p, found.period) for p in found.periods]
    series = []
    for line in found.users:
        values = getattr(line, metric)
        if metric == "active_time":
            values = [round(v / 3600, 2) for v in values]
        series.append({"name": line.user.display_name, "type": "bar", "stack": "work",
                       "emphasis": {"focus": "series"}, "data": values})
    options: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 48, "right": 16, "top": 40, "bottom": 56},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"hideOverlap": True}},
        "yAxis": {"type": "value", "name": METRICS[metric], "minInterval": 0 if
                  metric == "active_time" else 1},
        "series": series,
    }
    if not series:
        options["title"] = {"text": "No work in this period", "left": "center", "top": "middle",
                            "textStyle": {"color": "#9e9e9e", "fontWeight": "normal"}}
    return options
