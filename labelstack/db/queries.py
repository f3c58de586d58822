"""Small query helpers shared by the services."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern: use with `escape="\\\\"`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
