"""Run every ``benchmarks/bench_*.py`` module's ``main()`` and print its ratios.

Usage: ``python -m benchmarks [name ...]`` (names without the ``bench_`` prefix).

The machine is printed once (CPU, cores, memory, versions), and the load average before each
benchmark: a ratio means little without the load it was measured under.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import os
import pkgutil
import platform
import sys
import time

import benchmarks


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """One line describing the machine and the versions the benchmarks run with."""
    versions = ", ".join(f"{p} {_version(p)}" for p in ("numpy", "scipy", "numba"))
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gib():.1f} GiB; "
        f"Python {platform.python_version()}, {versions}"
    )


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unavailable"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


@contextlib.contextmanager
def same_environment():
    """Run a benchmark and put ``os.environ`` back as it was: each benchmark, and every process
    it starts, sees the environment the run began with.

    dask's ``LocalCluster`` (the basin map's scaling) sets its workers' variables in the parent
    process's environment (``MALLOC_TRIM_THRESHOLD_``, ``OMP_NUM_THREADS``, ...). Processes
    started later inherit them, and ``MALLOC_TRIM_THRESHOLD_`` turns off glibc's adaptive mmap
    threshold: numpy's large temporaries are then mapped and unmapped at every allocation, and
    the descent baseline's workers ran at half speed at K = 15 and 20 after the basins bench.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    wanted = {f"bench_{a.removeprefix('bench_')}" for a in argv}
    print(f"machine: {machine()}\n", flush=True)
    for name in names:
        if wanted and name not in wanted:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name} == (load average {load()})", flush=True)
        start = time.perf_counter()
        with same_environment():
            module.main()
        elapsed = time.perf_counter() - start
        print(f"   ({elapsed:.1f} s; load average after {load()})\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
