"""Timing helpers for benchmarks: best of several repeats, ratios printed against a baseline."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def report(label: str, ours: float, baseline: float, baseline_label: str) -> None:
    """Print our time, the baseline's, and the speed-up ratio."""
    print(
        f"   {label}: dynsys {ours:.3f} s, {baseline_label} {baseline:.3f} s, "
        f"ratio {baseline / ours:.1f}x"
    )
