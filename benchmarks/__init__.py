"""Benchmarks: each compares our code with a baseline in the same run and prints a table.

Run one with ``python -m benchmarks.bench_render``. Figures are machine-dependent: read the
ratios, and never turn a wall-clock number into a test assertion.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def median_ms(fn: Callable[[], object], repeat: int = 30, warmup: int = 2) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def interleaved_ms(
    fns: dict[str, Callable[[], object]], repeat: int = 30, warmup: int = 1
) -> dict[str, float]:
    """Median ms of each function, run in turns, so load from other processes hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, so the output can be pasted into benchmarks/README.md."""
    cells = [[str(h) for h in headers]] + [
        [_number(c) if isinstance(c, float) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines))


def _number(value: float) -> str:
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
