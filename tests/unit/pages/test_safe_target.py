"""After sign-in the browser goes only to a plain path on this site."""

from __future__ import annotations

import pytest

from labelstack.pages.login import safe_target


@pytest.mark.parametrize("target,expected", [
    ("/users", "/users"),
    ("/tasks?status=open&page=2", "/tasks?status=open&page=2"),
    ("", ""),
    ("//evil.example", ""),
    ("/\\evil.example", ""),
    ("/\t/evil.example", ""),
    ("/\n/evil.example", ""),
    ("https://evil.example/", ""),
    ("javascript:alert(1)", ""),
    ("users", ""),
    ("/ /evil", ""),
])
def test_only_same_site_paths_survive(target: str, expected: str) -> None:
    assert safe_target(target) == expected
