"""Request bodies read with a size bound: refused (413) as soon as the bound is passed."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from fastapi import Request


def bounded_body(request: Request, check: Callable[[int], None]) -> AsyncGenerator[bytes, None]:
    """The body as it arrives. `check(size)` raises (e.g. `TooLarge`) when `size` bytes are
    too many: it is called with the declared Content-Length at once, then with the bytes
    received so far after each chunk, so an oversized body is refused before it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check(int(declared))
    return _counted(request, check)


async def _counted(request: Request, check: Callable[[int], None]) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        check(size)
        yield chunk
