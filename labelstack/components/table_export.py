"""CSV export of a table as shown: its columns, in order, with the text each cell shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

from nicegui import ui


def csv_text(columns: list[dict], rows: list[dict]) -> str:
    """Header of column labels, one line per row. A row's `<field>_text`, when present, is
    what its cell shows (a duration, chips, a sentence) and is exported instead."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c["label"] for c in columns])
    for row in rows:
        writer.writerow([_cell(row, c["field"]) for c in columns])
    return out.getvalue()


def _cell(row: dict, field: str) -> object:
    value = row.get(f"{field}_text", row.get(field, ""))
    return "" if value is None else value


def shown_rows(table: ui.table) -> list[dict]:
    """The table's rows in the order it shows them: sorted by the column the user chose
    (client-side sorting, as Quasar does by the field's value)."""
    sort_by, descending = table.pagination.get("sortBy"), table.pagination.get("descending")
    if not sort_by or table.pagination.get("rowsNumber"):  # server-side: already in order
        return list(table.rows)
    field = next((c["field"] for c in table.columns if c["name"] == sort_by), sort_by)
    def key(row: dict) -> tuple[bool, object]:
        value = row.get(field)
        return value is None, value.lower() if isinstance(value, str) else (value or 0)

    return sorted(table.rows, key=key, reverse=bool(descending))


def export_button(name: str, table: Callable[[], ui.table]) -> ui.button:
    """"Export CSV" for a table: downloads `<name>-<today>.csv` of its rows as shown now."""
    def download() -> None:
        shown = table()
        ui.download.content(csv_text(shown.columns, shown_rows(shown)),
                            f"{name}-{date.today().isoformat()}.csv", media_type="text/csv")

    return ui.button("Export CSV", icon="download", on_click=download) \
        .props("flat dense no-caps data-testid=stats-export")
