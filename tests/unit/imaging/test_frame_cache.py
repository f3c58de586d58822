"""The frame cache answers a frame asked for again without rendering it, within its bound."""

from __future__ import annotations

import pytest

from labelstack.imaging.frame_cache import FrameCache


class Renders:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, name: str, size: int = 10):
        def render() -> bytes:
            self.calls.append(name)
            return name.encode().ljust(size, b".")
        return render


def test_a_frame_asked_again_is_not_rendered_again() -> None:
    cache, renders = FrameCache(1000), Renders()
    first = cache.get("ct", "a", renders("a"))
    again = cache.get("ct", "a", renders("a"))
    assert again == first and renders.calls == ["a"]


def test_the_least_recently_used_frames_go_first_at_the_bound() -> None:
    cache, renders = FrameCache(30), Renders()
    for name in ("a", "b", "c"):
        cache.get("ct", name, renders(name))
    cache.get("ct", "a", renders("a"))  # a is now the most recent
    cache.get("ct", "d", renders("d"))  # 40 bytes > 30: b, the least recent, goes
    assert len(cache) == 3
    cache.get("ct", "b", renders("b"))
    cache.get("ct", "a", renders("a"))
    assert renders.calls == ["a", "b", "c", "d", "b"]


def test_a_frame_larger_than_the_bound_is_served_but_not_kept() -> None:
    cache, renders = FrameCache(5), Renders()
    assert cache.get("ct", "big", renders("big", size=6)) == b"big..."
    cache.get("ct", "big", renders("big", size=6))
    assert renders.calls == ["big", "big"] and len(cache) == 0


def test_a_failed_render_is_raised_and_not_kept() -> None:
    cache = FrameCache(1000)

    def broken() -> bytes:
        raise ValueError("slice 99 out of range")

    with pytest.raises(ValueError, match="out of range"):
        cache.get("ct", "x", broken)
    assert cache.get("ct", "x", lambda: b"ok") == b"ok"


def test_a_forgotten_volume_s_frames_are_rendered_again_and_others_kept() -> None:
    """A series that left the index and came back under the same key shows its new pixels."""
    cache, renders = FrameCache(1000), Renders()
    cache.get("ct", "a", renders("a"))
    cache.get("mr", "a", renders("mr-a"))
    cache.forget("ct")
    cache.get("ct", "a", renders("a"))
    cache.get("mr", "a", renders("mr-a"))
    assert renders.calls == ["a", "mr-a", "a"] and len(cache) == 2
