"""A dataset's DICOM tags as flat rows for a tag table: file meta first, sequences indented."""

from __future__ import annotations

from pydicom import Dataset
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.tag import BaseTag

BINARY_VRS = ("OB", "OW", "OF", "OD", "OL", "OV", "UN")
PIXEL_DATA = 0x7FE00010
MAX_VALUE_CHARS = 200


def tag_rows(ds: Dataset) -> list[dict[str, str]]:
    """One row per element: ``tag`` "(gggg,eeee)", ``keyword``, ``vr``, ``value`` (binary
    values as their length, long text cut at 200 characters) and ``depth`` (sequence nesting,
    as text), the file meta information (group 0002) first."""
    rows: list[dict[str, str]] = []
    meta = getattr(ds, "file_meta", None)
    for source in ([meta] if meta is not None else []) + [ds]:
        _rows(source, rows, depth=0)
    return rows


def _rows(ds: Dataset, rows: list[dict[str, str]], depth: int) -> None:
    for tag in sorted(ds.keys()):
        try:
            element = ds[tag]
        except Exception as exc:  # noqa: BLE001  (a value its VR cannot hold, an unknown VR)
            rows.append(_unreadable(ds, tag, exc, depth))
            continue
        rows.append({"tag": f"({element.tag.group:04X},{element.tag.element:04X})",
                     "keyword": element.keyword or "", "vr": element.VR,
                     "value": _value(element), "depth": str(depth)})
        if element.VR == "SQ":
            for item in element.value:
                _rows(item, rows, depth + 1)


def _unreadable(ds: Dataset, tag: BaseTag, exc: Exception, depth: int) -> dict[str, str]:
    """The row of an element pydicom cannot convert: its raw VR and length, and why."""
    raw = ds.get_item(tag)
    vr = str(getattr(raw, "VR", "") or "")
    length = getattr(raw, "length", 0)
    why = f"{type(exc).__name__}: {exc}"[:MAX_VALUE_CHARS]
    return {"tag": f"({tag.group:04X},{tag.element:04X})", "keyword": keyword_for_tag(tag),
            "vr": vr, "value": f"<cannot read {length} bytes as {vr or 'its VR'}: {why}>",
            "depth": str(depth)}


def _value(element: DataElement) -> str:
    if element.VR == "SQ":
        return f"<{len(element.value)} item(s)>"
    if element.VR in BINARY_VRS or element.tag == PIXEL_DATA:
        length = len(element.value) if element.value is not None else 0
        return f"<{length} bytes>"
    text = str(element.value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."
