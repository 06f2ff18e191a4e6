"""Tian (2017), Theorem 6: one ReLU unit learns its teacher from a small random ball.

For one unit (``K = 1``) and a teacher ``w*`` in ``R^d``, Theorem 5 shows that the population
gradient flow converges to ``w*`` from every start in ``Omega = {w : |w - w*| < |w*|}``
(``V = |w - w*|^2 / 2`` decreases there). Theorem 6 turns this into a statement about random
starts: for ``w0`` uniform in the ball ``B_r = {|w| <= r}``,

    P(w0 converges to w*) >= (1 - eps) / 2   when   r <= eps sqrt(2 pi / (d + 1)) |w*|.

The proof bounds ``P(w0 in Omega)``: ``Omega`` contains the half ball beyond the plane
``w . w*/|w*| = r^2 / (2 |w*|)``, and the slab between that plane and the origin holds a fraction
at most ``sqrt((d + 1) / (2 pi)) r / (2 |w*|) = eps / 2`` of the ball. This example

- draws ``w0`` uniform in ``B_r`` (:func:`dynsys.models.relu.small_ball_init`) for several ``d``
  and ``eps`` (``r`` from the theorem's relation with equality), integrates the population flow
  of :func:`dynsys.models.relu.teacher_student` for the batch (``dopri5`` until
  ``|grad L| <= 1e-8``), and counts the runs that end at ``w*``;
- counts the starts inside ``Omega`` and compares with the exact ``P(w0 in Omega)``
  (:func:`probability_in_omega`, a one-dimensional integral of a regularised incomplete beta
  function) and with the bound;
- reports every fraction with its Wilson 95% interval.

The flow in fact converges from almost every start: the angle to ``w*`` decreases monotonically
(the field's component across ``w`` is ``(pi - theta) |w*| sin(theta) / (2 pi)`` toward ``w*``)
and ``|w|`` cannot reach zero (``d|w|/dt >= -|w|/2``), so only the null set ``theta = pi``
fails. The bound of Theorem 6 is therefore far from tight for the flow; what it bounds tightly
is ``P(w0 in Omega)``.

Run ``python examples/tian_theorem6_single_unit.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 6.1, Theorems 5-6).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.integrate import quad
from scipy.special import betainc

from dynsys._dataset import provenance, status_variable
from dynsys._montecarlo import wilson_interval
from dynsys._status import Status
from dynsys.integrate import FlowOptions, flow
from dynsys.io import atomic_write_path, save
from dynsys.models.relu import random_teacher, small_ball_init, teacher_student

# converge_tol sits above the level (about rtol |x| |lambda|) where an explicit adaptive
# Runge-Kutta method hovers around a stable point once steps are limited by stability
FLOW = FlowOptions(method="dopri5", t_max=2_000.0, rtol=1e-9, atol=1e-12, converge_tol=1e-8)
MATCH_TOL = 1e-6  # |w_final - w*| below this counts as converged to the teacher
SEED = 20170006


class Sizes(NamedTuple):
    """Dimensions, values of eps and runs per cell."""

    dims: tuple[int, ...]
    epsilons: tuple[float, ...]
    n_runs: int


DEFAULT = Sizes(dims=(2, 10, 100), epsilons=(0.05, 0.3, 0.6, 0.9), n_runs=2000)
QUICK = Sizes(dims=(2, 10), epsilons=(0.3, 0.9), n_runs=200)


def theorem6_radius(eps, d: int, teacher_norm: float = 1.0):
    """Return the largest radius Theorem 6 allows for a given ``eps``:
    ``r = eps sqrt(2 pi / (d + 1)) |w*|``.

    Examples
    --------
    >>> round(float(theorem6_radius(0.5, 1)), 12)  # sqrt(pi) / 2
    0.886226925453
    """
    return np.asarray(eps, dtype=float) * np.sqrt(2 * np.pi / (d + 1)) * teacher_norm


def probability_in_omega(r: float, d: int, teacher_norm: float = 1.0) -> float:
    """Return ``P(|w0 - w*| < |w*|)`` for ``w0`` uniform in the ball of radius ``r`` in ``R^d``.

    With ``w0 = rho u`` (``u`` uniform on the sphere, ``rho^d`` uniform in ``[0, r^d]``) the event
    is ``u . w*/|w*| > rho / (2 |w*|)``, and ``P(u_1 > a) = I_{1 - a^2}((d - 1)/2, 1/2) / 2`` for
    ``0 <= a <= 1`` (regularised incomplete beta function); integrate over ``y = (rho/r)^d``.

    Parameters
    ----------
    r : float
        Radius of the ball (positive).
    d : int
        Dimension (at least 1).
    teacher_norm : float
        ``|w*|``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(probability_in_omega(1e-9, 5), 6)  # a tiny ball: half of it
    0.5
    >>> round(probability_in_omega(1.0, 1), 12)  # d = 1: the segment (0, 1]
    0.5
    """
    if not (r > 0 and d >= 1 and teacher_norm > 0):
        raise ValueError(
            f"`r`, `d` and `teacher_norm` must be positive; got r={r}, d={d}, "
            f"teacher_norm={teacher_norm}."
        )

    def cap(y):
        a = min(r * y ** (1.0 / d) / (2.0 * teacher_norm), 1.0)
        if d == 1:
            return 0.5 if a < 1.0 else 0.0
        return 0.5 * float(betainc((d - 1) / 2.0, 0.5, 1.0 - a * a))

    value, _ = quad(cap, 0.0, 1.0, epsabs=1e-12, epsrel=1e-10, limit=200)
    return float(value)


class Runs(NamedTuple):
    """Outcome of one cell (one ``d`` and one ``r``)."""

    converged: np.ndarray  # (n,) bool: ended at w*
    in_omega: np.ndarray  # (n,) bool: started in Omega
    status: np.ndarray  # (n,) status codes
    final_distance: np.ndarray  # (n,) |w_final - w*|
    t_final: np.ndarray  # (n,)


def run_cell(w_star: np.ndarray, r: float, n_runs: int, rng) -> Runs:
    """Integrate the single-unit flow from ``n_runs`` starts uniform in the ball of radius ``r``.

    Examples
    --------
    >>> runs = run_cell(np.array([1.0, 0.0]), 0.1, 20, np.random.default_rng(0))
    >>> bool(runs.converged[runs.in_omega].all())  # Theorem 5
    True
    """
    d = w_star.size
    x0 = small_ball_init(1, d, radius=r, rng=rng, size=n_runs)
    ds = flow(teacher_student(w_star[None, :]), x0, options=FLOW)
    distance = np.linalg.norm(ds.x_final.values - w_star, axis=1)
    status = ds.status.values
    converged = (status == Status.CONVERGED) & (distance < MATCH_TOL)
    in_omega = np.linalg.norm(x0 - w_star, axis=1) < np.linalg.norm(w_star)
    return Runs(converged, in_omega, status, distance, ds.t_final.values)


def experiment(sizes: Sizes, seed: int = SEED) -> xr.Dataset:
    """Run every cell and collect fractions, intervals and bounds in a Dataset."""
    rng = np.random.default_rng(seed)
    shape = (len(sizes.dims), len(sizes.epsilons))
    n_conv = np.zeros(shape, dtype=np.int64)
    n_omega = np.zeros(shape, dtype=np.int64)
    exact = np.zeros(shape)
    radius = np.zeros(shape)
    max_t = np.zeros(shape)
    status = np.zeros((*shape, sizes.n_runs), dtype=np.int8)
    n_omega_failed = np.zeros(shape, dtype=np.int64)  # Theorem 5 says: none
    for i, d in enumerate(sizes.dims):
        w_star = random_teacher(1, d, rng=rng, unit_norm=True)[0]
        for j, eps in enumerate(sizes.epsilons):
            r = float(theorem6_radius(eps, d))
            runs = run_cell(w_star, r, sizes.n_runs, rng)
            radius[i, j] = r
            n_conv[i, j] = runs.converged.sum()
            n_omega[i, j] = runs.in_omega.sum()
            exact[i, j] = probability_in_omega(r, d)
            status[i, j] = runs.status
            max_t[i, j] = runs.t_final.max()
            n_omega_failed[i, j] = (runs.in_omega & ~runs.converged).sum()
    eps_fine = np.linspace(0.01, 1.0, 34)
    exact_fine = np.array(
        [
            [probability_in_omega(float(theorem6_radius(e, d)), d) for e in eps_fine]
            for d in sizes.dims
        ]
    )
    conv_low, conv_high = wilson_interval(n_conv, sizes.n_runs)
    omega_low, omega_high = wilson_interval(n_omega, sizes.n_runs)
    cell = ("dimension", "epsilon")
    data = {
        "radius": (cell, radius, {"long_name": "radius r of the initial ball", "units": "|w*|"}),
        "bound": (
            "epsilon",
            (1.0 - np.asarray(sizes.epsilons)) / 2.0,
            {"long_name": "Theorem 6 lower bound (1 - eps)/2"},
        ),
        "n_converged": (cell, n_conv, {"long_name": "runs that ended at w*"}),
        "fraction_converged": (
            cell,
            n_conv / sizes.n_runs,
            {"long_name": "fraction of runs converging to w*"},
        ),
        "ci_low": (cell, conv_low, {"long_name": "Wilson 95% lower bound, converged"}),
        "ci_high": (cell, conv_high, {"long_name": "Wilson 95% upper bound, converged"}),
        "n_in_omega": (cell, n_omega, {"long_name": "starts in Omega = {|w - w*| < |w*|}"}),
        "fraction_in_omega": (
            cell,
            n_omega / sizes.n_runs,
            {"long_name": "fraction of starts in Omega"},
        ),
        "omega_ci_low": (cell, omega_low, {"long_name": "Wilson 95% lower bound, in Omega"}),
        "omega_ci_high": (cell, omega_high, {"long_name": "Wilson 95% upper bound, in Omega"}),
        "probability_in_omega": (
            cell,
            exact,
            {"long_name": "exact P(w0 in Omega) for w0 uniform in the ball"},
        ),
        "n_in_omega_not_converged": (
            cell,
            n_omega_failed,
            {"long_name": "starts in Omega that did not reach w* (Theorem 5: none)"},
        ),
        "probability_in_omega_curve": (
            ("dimension", "epsilon_fine"),
            exact_fine,
            {"long_name": "exact P(w0 in Omega) with r = eps sqrt(2 pi/(d+1))"},
        ),
        "t_final_max": (cell, max_t, {"long_name": "longest integration time used"}),
        "status": status_variable(status, (*cell, "run")),
    }
    coords = {
        "dimension": ("dimension", np.asarray(sizes.dims), {"long_name": "input dimension d"}),
        "epsilon": ("epsilon", np.asarray(sizes.epsilons), {"long_name": "eps of Theorem 6"}),
        "epsilon_fine": ("epsilon_fine", eps_fine, {"long_name": "eps of Theorem 6"}),
    }
    attrs = provenance(
        teacher_student(np.eye(1)),
        experiment="Tian 2017 Theorem 6",
        n_runs=sizes.n_runs,
        teacher_norm=1.0,
        match_tol=MATCH_TOL,
        seed=seed,
        **{f"flow_{k}": v for k, v in FLOW.as_attrs().items()},
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)


def draw(ds: xr.Dataset, path: Path) -> Path:
    """Fractions converged and in Omega against eps, per dimension, with the bound."""
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_conv, ax_omega = fig.subplots(1, 2, sharey=True)
    eps = ds.epsilon.values
    fine = np.linspace(0.0, 1.0, 101)
    for ax in (ax_conv, ax_omega):
        ax.plot(fine, (1 - fine) / 2, color="k", linestyle="--", label="bound (1 - eps)/2")
    for k, d in enumerate(ds.dimension.values):
        sel = ds.sel(dimension=d)
        shift = (k - 1) * 0.006
        ax_conv.errorbar(
            eps + shift,
            sel.fraction_converged,
            yerr=[sel.fraction_converged - sel.ci_low, sel.ci_high - sel.fraction_converged],
            marker="o",
            linestyle="none",
            capsize=3,
            label=f"d = {d}",
        )
        line = ax_omega.errorbar(
            eps + shift,
            sel.fraction_in_omega,
            yerr=[
                sel.fraction_in_omega - sel.omega_ci_low,
                sel.omega_ci_high - sel.fraction_in_omega,
            ],
            marker="o",
            linestyle="none",
            capsize=3,
            label=f"d = {d} (sampled)",
        )
        ax_omega.plot(
            ds.epsilon_fine,
            sel.probability_in_omega_curve,
            color=line.lines[0].get_color(),
            linewidth=0.8,
        )
    ax_conv.set(
        xlabel="eps  (r = eps sqrt(2 pi/(d+1)) |w*|)",
        ylabel="fraction of runs",
        title=f"runs converging to w* ({ds.attrs['n_runs']} per point, Wilson 95%)",
        ylim=(0, 1.05),
    )
    ax_omega.set(
        xlabel="eps",
        title="starts inside Omega = {|w - w*| < |w*|} (lines: exact)",
    )
    ax_conv.legend(fontsize="small")
    ax_omega.legend(fontsize="small")
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def summary(ds: xr.Dataset) -> str:
    """A short text report of the numbers found."""
    lines = [f"Tian Theorem 6: {ds.attrs['n_runs']} runs per cell, |w*| = 1"]
    for d in ds.dimension.values:
        for eps in ds.epsilon.values:
            c = ds.sel(dimension=d, epsilon=eps)
            lines.append(
                f"  d = {d:>3d}, eps = {eps:.2f} (r = {float(c.radius):.4f}): converged "
                f"{float(c.fraction_converged):.4f} [{float(c.ci_low):.4f}, "
                f"{float(c.ci_high):.4f}]; in Omega {float(c.fraction_in_omega):.4f} "
                f"[{float(c.omega_ci_low):.4f}, {float(c.omega_ci_high):.4f}], exact "
                f"{float(c.probability_in_omega):.4f}; bound {float(c.bound):.3f}"
            )
    ok = bool((ds.ci_high >= ds.bound).all())
    lines.append(f"  every converged fraction respects the bound (upper CI >= bound): {ok}")
    lines.append(
        f"  starts in Omega that failed (Theorem 5 says none): "
        f"{int(ds.n_in_omega_not_converged.sum())}; statuses other than converged: "
        f"{int((ds.status != 0).sum())}; longest run t = {float(ds.t_final_max.max()):.0f}"
    )
    lines.append(f"  ({ds.attrs['seconds']:.1f} s)")
    return "\n".join(lines)


def main(
    out_dir: str | Path = "out/tian_theorem6_single_unit", *, quick: bool = False
) -> dict[str, Path]:
    """Run the experiment, save its data and figure, print a summary and check the bound.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``tian_theorem6.nc`` and ``tian_theorem6.png`` (created if needed).
    quick : bool
        Fewer dimensions, radii and runs (seconds).

    Returns
    -------
    dict of Path
        ``data`` and ``figure``.
    """
    sizes = QUICK if quick else DEFAULT
    start = time.perf_counter()
    ds = experiment(sizes)
    ds.attrs["seconds"] = time.perf_counter() - start
    ds.attrs["quick"] = int(quick)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "data": save(ds, out / "tian_theorem6.nc"),
        "figure": draw(ds, out / "tian_theorem6.png"),
    }
    print(summary(ds))
    assert bool((ds.ci_high >= ds.bound).all()), "a converged fraction lies below Theorem 6"
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/tian_theorem6_single_unit", help="output directory")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
