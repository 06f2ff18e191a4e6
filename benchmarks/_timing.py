"""Timing helpers for benchmarks: warm best-of-N, cold first calls in a fresh process, and the
printed comparison against a baseline.

Warm: the smallest of several calls in this process (imports done, caches filled). Cold: one call
in a new Python process, timed from before the first import of the function's module to the end
of the call, so imports, numba compilation (with an empty numba cache) and first-call costs are
included; only the interpreter's own start-up, the same for both sides, is left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

_COLD_SCRIPT = """
import importlib, json, sys, time
module, name, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.perf_counter()
getattr(importlib.import_module(module), name)(**kwargs)
print(json.dumps(time.perf_counter() - start))
"""


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn``, in seconds.

    Examples
    --------
    >>> best_time(lambda: sum(range(10)), repeat=2) < 1.0
    True
    """
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cold_time(target: str, repeat: int = 1, **kwargs: object) -> float:
    """Wall time of the first call of ``target`` in a fresh Python process, in seconds.

    Parameters
    ----------
    target : str
        ``"package.module:function"``; the function is called with ``kwargs`` (JSON values). Put
        the imports a side needs inside its function, so that the cold time of each side counts
        its own imports and no one else's.
    repeat : int
        Fresh processes to run; the smallest time is returned (each is a first call).
    **kwargs
        Keyword arguments of the function.

    Returns
    -------
    float
        Seconds from before the import of the function's module to the end of the call. The
        process gets an empty numba cache, so any numba compilation is counted.

    Examples
    --------
    >>> cold_time("json:dumps", obj=[1, 2]) < 10.0
    True
    """
    module, name = target.split(":")
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": os.pathsep.join(sys.path)}
            done = subprocess.run(
                [sys.executable, "-c", _COLD_SCRIPT, module, name, json.dumps(kwargs)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"cold run of {target} failed:\n{done.stderr}")
        best = min(best, float(json.loads(done.stdout.strip().splitlines()[-1])))
    return best


def report(
    label: str,
    ours: float,
    baseline: float,
    baseline_label: str,
    *,
    cold: tuple[float, float] | None = None,
    settings: str = "",
    agreement: str = "",
    warm_note: str = "best of several calls",
) -> None:
    """Print our time, the baseline's, and the ratio ``baseline / ours`` (above 1: we are faster).

    Parameters
    ----------
    label : str
        The task both sides do.
    ours, baseline : float
        Warm times in seconds.
    baseline_label : str
        The baseline's name.
    cold : (float, float), optional
        Cold times ``(ours, baseline)`` from :func:`cold_time`; a second line gives their ratio.
    settings : str
        The baseline's settings (method, tolerances, chunk size, ...).
    agreement : str
        How closely the two sides' answers agree, as checked by the benchmark.
    warm_note : str
        How the warm times were taken.

    Examples
    --------
    >>> report("sum", 1.0, 2.0, "loop", cold=(3.0, 1.5), agreement="equal")  # doctest: +ELLIPSIS
       sum: dynsys 1.000 s, loop 2.000 s, ratio 2.00x (warm, best of several calls)
       ...
    """
    print(
        f"   {label}: dynsys {ours:.3f} s, {baseline_label} {baseline:.3f} s, "
        f"ratio {baseline / ours:.2f}x (warm, {warm_note})"
    )
    if cold is not None:
        print(
            f"   {label}: dynsys {cold[0]:.3f} s, {baseline_label} {cold[1]:.3f} s, "
            f"ratio {cold[1] / cold[0]:.2f}x (cold: first call in a fresh process, imports "
            f"included)"
        )
    if settings:
        print(f"   baseline: {baseline_label}, {settings}")
    if agreement:
        print(f"   agreement: {agreement}")
