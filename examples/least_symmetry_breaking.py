"""The least-symmetry-breaking claim, measured: the isotropy of every spurious minimum that
gradient descent finds on the two-layer ReLU network, ``K = K* = d = k``, k = 6 ... 12.

Arjevani and Field observe that the spurious minima of this loss break the symmetry of the
global minimum as little as possible: for the identity teacher the loss is invariant under
``W -> P W Q^T`` (``S_k x S_k``), the global minimum ``W = I`` has isotropy ``Δ S_k`` (the
diagonal, ``P = Q``), and the spurious minima they find have isotropy ``Δ(S_{k-1} x S_1)``, a
maximal subgroup of it. Here that is counted rather than assumed.

Protocol (the one of ``spurious_minima_table.py``, after Safran and Shamir 2018): teacher
``I_d``, all second-layer weights one and not trained, ``W0 ~ N(0, 1/d)``, plain gradient descent
with step 0.1 until ``max_j |dJ/dw_j| <= 1e-9/(2 pi)``, spurious when ``J >= 1e-3`` at the end
(:func:`dynsys.basins.basin_probabilities`, end points matched up to unit and input permutations,
so each distinct minimum is one attractor row). Each distinct spurious end point is
Newton-refined on the closed-form gradient and Hessian (:func:`dynsys.models.relu.gradient`,
:func:`~dynsys.models.relu.hessian`) and its isotropy computed
(:func:`dynsys.symmetry.isotropy` in :class:`~dynsys.symmetry.UnitInputSymmetry`). The table
gives per ``k``: runs ending spurious, distinct spurious minima, their isotropy types, how many
are of the largest isotropy type found and whether that type is ``Δ(S_{k-1} x S_1)``.

Measured (200 runs per k, k = 6..12, about 2.5 minutes on two cores): 0, 6, 30, 41, 60, 82, 110
runs spurious; 0, 1, 2, 2, 2, 3, 5 distinct spurious minima, every one a strict minimum (smallest
Hessian eigenvalue > 0, gradient ~1e-16 after Newton) with isotropy ``Δ(S_{k-p} x S_p)``; for
every k >= 7 the largest isotropy type found is ``Δ(S_{k-1} x S_1)``, one minimum, reached by
6/6, 29/30, 39/41, 51/60, 62/82, 81/110 of the spurious runs (the share falls with k as
``Δ(S_{k-2} x S_2)`` and smaller types appear).

Run ``python examples/least_symmetry_breaking.py [--out DIR] [--quick] [--runs N] [--k K ...]``.

References
----------
Y. Arjevani and M. Field, Analytic characterization of the Hessian in shallow ReLU models: a tale
of symmetry, NeurIPS 2020 (and their symmetry-breaking papers).
I. Safran and O. Shamir, Spurious local minima are common in two-layer ReLU neural networks,
ICML 2018.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import xarray as xr
from _common import new_figure, save_outputs
from matplotlib.figure import Figure

from dynsys import Status
from dynsys.basins import BasinOptions, FlowOptions, NetworkInit, basin_probabilities
from dynsys.models.relu import gradient, hessian, loss, teacher_student
from dynsys.symmetry import UnitInputSymmetry, isotropy

STEP = 0.1
GRADIENT_TOL = 1e-9 / (2 * np.pi)
SPURIOUS_LOSS = 1e-3
MATCH_TOL = 1e-4
ISOTROPY_TOL = 1e-7  # relative; refined minima are accurate to ~1e-13
RNG_SEED = 13
SIZES = {"default": {"ks": tuple(range(6, 13)), "runs": 200}, "quick": {"ks": (8,), "runs": 16}}


def descent_options(d: int) -> FlowOptions:
    """Gradient descent with step 0.1, stopped at ``max_j |dJ/dw_j| <= 1e-9/(2 pi)``."""
    return FlowOptions(
        method="gradient_descent",
        learning_rate=STEP,
        converge_tol=GRADIENT_TOL,
        converge_block=d,
        t_max=np.inf,
        max_steps=2_000_000,
    )


def newton_refine(x, k: int, iterations: int = 20) -> tuple[np.ndarray, float]:
    """Newton's method on ``grad J = 0`` from a descent end point (closed-form gradient and
    Hessian); returns the refined state and ``max_j |dJ/dw_j|`` there."""
    W = np.asarray(x, dtype=float).reshape(k, k).copy()
    teacher = np.eye(k)
    for _ in range(iterations):
        g = gradient(W, teacher).ravel()
        if np.linalg.norm(g.reshape(k, k), axis=1).max() < 1e-15:
            break
        W = W - np.linalg.solve(hessian(W, teacher), g).reshape(k, k)
    g = gradient(W, teacher).reshape(k, k)
    return W.ravel(), float(np.linalg.norm(g, axis=1).max())


def largest_claim(k: int) -> str:
    """The name of the isotropy type of the least-symmetry-breaking claim."""
    return f"Δ(S_{k - 1} x S_1)"


def measure(k: int, runs: int, *, executor=None) -> tuple[dict, list[dict]]:
    """The protocol at ``K = d = k``: the row of the table and the distinct spurious minima."""
    group = UnitInputSymmetry(k, k)
    ds = basin_probabilities(
        teacher_student(np.eye(k)),
        NetworkInit(fan_in=k),
        runs,
        seed=RNG_SEED * 1000 + k,
        options=BasinOptions(
            flow=descent_options(k), match_tol=MATCH_TOL, keep_states=True, workers=2
        ),
        symmetry=group,
        reference=np.eye(k).ravel(),
        executor=executor,
    )
    J = loss(ds["x_final"].values.reshape(-1, k, k), np.eye(k))
    spurious = (ds["status"].values == Status.CONVERGED) & (J >= SPURIOUS_LOSS)
    labels = ds["label"].values
    minima = []
    for a in np.unique(labels[spurious]):
        x, grad = newton_refine(ds["attractor_x"].values[a], k)
        H = isotropy(group, x, tol=ISOTROPY_TOL)
        eig = np.linalg.eigvalsh(hessian(x.reshape(k, k), np.eye(k)))
        minima.append(
            {
                "k": k,
                "loss": float(loss(x.reshape(k, k), np.eye(k))),
                "gradient": grad,
                "hessian_min": float(eig[0]),
                "isotropy_name": H.name,
                "isotropy_order": int(H.order),
                "runs": int(np.sum(spurious & (labels == a))),
            }
        )
    for m in minima:  # each a strict local minimum, found to rounding
        assert m["gradient"] < 1e-10 and m["hessian_min"] > 0, m
    minima.sort(key=lambda m: (-m["isotropy_order"], m["loss"]))
    orders = [m["isotropy_order"] for m in minima]
    top = max(orders, default=0)
    top_names = sorted({m["isotropy_name"] for m in minima if m["isotropy_order"] == top})
    row = {
        "k": k,
        "runs": runs,
        "spurious_runs": int(spurious.sum()),
        "distinct_minima": len(minima),
        "largest_order": top,
        "largest_names": ", ".join(top_names),
        "minima_of_largest_type": sum(o == top for o in orders) if minima else 0,
        "runs_at_largest_type": sum(m["runs"] for m in minima if m["isotropy_order"] == top),
        "largest_is_claim": bool(minima) and top_names == [largest_claim(k)],
        "types": ", ".join(
            f"{name} x{count}"
            for name, count in Counter(m["isotropy_name"] for m in minima).most_common()
        ),
    }
    return row, minima


def table(ks, runs: int, *, executor=None) -> tuple[xr.Dataset, xr.Dataset]:
    """The summary over ``k`` and the distinct spurious minima, as Datasets."""
    rows, found = [], []
    for k in ks:
        start = time.perf_counter()
        row, minima = measure(k, runs, executor=executor)
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        found += minima
        print(
            f"  k = {k}: {row['spurious_runs']} of {runs} spurious, {row['distinct_minima']} "
            f"distinct, {row['seconds']:.1f} s",
            flush=True,
        )
    keys = [key for key in rows[0] if key != "k"]
    summary = xr.Dataset(
        {key: ("k", np.array([r[key] for r in rows])) for key in keys},
        coords={"k": [r["k"] for r in rows]},
        attrs={
            "step": STEP,
            "gradient_tol": GRADIENT_TOL,
            "spurious_loss": SPURIOUS_LOSS,
            "description": "isotropy of the spurious minima of gradient descent, K = d = k, "
            "teacher I, a = 1 fixed",
        },
    )
    mkeys = ("k", "loss", "gradient", "hessian_min", "isotropy_name", "isotropy_order", "runs")
    minima = xr.Dataset(
        {key: ("minimum", np.array([m[key] for m in found])) for key in mkeys}
        if found
        else {key: ("minimum", np.array([])) for key in mkeys},
        attrs={"description": "distinct spurious minima up to unit and input permutations"},
    )
    return summary, minima


def report(summary: xr.Dataset) -> str:
    """The printed table."""
    lines = [
        (
            "Isotropy of the spurious minima of gradient descent (teacher I_k, K = d = k, step "
            f"{STEP}, W0 ~ N(0, 1/k), spurious if J >= {SPURIOUS_LOSS}; Newton-refined)"
        ),
        (
            "   k  runs  spurious  distinct  largest type (order)             of it (runs)  "
            "= Δ(S_{k-1} x S_1)?  all types"
        ),
    ]
    for k in summary["k"].values:
        r = summary.sel(k=k)
        largest = (
            f"{r.largest_names.values!s} ({int(r.largest_order)})"
            if int(r.distinct_minima)
            else "-"
        )
        lines.append(
            f"  {k:2d}  {int(r.runs):4d}  {int(r.spurious_runs):8d}  {int(r.distinct_minima):8d}"
            f"  {largest:32s} {int(r.minima_of_largest_type):4d} ({int(r.runs_at_largest_type):4d})"
            f"  {'yes' if bool(r.largest_is_claim) else 'no':>18s}  {r.types.values!s}"
        )
    return "\n".join(lines)


def draw(summary: xr.Dataset, minima: xr.Dataset) -> Figure:
    """Losses of the distinct spurious minima against ``k``, coloured by isotropy order
    relative to ``(k-1)!`` (the order of ``Δ(S_{k-1} x S_1)``), and the runs per type."""
    fig = new_figure((11, 4.5))
    ax_loss, ax_runs = fig.subplots(1, 2)
    if minima.sizes.get("minimum", 0):
        k = minima["k"].values.astype(int)
        claim = np.array([np.prod(np.arange(1, kk, dtype=float)) for kk in k])
        ratio = minima["isotropy_order"].values / claim
        sc = ax_loss.scatter(k, minima["loss"].values, c=np.log2(ratio), cmap="viridis", s=18)
        fig.colorbar(sc, ax=ax_loss, label="log2(|isotropy| / (k-1)!)")
    ax_loss.set(xlabel="k = K = d", ylabel="loss J", yscale="log", title="distinct spurious minima")
    ks = summary["k"].values
    ax_runs.bar(ks - 0.2, summary["spurious_runs"].values, width=0.4, label="spurious runs")
    ax_runs.bar(
        ks + 0.2, summary["runs_at_largest_type"].values, width=0.4, label="... at largest type"
    )
    ax_runs.set(xlabel="k = K = d", ylabel="runs", title="runs ending at a spurious minimum")
    ax_runs.legend()
    return fig


def main(
    out_dir: str | Path = "out/least_symmetry_breaking",
    *,
    quick: bool = False,
    runs: int | None = None,
    ks=None,
) -> dict[str, Path]:
    """Run the protocol for each ``k``, print the table, save it (netCDF) and the figure.

    Parameters
    ----------
    out_dir : str or Path
        Output directory.
    quick : bool
        ``k = 8`` only with 16 runs (seconds) instead of ``k = 6..12`` with 200 runs each.
    runs : int, optional
        Runs per ``k``, overriding the size.
    ks : sequence of int, optional
        The values of ``k``, overriding the size.

    Returns
    -------
    dict of Path
        ``table``, ``minima`` (netCDF) and ``figure``.
    """
    size = SIZES["quick" if quick else "default"]
    runs = size["runs"] if runs is None else int(runs)
    ks = size["ks"] if ks is None else tuple(int(k) for k in ks)
    summary, minima = table(ks, runs, executor=None if quick else "processes")
    print(report(summary))
    return save_outputs(
        out_dir,
        {
            "table": ("least_symmetry_breaking.nc", summary),
            "minima": ("isotropy_minima.nc", minima),
        },
        {"figure": ("least_symmetry_breaking.png", draw(summary, minima))},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/least_symmetry_breaking")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--k", type=int, nargs="+", help="values of k = K = d")
    args = parser.parse_args()
    main(args.out, quick=args.quick, runs=args.runs, ks=args.k)
