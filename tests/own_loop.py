"""Async tests on an event loop of their own, in a thread of their own.

A worker that has run a browser test keeps Playwright's loop running in its main thread until
the session ends, and `asyncio.run` refuses to start beside it; `--dist loadfile` can put any
file after a browser test.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def in_own_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, test(*args, **kwargs)).result()

    return run
