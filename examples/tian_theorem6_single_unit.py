"""Tian (2017), Theorem 6: one ReLU unit learns its teacher from a small random ball.

For one unit (``K = 1``) and a teacher ``w*`` in ``R^d``, Theorem 5 shows that the population
gradient flow converges to ``w*`` from every start in ``Omega = {w : |w - w*| < |w*|}``
(``V = |w - w*|^2 / 2`` decreases there). Theorem 6 turns this into a statement about random
starts: for ``w0`` uniform in the ball ``B_r = {|w| <= r}``,

    P(w0 converges to w*) >= (1 - eps) / 2   when   r <= eps sqrt(2 pi / (d + 1)) |w*|.

The proof bounds ``P(w0 in Omega)``: ``Omega`` contains the half ball beyond the plane
``w . w*/|w*| = r^2 / (2 |w*|)``, and the slab between that plane and the origin holds a fraction
at most ``sqrt((d + 1) / (2 pi)) r / (2 |w*|) = eps / 2`` of the ball. This example

- estimates ``P(w0 converges to w*)`` with the basins API: for each ``d``,
  :func:`dynsys.basins.basin_probability_sweep` over the ``radius`` of a
  :class:`dynsys.basins.SmallBall` (``r`` from the theorem's relation with equality, for ``eps``
  on a grid), with the teacher as ``reference`` so that its row has the role "teacher". One seed
  serves every radius: the balls hold the same points rescaled (common random numbers). Orbits
  follow the population flow of :func:`dynsys.models.relu.teacher_student` (``dopri5`` until
  ``|grad L| <= 1e-8``) and count when they end within ``1e-6`` of ``w*``;
- checks the exact ``P(w0 in Omega)`` (:func:`probability_in_omega`, a one-dimensional integral of
  a regularised incomplete beta function) against the bound and against the fraction of
  independent uniform draws that fall in ``Omega``;
- reports every fraction with its Wilson 95% interval and draws the curves with
  :func:`phase.basins.draw_probability_curves`, the bound and the exact ``P(w0 in Omega)``.

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

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs
from matplotlib.figure import Figure
from scipy.integrate import quad
from scipy.special import betainc

from dynsys.basins import (
    BasinOptions,
    SmallBall,
    basin_probabilities,
    basin_probability_sweep,
    wilson_interval,
)
from dynsys.integrate import FlowOptions
from dynsys.io import provenance
from dynsys.models.relu import random_teacher, teacher_student
from phase.basins import draw_probability_curves

# converge_tol is left to the arrival rule: 10 |lambda| (atol + rtol |x|), just above the level
# where an explicit adaptive Runge-Kutta method hovers around a stable point (about 1e-8 here)
FLOW = FlowOptions(method="dopri5", t_max=2_000.0, rtol=1e-9, atol=1e-12)
MATCH_TOL = 1e-6  # an end point within this distance of w* (|w*| = 1) counts as the teacher
SEED = 20170006
TEACHER = "teacher"


class Sizes(NamedTuple):
    """Dimensions, values of eps, flow runs per cell and draws per cell for ``P(w0 in Omega)``."""

    dims: tuple[int, ...]
    epsilons: tuple[float, ...]
    n_runs: int
    n_omega: int


DEFAULT = Sizes(
    dims=(2, 5, 10, 20, 100),
    epsilons=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    n_runs=2000,
    n_omega=20_000,
)
QUICK = Sizes(dims=(2, 10), epsilons=(0.05, 0.5, 1.0), n_runs=200, n_omega=2000)


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


def teacher_label(ds: xr.Dataset) -> int:
    """The attractor label whose role is the teacher in a basin result (raise if there is none).

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"attractor_role": ("attractor", ["spurious minimum", "teacher"])},
    ...     coords={"attractor": [0, 1]},
    ... )
    >>> teacher_label(ds)
    1
    """
    hit = ds["attractor_role"] == TEACHER
    if "param" in hit.dims:  # a sweep: the role at any value
        hit = hit.any("param")
    rows = ds["attractor"].values[hit.values]
    if rows.size == 0:
        raise ValueError(
            "no attractor has the role 'teacher'; compute the basins with `reference=w_star`."
        )
    return int(rows[0])


class Runs(NamedTuple):
    """Outcome of one cell (one ``d`` and one ``r``), run by run."""

    converged: np.ndarray  # (n,) bool: ended at w*
    in_omega: np.ndarray  # (n,) bool: started in Omega
    status: np.ndarray  # (n,) status codes
    final_distance: np.ndarray  # (n,) |w_final - w*|
    t_final: np.ndarray  # (n,)


def run_cell(w_star: np.ndarray, r: float, n_runs: int, rng) -> Runs:
    """Flow from ``n_runs`` starts uniform in the ball of radius ``r``, keeping every start.

    :func:`dynsys.basins.basin_probabilities` with ``keep_states=True``: the per-run view of one
    cell of the sweep, for checks of Theorem 5 start by start.

    Parameters
    ----------
    w_star : ndarray, shape (d,)
        The teacher.
    r : float
        Radius of the ball of starts (centred at the origin).
    n_runs : int
        Number of starts.
    rng : numpy.random.Generator
        Source of the root seed.

    Returns
    -------
    Runs

    Examples
    --------
    >>> runs = run_cell(np.array([1.0, 0.0]), 0.1, 20, np.random.default_rng(0))
    >>> bool(runs.converged[runs.in_omega].all())  # Theorem 5
    True
    """
    w_star = np.asarray(w_star, dtype=float)
    ds = basin_probabilities(
        teacher_student(w_star[None, :]),
        SmallBall(radius=r),
        n_runs,
        options=BasinOptions(
            flow=FLOW, match_tol=MATCH_TOL, reference_name=TEACHER, keep_states=True
        ),
        reference=w_star,
        seed=int(rng.integers(2**62)),
    )
    x0, x_final = ds["x0"].values, ds["x_final"].values
    return Runs(
        converged=ds["label"].values == teacher_label(ds),
        in_omega=np.linalg.norm(x0 - w_star, axis=1) < np.linalg.norm(w_star),
        status=ds["status"].values,
        final_distance=np.linalg.norm(x_final - w_star, axis=1),
        t_final=ds["t_final"].values,
    )


def sweep_dimension(d: int, sizes: Sizes, seed: int) -> xr.Dataset:
    """Basin probabilities of the single-unit flow in ``R^d`` over the radii of Theorem 6.

    Returns the result of :func:`dynsys.basins.basin_probability_sweep` (``param`` = radius) with
    the values of ``eps`` as the coordinate ``epsilon(param)`` and the teacher as ``w_star``.
    """
    w_star = random_teacher(1, d, rng=np.random.default_rng([seed, d, 0]), unit_norm=True)[0]
    radii = theorem6_radius(sizes.epsilons, d)
    ds = basin_probability_sweep(
        teacher_student(w_star[None, :]),
        "radius",
        radii,
        SmallBall(radius=float(radii[0])),
        sizes.n_runs,
        options=BasinOptions(flow=FLOW, match_tol=MATCH_TOL, reference_name=TEACHER),
        reference=w_star,
        seed=seed + d,
    )
    ds["param"].attrs.update(long_name="radius r of the ball of starts", units="|w*|")
    return ds.assign_coords(
        epsilon=("param", np.asarray(sizes.epsilons), {"long_name": "eps of Theorem 6"}),
        w_star=("state", w_star, {"long_name": "teacher w*"}),
    )


def count_in_omega(d: int, radii: np.ndarray, n: int, rng) -> np.ndarray:
    """Starts in ``Omega`` among ``n`` uniform draws in each ball (teacher ``e_1``, by rotation
    invariance); one set of points in the unit ball, rescaled to every radius.

    Examples
    --------
    >>> counts = count_in_omega(3, np.array([1e-6, 3.0]), 4000, np.random.default_rng(0))
    >>> bool(abs(counts[0] / 4000 - 0.5) < 0.03)  # a tiny ball: half of it (4 standard errors)
    True
    >>> bool(abs(counts[1] / 4000 - 1 / 27) < 0.012)  # Omega, volume 1/27 of the ball, inside
    True
    """
    unit = SmallBall(radius=1.0).sample(rng, n, d)
    e1 = np.zeros(d)
    e1[0] = 1.0
    return np.array([(np.linalg.norm(r * unit - e1, axis=1) < 1.0).sum() for r in radii])


def experiment(sizes: Sizes, seed: int = SEED) -> tuple[xr.Dataset, dict[int, xr.Dataset]]:
    """Run the sweeps and collect, per ``(d, eps)``, the fractions, intervals and bounds.

    Returns the summary Dataset and the sweep of every dimension.
    """
    eps = np.asarray(sizes.epsilons, dtype=float)
    shape = (len(sizes.dims), eps.size)
    sweeps: dict[int, xr.Dataset] = {}
    radius, exact = np.zeros(shape), np.zeros(shape)
    n_teacher, n_other, n_status = (np.zeros(shape, dtype=np.int64) for _ in range(3))
    n_omega = np.zeros(shape, dtype=np.int64)
    for i, d in enumerate(sizes.dims):
        sweep = sweeps[d] = sweep_dimension(d, sizes, seed)
        teacher = teacher_label(sweep)
        radius[i] = sweep["param"].values
        n_teacher[i] = (sweep["label"] == teacher).sum("sample").values
        n_other[i] = sizes.n_runs - n_teacher[i]
        n_status[i] = (sweep["status"] != 0).sum("sample").values
        n_omega[i] = count_in_omega(
            d, radius[i], sizes.n_omega, np.random.default_rng([seed, d, 1])
        )
        exact[i] = [probability_in_omega(r, d) for r in radius[i]]
    eps_fine = np.linspace(0.01, 1.0, 45)
    exact_fine = np.array(
        [
            [probability_in_omega(float(theorem6_radius(e, d)), d) for e in eps_fine]
            for d in sizes.dims
        ]
    )
    low, high = wilson_interval(n_teacher, sizes.n_runs)
    omega_low, omega_high = wilson_interval(n_omega, sizes.n_omega)
    cell = ("dimension", "epsilon")
    data = {
        "radius": (cell, radius, {"long_name": "radius r of the ball of starts", "units": "|w*|"}),
        "bound": ("epsilon", (1.0 - eps) / 2.0, {"long_name": "Theorem 6 lower bound (1 - eps)/2"}),
        "n_teacher": (cell, n_teacher, {"long_name": "runs that ended at the teacher w*"}),
        "fraction_teacher": (
            cell,
            n_teacher / sizes.n_runs,
            {"long_name": "fraction of runs converging to w*"},
        ),
        "ci_low": (cell, low, {"long_name": "Wilson 95% lower bound, converging to w*"}),
        "ci_high": (cell, high, {"long_name": "Wilson 95% upper bound, converging to w*"}),
        "n_not_teacher": (cell, n_other, {"long_name": "runs that did not end at w*"}),
        "n_status_not_converged": (
            cell,
            n_status,
            {"long_name": "runs whose flow status is not 'converged'"},
        ),
        "n_in_omega": (
            cell,
            n_omega,
            {"long_name": "independent uniform draws in Omega = {|w - w*| < |w*|}"},
        ),
        "fraction_in_omega": (
            cell,
            n_omega / sizes.n_omega,
            {"long_name": "fraction of draws in Omega"},
        ),
        "omega_ci_low": (cell, omega_low, {"long_name": "Wilson 95% lower bound, in Omega"}),
        "omega_ci_high": (cell, omega_high, {"long_name": "Wilson 95% upper bound, in Omega"}),
        "probability_in_omega": (
            cell,
            exact,
            {"long_name": "exact P(w0 in Omega) for w0 uniform in the ball"},
        ),
        "probability_in_omega_curve": (
            ("dimension", "epsilon_fine"),
            exact_fine,
            {"long_name": "exact P(w0 in Omega) with r = eps sqrt(2 pi/(d+1))"},
        ),
    }
    coords = {
        "dimension": ("dimension", np.asarray(sizes.dims), {"long_name": "input dimension d"}),
        "epsilon": ("epsilon", eps, {"long_name": "eps of Theorem 6"}),
        "epsilon_fine": ("epsilon_fine", eps_fine, {"long_name": "eps of Theorem 6"}),
    }
    attrs = provenance(
        teacher_student(np.eye(1)),
        experiment="Tian 2017 Theorem 6",
        n_runs=sizes.n_runs,
        n_omega_draws=sizes.n_omega,
        teacher_norm=1.0,
        match_tol=MATCH_TOL,
        seed=seed,
        **{f"flow_{k}": v for k, v in FLOW.as_attrs().items()},
    )
    return xr.Dataset(data, coords=coords, attrs=attrs), sweeps


def sweeps_tree(sweeps: dict[int, xr.Dataset]) -> xr.DataTree:
    """The sweeps as one DataTree, a group ``d_<d>`` per dimension."""
    return xr.DataTree.from_dict({f"/d_{d}": ds for d, ds in sweeps.items()})


def draw(ds: xr.Dataset, sweeps: dict[int, xr.Dataset]) -> Figure:
    """One panel per dimension: probability of reaching the teacher against the radius (from
    :func:`phase.basins.draw_probability_curves`), the bound, and ``P(w0 in Omega)``."""
    dims = ds.dimension.values
    fig = new_figure((3.6 * len(dims), 4.2))
    axes = fig.subplots(1, len(dims), sharey=True, squeeze=False)[0]
    eps_fine = ds.epsilon_fine.values
    for ax, d in zip(axes, dims, strict=True):
        sel = ds.sel(dimension=d)
        scale = float(theorem6_radius(1.0, int(d)))
        draw_probability_curves(sweeps[int(d)], ax=ax)
        ax.plot(
            eps_fine * scale,
            sel.probability_in_omega_curve,
            color="#7d3c98",
            label="P(w0 in Omega), exact",
        )
        ax.errorbar(
            sel.radius,
            sel.fraction_in_omega,
            yerr=[
                sel.fraction_in_omega - sel.omega_ci_low,
                sel.omega_ci_high - sel.fraction_in_omega,
            ],
            fmt="s",
            markersize=3,
            color="#7d3c98",
            capsize=2,
            label=f"in Omega, {ds.attrs['n_omega_draws']} draws",
        )
        ax.plot(
            eps_fine * scale,
            (1.0 - eps_fine) / 2.0,
            color="k",
            linestyle="--",
            label="bound (1 - eps)/2",
        )
        ax.set(title=f"d = {d}", ylim=(0.0, 1.04), xlim=(0.0, 1.02 * scale))
        top = ax.secondary_xaxis(
            "top", functions=(lambda r, s=scale: r / s, lambda e, s=scale: e * s)
        )
        top.set_xlabel("eps")
        legend = ax.get_legend()
        if ax is axes[0]:
            ax.set_ylabel("probability")
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.93), fontsize="small")
        else:
            ax.set_ylabel("")
            if legend is not None:
                legend.remove()
    fig.suptitle(
        f"Tian Theorem 6: w0 uniform in |w| <= r, |w*| = 1; {ds.attrs['n_runs']} runs per radius "
        "(Wilson 95% bands)",
        fontsize="medium",
    )
    return fig


def report(ds: xr.Dataset) -> str:
    """A short text report of the numbers found."""
    n = ds.attrs["n_runs"]
    head = (
        f"Tian Theorem 6: {n} flow runs per cell, {ds.attrs['n_omega_draws']} draws for "
        "P(w0 in Omega), |w*| = 1, Wilson 95% intervals"
    )
    lines = [head]
    for d in ds.dimension.values:
        for eps in ds.epsilon.values:
            c = ds.sel(dimension=d, epsilon=eps)
            lines.append(
                f"  d = {d:>3d}, eps = {eps:.2f} (r = {float(c.radius):.4f}): teacher "
                f"{float(c.fraction_teacher):.4f} [{float(c.ci_low):.4f}, {float(c.ci_high):.4f}]"
                f"; in Omega {float(c.fraction_in_omega):.4f} [{float(c.omega_ci_low):.4f}, "
                f"{float(c.omega_ci_high):.4f}], exact {float(c.probability_in_omega):.4f}; "
                f"bound {float(c.bound):.3f}"
            )
    above = ds.ci_low > ds.bound
    lines.append(
        f"  intervals entirely above the bound (ci_low > bound): {int(above.sum())} of "
        f"{above.size} cells" + ("" if bool(above.all()) else f"; not: {_cells(ds, ~above)}")
    )
    consistent = ds.ci_high >= ds.bound
    lines.append(
        f"  estimates consistent with the theorem (ci_high >= bound): {bool(consistent.all())}"
        + ("" if bool(consistent.all()) else f"; violated at {_cells(ds, ~consistent)}")
    )
    margin = ds.probability_in_omega - ds.bound
    where = margin.where(margin == margin.min(), drop=True)
    lines.append(
        f"  exact P(w0 in Omega) >= bound in every cell: {bool((margin >= -1e-12).all())}; "
        f"smallest margin {float(margin.min()):.4f} (d = {int(where.dimension[0])}, eps = "
        f"{float(where.epsilon[0]):.2f})"
    )
    covered = (ds.omega_ci_low <= ds.probability_in_omega) & (
        ds.probability_in_omega <= ds.omega_ci_high
    )
    lines.append(
        f"  exact P(w0 in Omega) inside the sampled interval: {int(covered.sum())} of "
        f"{covered.size} cells"
    )
    missed = int(ds.n_not_teacher.sum())
    lines.append(
        f"  runs not ending at the teacher: {missed}; flow statuses other than converged: "
        f"{int(ds.n_status_not_converged.sum())}"
        + (
            " (so every start in Omega reached w*, as Theorem 5 says)"
            if missed == 0
            else " (rerun those cells with run_cell() to see whether any started in Omega)"
        )
    )
    lines.append(f"  ({ds.attrs['seconds']:.1f} s)")
    return "\n".join(lines)


def _cells(ds: xr.Dataset, mask: xr.DataArray) -> str:
    """The cells ``(d, eps)`` where ``mask`` holds, as text."""
    rows, cols = np.nonzero(mask.transpose("dimension", "epsilon").values)
    d, eps = ds.dimension.values[rows], ds.epsilon.values[cols]
    return ", ".join(f"(d = {a}, eps = {b:.2f})" for a, b in zip(d, eps, strict=True))


def main(
    out_dir: str | Path = "out/tian_theorem6_single_unit", *, quick: bool = False
) -> dict[str, Path]:
    """Run the experiment, save its data and figure, print a report and check the bound.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``tian_theorem6.nc`` (the summary per ``(d, eps)``),
        ``tian_theorem6_sweeps.nc`` (the basin sweeps, a group per ``d``) and
        ``tian_theorem6.png`` (created if needed).
    quick : bool
        Fewer dimensions, radii and runs (seconds).

    Returns
    -------
    dict of Path
        ``data``, ``sweeps`` and ``figure``.
    """
    sizes = QUICK if quick else DEFAULT
    start = time.perf_counter()
    ds, sweeps = experiment(sizes)
    ds.attrs["seconds"] = time.perf_counter() - start
    ds.attrs["quick"] = int(quick)
    paths = save_outputs(
        out_dir,
        {
            "data": ("tian_theorem6.nc", ds),
            "sweeps": ("tian_theorem6_sweeps.nc", sweeps_tree(sweeps)),
        },
        {"figure": ("tian_theorem6.png", draw(ds, sweeps))},
        dpi=110,
    )
    print(report(ds))
    assert bool((ds.ci_high >= ds.bound).all()), "a fraction reaching w* lies below Theorem 6"
    assert bool((ds.probability_in_omega >= ds.bound - 1e-12).all()), "P(Omega) below the bound"
    return paths


if __name__ == "__main__":
    run_cli(main, "out/tian_theorem6_single_unit", __doc__)
