"""Tian's symmetric saddle of Theorem 7, continued in the number of units K as a real parameter.

Teacher: ``K`` orthonormal units, all second-layer weights 1. On the symmetric subspace
``w_j = x e_j + y sum_{i != j} e_i`` the gradient flow is a 2-D system whose coefficients are
analytic in ``K`` (:func:`dynsys.models.reduced.theorem7`), so ``K`` can be continued like any
real parameter. Theorem 7 puts a saddle on the diagonal at

    ``x = y = (sqrt(K - 1) - arccos(1/sqrt(K)) + pi) / (pi K)``.

Here that saddle is followed by pseudo-arclength continuation from ``K = 2`` up to ``K = 50`` and
down to ``K = 1.5`` (below 2 the formulas have no network behind them but stay analytic), and
every point is compared with the closed form. The teacher ``(1, 0)`` is continued too, for the
picture. The run reports the special points the continuation finds on either branch (fold,
branch point, index change): whether anything happens to the saddle along the way.

Run ``python examples/theorem7_continuation_in_K.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Theorem 7).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from dynsys import NewtonOptions, status_names
from dynsys.continuation import ContinuationOptions, continue_branch
from dynsys.io import atomic_write_path, save
from dynsys.models.reduced import theorem7, theorem7_saddle
from phase.bifurcation import draw_diagram

K_START, K_MIN, K_MAX = 2.0, 1.5, 50.0
TOLERANCE = 1e-9  # the continued saddle must match the closed form this well at every point


def options(*, quick: bool = False) -> ContinuationOptions:
    """Steps and bounds: ``K`` in ``[1.5, 50]``; larger steps when ``quick``."""
    return ContinuationOptions(
        ds=0.01,
        ds_max=2.0 if quick else 0.5,
        p_min=K_MIN,
        p_max=K_MAX,
        newton=NewtonOptions(step_tol=1e-12, max_iter=8),
    )


def continue_saddle(*, quick: bool = False) -> xr.Dataset:
    """The symmetric saddle continued in ``K`` from ``K = 2`` both ways."""
    s = theorem7_saddle(K_START)
    return continue_branch(theorem7(K_START), [s, s], "K", options=options(quick=quick))


def continue_teacher(*, quick: bool = False) -> xr.Dataset:
    """The teacher ``(x, y) = (1, 0)`` (a sink for every ``K``) continued the same way."""
    return continue_branch(theorem7(K_START), [1.0, 0.0], "K", options=options(quick=quick))


def closed_form_error(branch: xr.Dataset) -> float:
    """Largest deviation of ``x`` and ``y`` along the branch from Tian's closed form."""
    K = branch["param"].values
    return float(np.abs(branch["x"].values - theorem7_saddle(K)[:, None]).max())


def describe_specials(branch: xr.Dataset) -> str:
    """One line per special point (type, K, status, change of index), or a note that none."""
    if branch.sizes["special"] == 0:
        return "none"
    return "; ".join(
        f"{t} at K = {float(p):.10g} ({s}, index {int(d):+d})"
        for t, p, s, d in zip(
            branch["special_type"].values,
            branch["special_param"].values,
            status_names(branch["special_status"].values),
            branch["special_delta_index"].values,
            strict=True,
        )
    )


def draw(saddle: xr.Dataset, teacher: xr.Dataset, path: Path) -> Path:
    """Left: ``x`` against ``K`` (the closed form dotted over the saddle); right: the loss."""
    system = theorem7(K_START)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    diagram = {"teacher": teacher, "saddle": saddle}
    draw_diagram(diagram, measure="x", ax=left, title="Theorem 7: equilibria on x = y and (1, 0)")
    K = np.geomspace(K_MIN, K_MAX, 400)
    (closed,) = left.plot(K, theorem7_saddle(K), ":", color="black", lw=1.2, label="closed form")
    left.legend(handles=[*left.get_legend().legend_handles, closed], fontsize="small")
    draw_diagram(diagram, measure="loss", system=system, ax=right, title="loss on the branches")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks([1.5, 2, 5, 10, 20, 50], labels=["1.5", "2", "5", "10", "20", "50"])
        ax.xaxis.set_minor_formatter(NullFormatter())
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def main(
    out_dir: str | Path = "out/theorem7_continuation_in_K", *, quick: bool = False
) -> dict[str, Path]:
    """Continue the saddle and the teacher in ``K``, check the closed form, save, print.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``theorem7_in_K.nc`` (a DataTree: nodes ``saddle`` and ``teacher``) and
        ``theorem7_in_K.png``.
    quick : bool
        Larger steps (fewer points).

    Returns
    -------
    dict
        ``{"data": path, "figure": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    saddle = continue_saddle(quick=quick)
    teacher = continue_teacher(quick=quick)
    seconds = time.perf_counter() - start
    error = closed_form_error(saddle)
    K = saddle["param"].values
    tree = xr.DataTree.from_dict({"saddle": saddle, "teacher": teacher})
    tree.attrs.update(
        experiment="Tian 2017 Theorem 7: symmetric saddle continued in K",
        max_closed_form_error=error,
        seconds=seconds,
        quick=quick,
    )
    paths = {
        "data": save(tree, out / "theorem7_in_K.nc"),
        "figure": draw(saddle, teacher, out / "theorem7_in_K.png"),
    }
    re = saddle["eigenvalue_real"].values
    ends = [int(np.argmin(K)), int(np.argmin(np.abs(K - K_START))), int(np.argmax(K))]
    print(f"Theorem 7 saddle continued in K over [{K.min():g}, {K.max():g}]:")
    print(
        f"  {saddle.sizes['step']} points, {saddle.attrs['n_newton_iterations']} Newton "
        f"iterations, {seconds:.2f} s (both branches); stops: "
        + " / ".join(status_names(saddle["status"].values))
    )
    print(f"  max |x - closed form|, |y - closed form| over all points: {error:.2e}")
    for k in ends:
        print(
            f"  K = {K[k]:6.3f}: x = y = {saddle['x'].values[k, 0]:.12f} "
            f"(closed form {theorem7_saddle(K[k]):.12f}), eigenvalues {re[k, 0]:+.4f}, "
            f"{re[k, 1]:+.4f} ({saddle['kind'].values[k]})"
        )
    along = float(np.abs(re[:, 1] + K / 2).max())
    print(
        f"  the stable eigenvalue (along the diagonal) equals -K/2 to {along:.1e} at every point; "
        f"the unstable one grows from {re[ends[0], 0]:.4f} to {re[ends[2], 0]:.4f}"
    )
    kinds = sorted(set(saddle["kind"].values.tolist()))
    print(f"  kinds along the saddle branch: {kinds}; special points: {describe_specials(saddle)}")
    print(
        f"  teacher (1, 0): kinds {sorted(set(teacher['kind'].values.tolist()))}; special "
        f"points: {describe_specials(teacher)}"
    )
    if saddle.sizes["special"] == 0 and kinds == ["saddle"]:
        print(
            "  No bifurcation for K in [1.5, 50]: the saddle keeps exactly one unstable "
            "direction (across the diagonal) and one stable one (along it); no eigenvalue "
            "crosses zero."
        )
    assert error < TOLERANCE, f"continued saddle deviates from Theorem 7 by {error:.2e}"
    assert K.min() == K_MIN and K.max() == K_MAX, "the branch did not span [1.5, 50]"
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/theorem7_continuation_in_K", help="output dir")
    parser.add_argument("--quick", action="store_true", help="larger steps (a second)")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
