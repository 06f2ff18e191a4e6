"""Du et al. (2017): gradient descent with weight normalisation finds the global minimum of a
one-hidden-layer CNN, or its spurious local minimum, each with constant probability.

The network ``f(Z) = sum_j a_j relu(w . Z_j)`` has ``k`` non-overlapping Gaussian patches of size
``p``; the filter is weight-normalised, ``w = v/|v|``, and the state is ``[v, a]``
(:func:`dynsys.models.cnn.conv_teacher_student`). The population loss has two kinds of minima:

- the global one, ``v`` along ``w*`` and ``a = |w*| a*``, with loss 0;
- the spurious one (:func:`dynsys.models.cnn.spurious_minimum`), ``v`` along ``-w*`` and
  ``a = a_s = |w*| ((pi - 1) I + 1 1^T)^{-1} (1 1^T - I) a*``, a strict local minimum when
  ``a_s . a* < 0`` (true for the teacher below), with a positive loss in closed form.

Gradient descent ``x <- x - eta grad L`` starts from ``v`` uniform on the unit sphere and ``a``
uniform in a ball around 0 (:func:`dynsys.models.cnn.random_start`); the radius is a multiple
``rho`` of ``|a*| |w*| / sqrt(k)``, the scale of the teacher's output weights per patch, for a few
``rho``. Each end point is matched to a minimum (filter within ``ANGLE_TOL`` of ``+-w*/|w*|``,
``a`` within ``A_TOL``), and verified: its gradient is small and its loss equals 0 or the closed
form of the spurious minimum. The fractions come with Wilson 95% intervals. Near the spurious
minimum the loss grows only like the cube of the filter's angle away from ``-w*``, so descent
approaches it algebraically (the runs there stop at the iteration limit, their angle to ``-w*``
still of order 1e-3), whereas it reaches the global minimum at a linear rate.

Run ``python examples/du_cnn_spurious_minimum.py [--out DIR] [--quick]``.

References
----------
S. S. Du, J. D. Lee, Y. Tian, B. Poczos, A. Singh, Gradient descent learns one-hidden-layer CNN:
don't be afraid of spurious local minima, ICML 2018 (arXiv:1712.00779).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs
from matplotlib.figure import Figure

from dynsys.basins import wilson_interval
from dynsys.integrate import FlowOptions, flow
from dynsys.io import provenance, status_variable
from dynsys.models.cnn import conv_teacher_student, random_start, spurious_minimum

P_FILTER = 6
A_STAR = np.array([1.0, 0.5, -0.8, 0.3])  # mixed signs: a_s . a* < 0, the spurious minimum exists
LEARNING_RATE = 1.0  # below 2 / (largest curvature in a) = 4 pi / (pi - 1 + k) at |w| = 1
ANGLE_TOL = 0.05  # rad, filter angle to +-w* for a match
A_TOL = 1e-4  # output weights for a match
GLOBAL, SPURIOUS, OTHER = 0, 1, -1
SEED = 20171203
N_CURVES = 40  # training curves stored


class Sizes(NamedTuple):
    """Runs per setting, iterations (all runs; runs with saved training curves), and the radii of
    the initial a-ball (in units of |a*||w*|/sqrt(k))."""

    n_runs: int
    iterations: int
    curve_iterations: int
    rhos: tuple[float, ...]


DEFAULT = Sizes(n_runs=2000, iterations=5000, curve_iterations=300, rhos=(0.01, 0.1, 1.0))
QUICK = Sizes(n_runs=200, iterations=2000, curve_iterations=150, rhos=(0.1, 1.0))


def teacher(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Return the teacher ``(w*, a*)``: a random unit filter in ``R^6`` and ``A_STAR``."""
    w = np.random.default_rng(seed).standard_normal(P_FILTER)
    return w / np.linalg.norm(w), A_STAR.copy()


def spurious_loss_closed_form(w_star, a_star) -> float:
    """Return the loss at the spurious minimum: the quadratic in ``a`` minimised at ``theta = pi``.

    With ``h(pi) = 0`` the loss is ``[a^T Q a - 2 |w*| a^T b + |w*|^2 a*^T Q a*] / (4 pi)`` with
    ``Q = (pi - 1) I + 1 1^T`` and ``b = (1 1^T - I) a*``; its minimum over ``a`` is
    ``|w*|^2 [a*^T Q a* - b^T Q^{-1} b] / (4 pi)``.

    Examples
    --------
    >>> from dynsys.models.cnn import loss
    >>> w, a = np.array([1.0, 0.0]), np.array([1.0, -1.0, 0.5])
    >>> xs = spurious_minimum(w, a)
    >>> value = spurious_loss_closed_form(w, a)
    >>> round(value, 6), abs(float(loss(xs[:2], xs[2:], w, a, weight_norm=True)) - value) < 1e-14
    (0.317677, True)
    """
    w_star, a_star = np.asarray(w_star, dtype=float), np.asarray(a_star, dtype=float)
    k = a_star.size
    Q = (np.pi - 1.0) * np.eye(k) + 1.0
    b = a_star.sum() - a_star
    r2 = float(w_star @ w_star)
    return r2 * float(a_star @ Q @ a_star - b @ np.linalg.solve(Q, b)) / (4 * np.pi)


def classify_end(x, w_star, a_star) -> np.ndarray:
    """Label end states ``(n, p + k)``: ``GLOBAL`` (0), ``SPURIOUS`` (1) or ``OTHER`` (-1).

    Examples
    --------
    >>> w, a = np.array([1.0, 0.0]), np.array([1.0, -1.0, 0.5])
    >>> xs = spurious_minimum(w, a)
    >>> classify_end(np.stack([np.r_[2 * w, a], xs, np.r_[w, -a]]), w, a).tolist()
    [0, 1, -1]
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    p = w_star.size
    r_star = float(np.linalg.norm(w_star))
    v, a = x[:, :p], x[:, p:]
    cos = (v @ w_star) / (np.linalg.norm(v, axis=1) * r_star)
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    a_s = spurious_minimum(w_star, a_star)[p:]
    at_global = (angle < ANGLE_TOL) & (np.linalg.norm(a - r_star * a_star, axis=1) < A_TOL)
    at_spurious = (np.pi - angle < ANGLE_TOL) & (np.linalg.norm(a - a_s, axis=1) < A_TOL)
    return np.where(at_global, GLOBAL, np.where(at_spurious, SPURIOUS, OTHER))


class Setting(NamedTuple):
    """Results of one radius."""

    x0: np.ndarray
    x_final: np.ndarray
    label: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    curves: np.ndarray  # (N_CURVES, curve_iterations + 1) loss at every iteration


def run_setting(system, w_star, a_star, rho: float, sizes: Sizes, rng):
    """Run gradient descent from ``sizes.n_runs`` random starts with ``a`` in a ball of radius
    ``rho |a*| |w*| / sqrt(k)``; the first ``N_CURVES`` runs again with every iteration saved."""
    k = a_star.size
    radius = rho * np.linalg.norm(a_star) * np.linalg.norm(w_star) / np.sqrt(k)
    x0 = random_start(w_star.size, k, rng=rng, a_radius=radius, size=sizes.n_runs)
    options = FlowOptions(
        method="gradient_descent",
        learning_rate=LEARNING_RATE,
        t_max=LEARNING_RATE * sizes.iterations,
        max_steps=sizes.iterations + 1,
        converge_tol=1e-9,
    )
    ds = flow(system, x0, options=options)
    curve_options = FlowOptions(
        method="gradient_descent",
        learning_rate=LEARNING_RATE,
        t_max=LEARNING_RATE * sizes.curve_iterations,
        max_steps=sizes.curve_iterations + 1,
        save_every=1,
    )
    curves = flow(system, x0[:N_CURVES], options=curve_options).energy_saved.values
    x_final = ds.x_final.values
    setting = Setting(
        x0,
        x_final,
        classify_end(x_final, w_star, a_star),
        ds.status.values,
        ds.n_steps.values,
        system.potential(x_final),
        np.linalg.norm(system.gradient(x_final), axis=1),
        curves,
    )
    return setting, options


def experiment(sizes: Sizes, seed: int = SEED) -> xr.Dataset:
    """Run every radius and collect outcomes, fractions and verifications."""
    w_star, a_star = teacher(seed)
    p = w_star.size
    system = conv_teacher_student(w_star, a_star, weight_norm=True)
    x_spurious = spurious_minimum(w_star, a_star)
    loss_spurious = spurious_loss_closed_form(w_star, a_star)
    rng = np.random.default_rng(seed + 1)
    settings = []
    for rho in sizes.rhos:
        setting, options = run_setting(system, w_star, a_star, rho, sizes, rng)
        settings.append(setting)
    stack = {name: np.stack([getattr(s, name) for s in settings]) for name in Setting._fields}
    label = stack["label"]
    counts = np.stack([(label == c).sum(axis=1) for c in (GLOBAL, SPURIOUS, OTHER)], axis=1)
    low, high = wilson_interval(counts, sizes.n_runs)
    x0 = stack["x0"]
    cos0 = (x0[..., :p] @ w_star) / np.linalg.norm(x0[..., :p], axis=-1)
    data = {
        "label": (
            ("radius", "run"),
            label.astype(np.int8),
            {"long_name": "end point: 0 global minimum, 1 spurious minimum, -1 neither"},
        ),
        "x0": (("radius", "run", "state"), x0, {"long_name": "initial state [v, a]"}),
        "x_final": (("radius", "run", "state"), stack["x_final"], {"long_name": "final state"}),
        "cos_initial_angle": (
            ("radius", "run"),
            cos0,
            {"long_name": "cosine of the initial filter angle to w*"},
        ),
        "loss_final": (("radius", "run"), stack["loss"], {"long_name": "final loss"}),
        "grad_norm_final": (
            ("radius", "run"),
            stack["grad_norm"],
            {"long_name": "|grad L| at the final state"},
        ),
        "n_steps": (("radius", "run"), stack["n_steps"], {"long_name": "iterations"}),
        "status": status_variable(stack["status"], ("radius", "run")),
        "n_outcome": (("radius", "outcome"), counts, {"long_name": "runs per outcome"}),
        "fraction": (
            ("radius", "outcome"),
            counts / sizes.n_runs,
            {"long_name": "fraction of runs per outcome"},
        ),
        "ci_low": (("radius", "outcome"), low, {"long_name": "Wilson 95% lower bound"}),
        "ci_high": (("radius", "outcome"), high, {"long_name": "Wilson 95% upper bound"}),
        "loss_curve": (
            ("radius", "curve", "iteration"),
            stack["curves"],
            {"long_name": "loss during descent (first runs)"},
        ),
        "w_star": ("filter", w_star, {"long_name": "teacher filter w*"}),
        "a_star": ("patch", a_star, {"long_name": "teacher output weights a*"}),
        "x_spurious": ("state", x_spurious, {"long_name": "spurious minimum [v, a]"}),
    }
    coords = {
        "radius": (
            "radius",
            np.asarray(sizes.rhos),
            {"long_name": "radius of the initial a-ball", "units": "|a*||w*|/sqrt(k)"},
        ),
        "outcome": ("outcome", ["global", "spurious", "other"]),
        "state": ("state", list(system.state_names)),
        "iteration": ("iteration", np.arange(stack["curves"].shape[-1])),
    }
    attrs = provenance(
        system,
        experiment="Du et al. 2017, weight-normalised gradient descent",
        loss_spurious_closed_form=loss_spurious,
        overlap_a_s_a_star=float(x_spurious[p:] @ a_star),
        angle_tol=ANGLE_TOL,
        a_tol=A_TOL,
        n_runs=sizes.n_runs,
        seed=seed,
        **{f"flow_{key}": val for key, val in options.as_attrs().items()},
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)


def verification(ds: xr.Dataset) -> dict[str, float]:
    """Largest gradient and loss error at the end points of each outcome."""
    out = {}
    label, loss, grad = ds.label.values, ds.loss_final.values, ds.grad_norm_final.values
    target = {GLOBAL: 0.0, SPURIOUS: ds.attrs["loss_spurious_closed_form"]}
    for code, name in ((GLOBAL, "global"), (SPURIOUS, "spurious")):
        hit = label == code
        out[f"{name}_max_grad"] = float(grad[hit].max()) if hit.any() else np.nan
        out[f"{name}_max_loss_error"] = (
            float(np.abs(loss[hit] - target[code]).max()) if hit.any() else np.nan
        )
    w_star = ds.w_star.values
    v = ds.x_final.values[..., : w_star.size]
    cos = (v @ w_star) / (np.linalg.norm(v, axis=-1) * np.linalg.norm(w_star))
    spurious = label == SPURIOUS
    out["spurious_max_angle"] = (
        float((np.pi - np.arccos(np.clip(cos[spurious], -1, 1))).max())
        if spurious.any()
        else np.nan
    )
    return out


def draw(ds: xr.Dataset) -> Figure:
    """Outcome against the initial filter angle, fractions, and training curves."""
    fig = new_figure((15, 4.4))
    ax_start, ax_frac, ax_curve = fig.subplots(1, 3)
    last = ds.isel(radius=-1)
    a_star = ds.a_star.values
    p = ds.sizes["filter"]
    overlap = last.x0.values[:, p:] @ a_star
    for code, name, color in ((GLOBAL, "global", "#1f4e9c"), (SPURIOUS, "spurious", "#c0392b")):
        hit = last.label.values == code
        ax_start.scatter(last.cos_initial_angle[hit], overlap[hit], s=4, color=color, label=name)
    ax_start.set(
        xlabel="cos(initial angle of v and w*)",
        ylabel="a0 . a*",
        title=f"end point by start (radius {float(last.radius):g})",
    )
    ax_start.legend(fontsize="small", markerscale=3)
    width = 0.8 / ds.sizes["radius"]
    for i, rho in enumerate(ds.radius.values):
        sel = ds.sel(radius=rho)
        x = np.arange(ds.sizes["outcome"]) + (i - (ds.sizes["radius"] - 1) / 2) * width
        ax_frac.bar(
            x,
            sel.fraction,
            width,
            yerr=[sel.fraction - sel.ci_low, sel.ci_high - sel.fraction],
            capsize=3,
            label=f"a-ball radius {rho:g}",
        )
    ax_frac.set_xticks(np.arange(ds.sizes["outcome"]), ds.outcome.values)
    ax_frac.set(ylabel="fraction of runs", title=f"{ds.attrs['n_runs']} runs each, Wilson 95%")
    ax_frac.legend(fontsize="small")
    it = ds.iteration.values
    labels = last.label.values[: ds.sizes["curve"]]
    for curve, code in zip(last.loss_curve.values, labels, strict=True):
        color = {GLOBAL: "#1f4e9c", SPURIOUS: "#c0392b"}.get(int(code), "0.5")
        ax_curve.loglog(it + 1, np.maximum(curve, 1e-16), color=color, linewidth=0.8)
    ax_curve.axhline(ds.attrs["loss_spurious_closed_form"], color="k", linestyle="--", lw=0.8)
    ax_curve.set(
        xlabel="iteration + 1",
        ylabel="loss",
        title="training curves (dashed: spurious minimum)",
    )
    return fig


def summary(ds: xr.Dataset, checks: dict[str, float]) -> str:
    """A short text report of the numbers found."""
    a = ds.attrs
    head = (
        f"Du et al. CNN, p = {ds.sizes['filter']}, a* = {ds.a_star.values.tolist()}, |w*| = "
        f"{float(np.linalg.norm(ds.w_star)):.3g}; spurious minimum loss "
        f"{a['loss_spurious_closed_form']:.6f} (a_s . a* = {a['overlap_a_s_a_star']:.4f} < 0); "
        f"gradient descent, eta = {a['flow_learning_rate']:g}, {a['flow_max_steps'] - 1} "
        f"iterations, {a['n_runs']} runs per radius of the initial a-ball "
        f"(units |a*||w*|/sqrt(k))"
    )
    lines = [head]
    for rho in ds.radius.values:
        sel = ds.sel(radius=rho)
        parts = [
            f"{o} {float(sel.fraction.sel(outcome=o)):.4f} "
            f"[{float(sel.ci_low.sel(outcome=o)):.4f}, {float(sel.ci_high.sel(outcome=o)):.4f}]"
            for o in ds.outcome.values
        ]
        lines.append(f"  a-ball radius {rho:g}: " + "; ".join(parts))
    lines.append(
        f"  loss at the global minimum 0: end points max |grad| {checks['global_max_grad']:.2e}, "
        f"max loss {checks['global_max_loss_error']:.2e}"
    )
    lines.append(
        f"  loss at the spurious minimum {a['loss_spurious_closed_form']:.6f}: end points max "
        f"|grad| {checks['spurious_max_grad']:.2e}, max |loss - closed form| "
        f"{checks['spurious_max_loss_error']:.2e}, max angle to -w* "
        f"{checks['spurious_max_angle']:.1e} rad"
    )
    lines.append(f"  ({a['seconds']:.1f} s)")
    return "\n".join(lines)


def main(
    out_dir: str | Path = "out/du_cnn_spurious_minimum", *, quick: bool = False
) -> dict[str, Path]:
    """Run the experiment, save its data and figure, print a summary and check the end points.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``du_cnn.nc`` and ``du_cnn.png`` (created if needed).
    quick : bool
        Fewer runs, iterations and radii (seconds).

    Returns
    -------
    dict of Path
        ``data`` and ``figure``.
    """
    sizes = QUICK if quick else DEFAULT
    start = time.perf_counter()
    ds = experiment(sizes)
    checks = verification(ds)
    ds.attrs.update({f"check_{key}": val for key, val in checks.items()})
    ds.attrs["seconds"] = time.perf_counter() - start
    ds.attrs["quick"] = int(quick)
    paths = save_outputs(
        out_dir, {"data": ("du_cnn.nc", ds)}, {"figure": ("du_cnn.png", draw(ds))}, dpi=110
    )
    print(summary(ds, checks))
    both = (ds.n_outcome.sel(outcome=["global", "spurious"]) > 0).all()
    assert bool(both), "expected runs ending at each minimum"
    return paths


if __name__ == "__main__":
    run_cli(main, "out/du_cnn_spurious_minimum", __doc__)
