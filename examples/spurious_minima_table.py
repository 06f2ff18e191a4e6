"""How often gradient descent on a two-layer ReLU network ends at a spurious local minimum:
the table for K = K* = d = 6 ... 20, and for one extra student unit (K = K* + 1).

Protocol (after Safran and Shamir 2018): teacher ``W* = I_d`` (``K* = d`` orthonormal units),
all second-layer weights one and not trained, initial entries of ``W`` drawn from ``N(0, 1/d)``
(:class:`dynsys.basins.NetworkInit` with ``fan_in = d``), plain gradient descent on the population
loss ``J = 1/2 E[(g - g*)^2]`` (Tian's closed form, :func:`dynsys.models.relu.teacher_student`)
with the fixed step 0.1, stopped when ``max_j |dJ/dw_j| <= 1e-9/(2 pi)``
(``FlowOptions(converge_block=d)``: the largest Euclidean norm of one unit's gradient); a run is
spurious when ``J >= 1e-3`` at the end. 1,000 runs per ``K``.

Each row of the table is one :func:`dynsys.models.relu.descent_runs` call: every run in a
compiled loop, runs spread over two threads, and certified early termination: once a run's iterate
lies in a ball around a Newton-refined minimum on which the descent map provably contracts, the run
is stopped with that minimum as its end (status ``certified``; the certificate and the iteration it
was issued at are in the dataset). Its verdict is then that of the full protocol: the full run
would stop within ``1e-9/(2 pi) / mu`` of the same minimum (tests/test_relu_descent_runs.py checks
this run by run against uncertified runs). End points are matched up to permutations of hidden
units and of input coordinates (for the identity teacher ``W -> P W Q^T`` leaves the loss
unchanged), so that each distinct minimum is one family. The fraction of spurious runs comes with
its Wilson 95% interval. Every distinct spurious minimum is checked from the closed forms:
``max_j |dJ/dw_j|`` at the end point, its loss, and the Hessian
(:func:`dynsys.models.relu.hessian`): it is a verified minimum when the smallest eigenvalue is
positive (for ``K = K* + 1``, spurious minima can lie on manifolds of critical points, where some
eigenvalues vanish; those are reported with their nullity and the smallest non-zero eigenvalue).
Minima on one manifold are counted as one (same loss to 1e-7, relative).

With an extra unit the global minimum is no longer isolated: the teacher is realised by splitting
one teacher unit into two parallel student units, ``relu(s w.x) + relu((1 - s) w.x) = relu(w.x)``
for ``s`` in ``[0, 1]`` (``a = 1`` is fixed), a segment of zero-loss minima. Across it the loss
grows only like the cube of the angle between the two parts, so descent approaches it
algebraically: reaching ``max_j |dJ/dw_j| <= 1e-9/(2 pi)`` takes 5e5 to 1e6 iterations per run
(measured at ``d = 6``), out of reach for 15,000 runs. The ``K* + 1`` table therefore stops each
run after ``EXTRA_CAP`` iterations and classifies it by its loss then, which decides the
protocol's outcome exactly for every run below ``1e-3``: gradient descent with step 0.1 never
increases ``J`` here (checked per run, ``J_end <= J_0``), so such a run cannot end at
``J >= 1e-3``. Runs still at ``J >= 1e-3`` are continued up to ``EXTRA_CAP_LONG`` iterations or
convergence; those still undecided then are reported as such. Distinct spurious minima of this
table are grouped by loss (relative ``1e-6``) and their representatives checked as above.

Run ``python examples/spurious_minima_table.py [--out DIR] [--quick] [--extra] [--runs N]
[--k K ...] [--run-dir DIR]`` (``--extra`` adds the ``K* + 1`` table; ``--run-dir`` keeps each
finished row, written atomically, so an interrupted run resumes at the next row).

References
----------
I. Safran and O. Shamir, Spurious local minima are common in two-layer ReLU neural networks,
ICML 2018.
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import xarray as xr
from _common import new_figure, save_outputs
from matplotlib.figure import Figure

from dynsys import Status
from dynsys.basins import wilson_interval
from dynsys.io import load, save
from dynsys.models.relu import descent_runs, gradient, hessian, loss

STEP = 0.1
GRADIENT_TOL = 1e-9 / (2 * np.pi)  # the protocol's threshold on max_j |dJ/dw_j|
SPURIOUS_LOSS = 1e-3
ZERO_TOL = 1e-7  # Hessian eigenvalues below ZERO_TOL * max |eigenvalue| count as zero
SAME_LOSS = 1e-7  # degenerate minima with losses this close (relative) are one manifold
MATCH_TOL = 1e-4  # end points within this (relative) of a group image are one minimum
WORKERS = 2  # threads
RNG_SEED = 2017
SIZES = {
    "default": {"ks": tuple(range(6, 21)), "runs": 1000, "extras": (0,)},
    "extra": {"ks": tuple(range(6, 21)), "runs": 1000, "extras": (0, 1)},
    "quick": {"ks": (6, 8), "runs": 16, "extras": (0, 1)},
}
EXTRA_CAP = 10_000  # iterations of the K* + 1 runs ...
EXTRA_CAP_LONG = 300_000  # ... and of those still at J >= 1e-3 after EXTRA_CAP
SAME_SPURIOUS = 1e-6  # K* + 1: spurious end points with losses this close are one minimum


def initial_networks(d: int, extra: int, runs: int) -> np.ndarray:
    """``runs`` first layers ``(K, d)``, ``K = d + extra``, entries ``N(0, 1/d)``; one seed per
    row of the table."""
    rng = np.random.default_rng(RNG_SEED * 1000 + 10 * d + extra)
    return rng.normal(size=(runs, d + extra, d)) / np.sqrt(d)


def protocol_runs(
    d: int, extra: int, runs: int, *, workers: int = WORKERS, progress: bool = False
) -> xr.Dataset:
    """The protocol's runs for ``K* = d`` and ``K = d + extra`` student units.

    Returns the :func:`~dynsys.models.relu.descent_runs` Dataset with ``loss_initial(run)``,
    ``spurious(run)`` and ``undecided(run)`` added (for ``extra > 0`` see the module notes:
    capped runs, classified by their loss).
    """
    W0 = initial_networks(d, extra, runs)
    common = {"step": STEP, "gradient_tol": GRADIENT_TOL, "workers": workers}
    ds = descent_runs(
        W0, np.eye(d), max_steps=EXTRA_CAP if extra else 2_000_000, progress=progress, **common
    )
    if extra:
        _continue_high_loss(ds, d, common)
    K = d + extra
    J = ds["loss_final"].values
    J0 = loss(W0.reshape(-1, K, d), np.eye(d))
    done = np.isin(ds["status"].values, [Status.CONVERGED, Status.CERTIFIED])
    high = J >= SPURIOUS_LOSS
    ds["loss_initial"] = ("run", J0, {"long_name": "population loss J at the start"})
    # the protocol's outcome: ended (converged or certified) with J >= 1e-3; a capped run below
    # 1e-3 cannot end above it (J does not increase along the descent), a capped one above it is
    # undecided
    ds["spurious"] = ("run", done & high, {"long_name": f"ends with J >= {SPURIOUS_LOSS}"})
    ds["undecided"] = (
        "run",
        ~done & high,
        {"long_name": f"stopped before converging with J >= {SPURIOUS_LOSS}"},
    )
    return ds


def _continue_high_loss(ds: xr.Dataset, d: int, common: dict) -> None:
    """Continue the capped runs still at ``J >= 1e-3`` up to ``EXTRA_CAP_LONG`` iterations (in
    place: ``w_final``, ``w_limit``, ``status``, ``iterations``, ``loss_final``)."""
    rows = np.flatnonzero(
        (ds["status"].values == Status.MAX_STEPS) & (ds["loss_final"].values >= SPURIOUS_LOSS)
    )
    if rows.size == 0:
        return
    again = descent_runs(
        ds["w_final"].values[rows], np.eye(d), max_steps=EXTRA_CAP_LONG - EXTRA_CAP, **common
    )
    for name in ("w_final", "w_limit", "status", "loss_final"):
        ds[name].values[rows] = again[name].values
    ds["iterations"].values[rows] += again["iterations"].values


def check_minimum(x, d: int, K: int) -> dict:
    """Loss, ``max_j |dJ/dw_j|``, smallest (non-zero) Hessian eigenvalue, index and nullity at a
    state, from the closed forms."""
    W = np.asarray(x, dtype=float).reshape(K, d)
    grad = gradient(W, np.eye(d)).reshape(K, d)
    eig = np.linalg.eigvalsh(hessian(W, np.eye(d)))
    zero = np.abs(eig) <= ZERO_TOL * np.abs(eig).max()
    return {
        "loss": float(loss(W, np.eye(d))),
        "gradient": float(np.linalg.norm(grad, axis=1).max()),
        "hessian_min": float(eig[0]),
        "hessian_min_nonzero": float(eig[~zero & (eig > 0)][0]),
        "hessian_max": float(eig[-1]),
        "index": int(np.sum((eig < 0) & ~zero)),
        "nullity": int(np.sum(zero)),
    }


def spurious_minima(ds: xr.Dataset, d: int, extra: int) -> list[dict]:
    """The distinct spurious minima of one table row, checked from the closed forms; sorted by
    loss.

    For ``K = K*`` they are the attractor rows reached by spurious runs (distinct up to unit and
    input permutations); for ``K* + 1`` the spurious end points grouped by loss (module notes).
    Degenerate minima (nullity > 0) with equal losses are merged into one manifold.
    """
    K = d + extra
    spurious = ds["spurious"].values
    if extra == 0:
        labels = ds["label"].values
        groups = [
            (ds["family_w"].values[f], spurious & (labels == f))
            for f in np.unique(labels[spurious])
        ]
    else:
        groups = []
        rows = np.flatnonzero(spurious)
        J = ds["loss_final"].values
        for k in rows[np.argsort(J[rows])]:
            if groups and abs(J[k] - groups[-1][2]) <= SAME_SPURIOUS * J[k]:
                groups[-1][1][k] = True
            else:
                members = np.zeros(spurious.size, dtype=bool)
                members[k] = True
                groups.append([ds["w_limit"].values[k], members, J[k]])
    found: list[dict] = []
    for x, members, *_ in groups:
        chk = check_minimum(x, d, K)
        chk["runs"] = int(members.sum())
        chk["members"] = 1
        same = [
            f
            for f in found
            if f["nullity"] > 0
            and chk["nullity"] > 0
            and abs(f["loss"] - chk["loss"]) <= SAME_LOSS * chk["loss"]
        ]
        if same:
            same[0]["runs"] += chk["runs"]
            same[0]["members"] += 1
        else:
            found.append(chk)
    return sorted(found, key=lambda f: f["loss"])


def _row(d: int, e: int, runs: int, run_dir, workers: int, progress: bool) -> xr.Dataset:
    """One row's runs, read from ``run_dir`` when an earlier call finished it (written
    atomically with :func:`dynsys.io.save`, so a file there is always whole)."""
    path = None if run_dir is None else Path(run_dir) / f"d{d}_extra{e}_runs{runs}.nc"
    if path is not None and path.exists():
        return load(path)
    ds = protocol_runs(d, e, runs, workers=workers, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        save(ds, path)
    return ds


def table(
    ks, runs: int, *, extras=(0, 1), run_dir=None, progress: bool = False, workers: int = WORKERS
):
    """The tables for ``K = K* + extra`` (``extra`` in ``extras``) and ``K* = d`` in ``ks``.

    Returns ``(summary, minima, seconds)``: a Dataset over ``(extra, d)`` with counts, fractions,
    Wilson intervals, distinct minima and wall times; a Dataset over ``minimum`` with the
    distinct spurious minima; the total wall time.
    """
    ks, extras = list(ks), list(extras)
    shape = (len(extras), len(ks))
    count = np.zeros(shape, dtype=np.int64)
    not_converged = np.zeros(shape, dtype=np.int64)
    undecided = np.zeros(shape, dtype=np.int64)
    increased = np.zeros(shape, dtype=np.int64)
    distinct = np.zeros(shape, dtype=np.int64)
    seconds = np.zeros(shape)
    steps = np.zeros(shape)
    rows: list[dict] = []
    total = time.perf_counter()
    certified = np.zeros(shape, dtype=np.int64)
    ended = [Status.CONVERGED, Status.CERTIFIED]
    for j, e in enumerate(extras):
        for i, d in enumerate(ks):
            start = time.perf_counter()
            ds = _row(d, e, runs, run_dir, workers, progress)
            found = spurious_minima(ds, d, e)
            seconds[j, i] = time.perf_counter() - start
            count[j, i] = int(ds["spurious"].sum())
            not_converged[j, i] = int(np.sum(~np.isin(ds["status"].values, ended)))
            certified[j, i] = int(np.sum(ds["status"].values == Status.CERTIFIED))
            undecided[j, i] = int(ds["undecided"].sum())
            increased[j, i] = int(np.sum(ds["loss_final"].values > ds["loss_initial"].values))
            distinct[j, i] = len(found)
            steps[j, i] = float(ds["iterations"].mean())
            rows += [{"d": d, "extra": e, **f} for f in found]
            print(
                f"  K* = {d}, K = {d + e}: {count[j, i]} of {runs} spurious, "
                f"{len(found)} distinct, {certified[j, i]} certified, {seconds[j, i]:.1f} s",
                flush=True,
            )
    elapsed = time.perf_counter() - total
    low, high = wilson_interval(count, runs)
    dims = ("extra", "d")
    summary = xr.Dataset(
        {
            "spurious_runs": (dims, count, {"long_name": f"runs ending with J >= {SPURIOUS_LOSS}"}),
            "fraction": (dims, count / runs, {"long_name": "fraction of spurious runs"}),
            "ci_low": (dims, low, {"long_name": "Wilson 95% interval, lower"}),
            "ci_high": (dims, high, {"long_name": "Wilson 95% interval, upper"}),
            "not_converged": (dims, not_converged, {"long_name": "runs that did not converge"}),
            "undecided": (dims, undecided, {"long_name": "not converged, still at J >= 1e-3"}),
            "loss_increased": (dims, increased, {"long_name": "runs that ended above J(W0)"}),
            "distinct_minima": (dims, distinct, {"long_name": "distinct spurious minima"}),
            "certified": (dims, certified, {"long_name": "runs ended by a certificate"}),
            "mean_iterations": (dims, steps, {"long_name": "iterations per run, mean"}),
            "seconds": (dims, seconds, {"long_name": "wall time of the row"}),
        },
        coords={"extra": extras, "d": ks},
        attrs={
            "runs": runs,
            "step": STEP,
            "gradient_tol": GRADIENT_TOL,
            "spurious_loss": SPURIOUS_LOSS,
            "seconds_total": elapsed,
            "description": "K* = d, teacher I, K = d + extra student units, a = 1 fixed",
        },
    )
    keys = ("d", "extra", "loss", "gradient", "hessian_min", "hessian_min_nonzero")
    keys += ("hessian_max", "index", "nullity", "runs", "members")
    minima = xr.Dataset(
        {k: ("minimum", np.array([r[k] for r in rows])) for k in keys},
        attrs={"description": "distinct spurious minima up to unit and input permutations"},
    )
    return summary, minima, elapsed


def report(summary: xr.Dataset, minima: xr.Dataset) -> str:
    """The printed tables."""
    runs = summary.attrs["runs"]
    lines = [
        (
            "Spurious minima of gradient descent: teacher I_d, K* = d, a = 1 fixed, "
            f"W0 ~ N(0, 1/d), step {STEP}, stop at max_j |dJ/dw_j| <= 1e-9/(2 pi), spurious if "
            f"J >= {SPURIOUS_LOSS}; {runs} runs per row"
        )
    ]
    for e in summary["extra"].values:
        lines.append(f"\nK = K* + {e}:" if e else "\nK = K* = d:")
        lines.append(
            "    d  spurious  fraction  Wilson 95%          distinct  certified  not conv.  "
            "undecided  time"
        )
        for d in summary["d"].values:
            r = summary.sel(extra=e, d=d)
            lines.append(
                f"  {d:3d}  {int(r.spurious_runs):8d}  {float(r.fraction):8.3f}  "
                f"[{float(r.ci_low):.3f}, {float(r.ci_high):.3f}]  {int(r.distinct_minima):8d}  "
                f"{int(r.certified):9d}  {int(r.not_converged):9d}  {int(r.undecided):9d}  "
                f"{float(r.seconds):5.1f} s"
            )
    lines.append("\nDistinct spurious minima (loss, max_j |dJ/dw_j|, smallest Hessian eigenvalue):")
    for e in summary["extra"].values:
        for d in summary["d"].values:
            sel = (minima["d"].values == d) & (minima["extra"].values == e)
            if not sel.any():
                continue
            parts = []
            for k in np.flatnonzero(sel):
                m = minima.isel(minimum=k)
                tag = f" nullity {int(m.nullity)}" if int(m.nullity) else ""
                parts.append(
                    f"J={float(m.loss):.6f} g={float(m.gradient):.0e} "
                    f"lmin={float(m.hessian_min_nonzero):.2e}{tag} ({int(m.runs)} runs)"
                )
            shown = parts[:6] + ([f"... {len(parts) - 6} more"] if len(parts) > 6 else [])
            lines.append(f"  K* = {d}, K = {d + e}: " + "; ".join(shown))
    if "extra" in summary.dims and 1 in summary["extra"].values:
        r = summary.sel(extra=1)
        lines.append(
            f"\nK* + 1: runs stopped after {EXTRA_CAP} iterations unless converged (those at "
            f"J >= {SPURIOUS_LOSS} continued to {EXTRA_CAP_LONG}); runs that ended above their "
            f"initial loss: {int(r.loss_increased.sum())}"
        )
    for e in summary["extra"].values:
        seconds = float(summary.seconds.sel(extra=e).sum())
        lines.append(f"wall time, K = K* + {e} table: {seconds:.1f} s")
    lines.append(f"wall time in all: {summary.attrs['seconds_total']:.1f} s")
    return "\n".join(lines)


def draw(summary: xr.Dataset, minima: xr.Dataset) -> Figure:
    """Spurious fraction against ``K*`` with intervals (both tables), and the losses of the
    distinct spurious minima."""
    fig = new_figure((11, 4.5))
    ax_frac, ax_loss = fig.subplots(1, 2)
    d = summary["d"].values
    for e in summary["extra"].values:
        colour = "#c0392b" if e == 0 else "#2c3e50"
        r = summary.sel(extra=e)
        f = r.fraction.values
        err = np.stack([f - r.ci_low.values, r.ci_high.values - f])
        ax_frac.errorbar(
            d + 0.1 * e,
            f,
            yerr=err,
            fmt="o-",
            color=colour,
            capsize=3,
            label="K = K*" if e == 0 else "K = K* + 1",
        )
        sel = minima["extra"].values == e
        ax_loss.scatter(
            minima["d"].values[sel] + 0.1 * e,
            minima["loss"].values[sel],
            s=12,
            color=colour,
            alpha=0.6,
            label="K = K*" if e == 0 else "K = K* + 1",
        )
    ax_frac.set(
        xlabel="K* = d",
        ylabel="fraction of runs at a spurious minimum",
        title=f"{summary.attrs['runs']} runs per point, Wilson 95% intervals",
    )
    ax_frac.legend()
    ax_loss.set(
        xlabel="K* = d",
        ylabel="loss J",
        yscale="log",
        title="distinct spurious minima (up to permutations)",
    )
    ax_loss.legend()
    return fig


def main(
    out_dir: str | Path = "out/spurious_minima_table",
    *,
    quick: bool = False,
    extra: bool = False,
    runs: int | None = None,
    ks=None,
    run_dir=None,
    progress: bool = False,
) -> dict[str, Path]:
    """Run both tables, save them (netCDF) and the figure, print the report.

    Parameters
    ----------
    out_dir : str or Path
        Output directory (created if needed).
    quick : bool
        Two sizes and 16 runs each, both tables (seconds), instead of 6..20 with 1,000 runs.
    extra : bool
        Also the table for one extra student unit, ``K = K* + 1``. Measured on two cores: 251 s
        for the ``K = K*`` table, 973 s more for the ``K* + 1`` table (its runs near the
        degenerate global minimum use the whole iteration cap).
    runs : int, optional
        Runs per row, overriding the size.
    ks : sequence of int, optional
        The values of ``K* = d``, overriding the size.
    run_dir : str or Path, optional
        Folder for finished rows (resume an interrupted run).
    progress : bool
        Progress bars.

    Returns
    -------
    dict of Path
        ``table``, ``minima`` (netCDF) and ``figure``.
    """
    size = SIZES["quick" if quick else "extra" if extra else "default"]
    runs = size["runs"] if runs is None else int(runs)
    ks = size["ks"] if ks is None else tuple(int(k) for k in ks)
    summary, minima, _ = table(ks, runs, extras=size["extras"], run_dir=run_dir, progress=progress)
    print(report(summary, minima))
    return save_outputs(
        out_dir,
        {"table": ("spurious_table.nc", summary), "minima": ("spurious_minima.nc", minima)},
        {"figure": ("spurious_table.png", draw(summary, minima))},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/spurious_minima_table")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--extra", action="store_true", help="also the K = K* + 1 table")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--k", type=int, nargs="+", help="values of K* = d")
    parser.add_argument("--run-dir", help="keep finished rows here (resumable)")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    main(
        args.out,
        quick=args.quick,
        extra=args.extra,
        runs=args.runs,
        ks=args.k,
        run_dir=args.run_dir,
        progress=args.progress,
    )
