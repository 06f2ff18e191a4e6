"""Duffing basin maps against plain baselines, and their scaling over dask workers.

The map: :func:`dynsys.basins.basin_map` of the damped Duffing oscillator (``delta = 0.25``,
sinks at ``(+-1, 0)``, given as ``attractors``) on a ``side x side`` grid of ``[-2, 2]^2``
(Dormand-Prince 5(4), ``rtol = 1e-8``, ``atol = 1e-10``, the default options). Duffing declares
trapping regions, the two lobes ``{E < 0, +-x > 0}`` of its energy ``E = v^2/2 - x^2/2 + x^4/4``
(``dE/dt = -delta v^2``; ``E >= 0`` on ``x = 0``): each orbit stops as it enters a lobe, whose
sink it provably reaches. Also timed: the same map in chunks of 20,000 orbits at the loosest of
``rtol = 1e-4, 1e-5, 1e-6`` (``atol = rtol / 100``) whose labels equal the default's on the whole
grid, as the RK4 baseline's step and radius below are the coarsest that give those labels (the
user's choices; the bench prints each tolerance tried and its mismatches).
Duffing declares its field in compiled code, so the orbits run one by one in a compiled loop on
the process's threads.

Baselines, each timed warm (in this process) and cold (a fresh process: imports and compilation
included), each checked for the same labels as dynsys:

1. Batched numpy RK4 over the whole grid, finished orbits removed from the batch, each orbit
   stopped as soon as it is within radius ``r`` of a sink. ``r`` and the step are the largest
   (of a few tried) whose labels equal dynsys's on the whole grid: a radius found against
   dynsys's labels, which the baseline itself could not check.
2. The same RK4 stopping in the lobes (the same stopping rule as dynsys).
3. A Python loop of :func:`scipy.integrate.solve_ivp` (RK45) over a random subset of the grid,
   with a terminal event at the same stopping rule (entering a lobe, or ``|f|`` at the arrival
   tolerance), at dynsys's tolerances and at ``rtol = 1e-6``.

For reference, dynsys's own numpy path (no trapping regions, no compiled field: orbits stop where
``|f|`` is at the arrival tolerance) on the same grid.

Scaling: a map twice as wide (``2 side x 2 side``, chunks of 20,000 orbits) on a
``distributed.LocalCluster`` with 1 and with 2 worker processes (``threads_per_worker=1``), after
a warm-up map on each cluster.

Environment variables: ``BENCH_BASINS_GRID`` (side, default 400), ``BENCH_BASINS_SOLVE_IVP``
(orbits of the solve_ivp loop, default 200), ``BENCH_BASINS_DASK`` (0 skips the cluster runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SINKS = np.array([[-1.0, 0.0], [1.0, 0.0]])
# The largest of the radii (0.7, 0.6, 0.5) and steps (0.25, 0.2, 0.15, 0.12, 0.1, 0.07, 0.05)
# tried whose labels equal dynsys's on the whole 400 x 400 grid.
RK4_RADIUS = 0.5
RK4_STEP = 0.1
RK4_REGION_STEP = 0.1
T_MAX = 1000.0
CHUNK = 20_000  # the chunk size of the tuned run (the default is 1,000)
LOOSE_RTOLS = (1e-4, 1e-5, 1e-6)  # tried in this order for the tuned run


def _grid(side: int) -> dict:
    return {"x": (-2.0, 2.0, side), "v": (-2.0, 2.0, side)}


def _grid_states(side: int) -> np.ndarray:
    axis = np.linspace(-2.0, 2.0, side)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


# ------------------------------------------------------------------ what dynsys runs
def dynsys_map(
    side: int,
    executor=None,
    *,
    fast: bool = True,
    rtol: float | None = None,
    chunk_size: int | None = None,
):
    """The Duffing basin map of the benchmark (``fast=False``: without trapping regions and
    without the compiled field, the numpy path that stops at ``|f|``; ``rtol``: a tolerance
    other than the default, with ``atol = rtol / 100``; ``chunk_size``: other than 1000)."""
    from dynsys.basins import BasinOptions, basin_map
    from dynsys.integrate import FlowOptions
    from dynsys.models import duffing

    system = duffing() if fast else duffing().with_compiled_field(None)
    options = BasinOptions(trapping_regions=fast)
    if rtol is not None:
        options = options.replace(flow=FlowOptions(rtol=rtol, atol=rtol / 100))
    if chunk_size is not None:
        options = options.replace(chunk_size=chunk_size)
    return basin_map(system, _grid(side), attractors=SINKS, options=options, executor=executor)


# ------------------------------------------------------------------ baselines
def duffing_field(y: np.ndarray, delta=0.25, alpha=-1.0, beta=1.0) -> np.ndarray:
    """The Duffing field on a batch ``(m, 2)``."""
    q, v = y[:, 0], y[:, 1]
    out = np.empty_like(y)
    out[:, 0] = v
    out[:, 1] = -delta * v - alpha * q - beta * q * q * q
    return out


def rk4_labels(states: np.ndarray, step: float, stop, t_max: float = T_MAX) -> np.ndarray:
    """Batched RK4 from every state; ``stop(y) -> sink index or -1`` ends an orbit; finished
    orbits leave the batch. Returns the sink of each orbit (-1: none by ``t_max``)."""
    y = np.array(states, dtype=float)
    rows = np.arange(len(y))
    label = np.full(len(y), -1)
    t = 0.0
    while rows.size and t < t_max:
        hit = stop(y)
        done = hit >= 0
        if done.any():
            label[rows[done]] = hit[done]
            y, rows = y[~done], rows[~done]
            if not rows.size:
                break
        k1 = duffing_field(y)
        k2 = duffing_field(y + 0.5 * step * k1)
        k3 = duffing_field(y + 0.5 * step * k2)
        k4 = duffing_field(y + step * k3)
        y = y + (step / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        t += step
    return label


def near_sink(radius: float):
    """Stop rule: within ``radius`` of a sink."""

    def stop(y):
        d = np.stack([((y - s) ** 2).sum(axis=1) for s in SINKS], axis=1)
        return np.where(d.min(axis=1) <= radius * radius, d.argmin(axis=1), -1)

    return stop


def energy(y: np.ndarray) -> np.ndarray:
    """The oscillator's energy ``v^2/2 - x^2/2 + x^4/4`` at states ``(m, 2)``."""
    q, v = y[:, 0], y[:, 1]
    return 0.5 * v * v - 0.5 * q * q + 0.25 * q**4


def in_lobes(y: np.ndarray) -> np.ndarray:
    """Stop rule: inside a lobe ``E < 0`` (sink 1 for ``x > 0``, sink 0 for ``x < 0``)."""
    return np.where(energy(y) < 0, (y[:, 0] > 0).astype(int), -1)


def solve_ivp_labels(states, arrival, rtol, atol) -> np.ndarray:
    """A loop of solve_ivp (RK45), each run ended by a terminal event at dynsys's stopping rule
    (inside a lobe, or ``|f| <= arrival``), written with Python floats (cheaper than numpy calls
    on two numbers); the label is the sink nearest the end state."""
    from scipy.integrate import solve_ivp

    delta, alpha, beta = 0.25, -1.0, 1.0

    def rhs(t, s):
        q, v = s
        return [v, -delta * v - alpha * q - beta * q * q * q]

    def stopped(t, s):
        q, v = s
        a = -delta * v - alpha * q - beta * q * q * q
        e = 0.5 * v * v - 0.5 * q * q + 0.25 * q**4
        return min((v * v + a * a) ** 0.5 - arrival, max(e, -abs(q)))

    stopped.terminal = True
    out = []
    for x0 in states:
        sol = solve_ivp(rhs, (0.0, T_MAX), x0, rtol=rtol, atol=atol, events=stopped)
        end = sol.y[:, -1]
        out.append(int(np.argmin(((SINKS - end) ** 2).sum(axis=1))))
    return np.asarray(out)


def dynsys_labels(ds) -> np.ndarray:
    """dynsys's labels as sink indices (rows of ``SINKS``)."""
    sink_of_row = np.argmin(
        ((ds.attractor_x.values[:, None, :] - SINKS[None]) ** 2).sum(axis=2), axis=1
    )
    label = ds.label.values.ravel()
    return np.where(label >= 0, sink_of_row[np.maximum(label, 0)], -1)


# ------------------------------------------------------------------ timing
def best_of(fn, repeat: int = 2) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


_COLD = {
    "dynsys": "from benchmarks.bench_basins import dynsys_map; dynsys_map({side})",
    "rk4": (
        "from benchmarks.bench_basins import rk4_labels, near_sink, _grid_states, RK4_STEP, "
        "RK4_RADIUS; rk4_labels(_grid_states({side}), RK4_STEP, near_sink(RK4_RADIUS))"
    ),
    "rk4_lobes": (
        "from benchmarks.bench_basins import rk4_labels, in_lobes, _grid_states, "
        "RK4_REGION_STEP; rk4_labels(_grid_states({side}), RK4_REGION_STEP, in_lobes)"
    ),
    "solve_ivp": (
        "import numpy as np; from benchmarks.bench_basins import solve_ivp_labels; "
        "s = np.random.default_rng(0).uniform(-2, 2, ({n_loop}, 2)); "
        "solve_ivp_labels(s, 1.01e-7, 1e-8, 1e-10)"
    ),
}


def cold(name: str, side: int, n_loop: int, *, fresh_cache: bool = False) -> float:
    """Wall time of a fresh Python process that imports what it needs and runs ``name`` once
    (with ``fresh_cache``, numba compiles from scratch: an empty cache folder)."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as cache:
        if fresh_cache:
            env["NUMBA_CACHE_DIR"] = cache
        code = _COLD[name].format(side=side, n_loop=n_loop)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)
        return time.perf_counter() - start


# ------------------------------------------------------------------ the parts
def _dask_scaling(side: int, serial: float) -> None:
    from distributed import Client, LocalCluster

    times = {}
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            dynsys_map(40, executor=client)  # imports and compiled code in every worker
            times[workers], _ = best_of(
                lambda c=client: dynsys_map(side, executor=c, chunk_size=CHUNK), 1
            )
            if workers == 2:
                load = client.run(lambda: os.getpid())
                print(f"   dask: 2 workers ran (pids {sorted(load.values())})")
    speedup = times[1] / times[2]
    print(
        f"   dask LocalCluster, threads_per_worker=1, {side}x{side} map in chunks of {CHUNK:,}: "
        "1 worker "
        f"{times[1]:.2f} s, 2 workers {times[2]:.2f} s; speed-up {speedup:.2f}, efficiency "
        f"per worker {speedup / 2:.2f} (the half-width map in process, 2 threads: {serial:.2f} s)"
    )


def main() -> None:
    side = int(os.environ.get("BENCH_BASINS_GRID", "400"))
    n_loop = int(os.environ.get("BENCH_BASINS_SOLVE_IVP", "200"))
    with_dask = os.environ.get("BENCH_BASINS_DASK", "1") != "0"
    print(f"   load average {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")

    dynsys_map(20)  # imports and compiled code loaded
    ours, ds = best_of(lambda: dynsys_map(side))
    labels = dynsys_labels(ds)
    states = _grid_states(side)
    arrival = float(ds.attrs["converge_tol_used"])
    print(
        f"   dynsys {side}x{side}: {ours:.2f} s warm ({side * side / ours:,.0f} orbits/s), "
        f"fractions {ds.fraction.values.round(4).tolist()}; "
        f"{float(ds.arrived_in_region.mean()):.1%} of the orbits stopped in a trapping region "
        f"(the energy lobes), the rest at |f| <= {arrival:.2e}; mean steps "
        f"{float(ds.n_steps.mean()):.1f}"
    )
    loose, loose_rtol = None, None
    for rtol in LOOSE_RTOLS:
        t, ds_loose = best_of(lambda r=rtol: dynsys_map(side, rtol=r, chunk_size=CHUNK))
        mismatches = int(np.count_nonzero(dynsys_labels(ds_loose) != labels))
        print(
            f"   dynsys {side}x{side} at rtol {rtol:g}, atol {rtol / 100:g}, chunks of {CHUNK:,} "
            f"orbits: {t:.2f} s warm; label mismatches against the default {mismatches} of "
            f"{side * side}; mean steps {float(ds_loose.n_steps.mean()):.1f}"
        )
        if mismatches == 0:
            loose, loose_rtol = t, rtol
            break
    if loose is None:  # no looser tolerance keeps the labels: the default stands for both
        from dynsys.integrate import FlowOptions

        loose, loose_rtol = ours, FlowOptions().rtol
    # (name, baseline and its settings, seconds for the whole grid, mismatches, orbits checked)
    rows = []
    t, before = best_of(lambda: dynsys_map(side, fast=False), 1)
    rows.append(
        (
            "before",
            "dynsys on the numpy path, stopping at |f| (no trapping regions, no compiled field)",
            t,
            int(np.count_nonzero(dynsys_labels(before) != labels)),
            side * side,
        )
    )
    t, lab = best_of(lambda: rk4_labels(states, RK4_STEP, near_sink(RK4_RADIUS)), 1)
    rows.append(
        (
            "rk4",
            f"numpy RK4 step {RK4_STEP}, stop within {RK4_RADIUS} of a sink",
            t,
            int(np.count_nonzero(lab != labels)),
            side * side,
        )
    )
    t, lab = best_of(lambda: rk4_labels(states, RK4_REGION_STEP, in_lobes), 1)
    rows.append(
        (
            "rk4_lobes",
            f"numpy RK4 step {RK4_REGION_STEP}, stop in the lobes (dynsys's stop rule)",
            t,
            int(np.count_nonzero(lab != labels)),
            side * side,
        )
    )
    pick = np.random.default_rng(0).choice(
        side * side, size=min(n_loop, side * side), replace=False
    )
    for rtol, atol in ((1e-8, 1e-10), (1e-6, 1e-9)):
        t, lab = best_of(
            lambda r=rtol, a=atol: solve_ivp_labels(states[pick], arrival, r, a),
            1,
        )
        rows.append(
            (
                f"solve_ivp_{rtol:g}",
                (
                    f"solve_ivp RK45 loop rtol {rtol:g} atol {atol:g}, terminal event at "
                    f"dynsys's stop rule ({len(pick)} random grid points, time scaled to the grid)"
                ),
                t * side * side / len(pick),
                int(np.count_nonzero(lab != labels[pick])),
                len(pick),
            )
        )
    for _, what, t, mismatches, checked in rows:
        print(
            f"   vs {what}: {t:.2f} s, ratio {t / ours:.1f}x (dynsys at rtol {loose_rtol:g} in "
            f"chunks of {CHUNK:,}: {t / loose:.1f}x); label mismatches {mismatches} of {checked}"
        )

    cold_ours = cold("dynsys", side, n_loop)
    compiling = cold("dynsys", side, n_loop, fresh_cache=True)
    print(
        f"   cold (a fresh process, imports included): dynsys {cold_ours:.2f} s, "
        f"{compiling:.2f} s with an empty numba cache (compilation included)"
    )
    for name, what in (("rk4", "RK4 near a sink"), ("rk4_lobes", "RK4 in the lobes")):
        theirs = cold(name, side, n_loop)
        print(
            f"   cold {what}: {theirs:.2f} s, ratio {theirs / cold_ours:.1f}x "
            f"({theirs / compiling:.1f}x against dynsys compiling)"
        )
    theirs = cold("solve_ivp", side, n_loop)
    ratio = (side * side / cold_ours) / (n_loop / theirs)
    print(
        f"   cold solve_ivp loop (rtol 1e-8, {n_loop} orbits): {theirs:.2f} s; orbits/s ratio "
        f"{ratio:.0f}x ({(side * side / compiling) / (n_loop / theirs):.0f}x against dynsys "
        "compiling)"
    )
    if with_dask:  # a map twice as wide: the work of one map in process is now under a second
        _dask_scaling(2 * side, ours)


if __name__ == "__main__":
    main()
