"""Reusable page parts: the page frame, tables, forms, the viewer elements."""
