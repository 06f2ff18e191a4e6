"""Tian (2017), Fig. 7: Theorem 1's population gating against sampled inputs.

Theorem 1 gives, for Gaussian inputs ``x ~ N(0, I_d)``, the expectation of Tian's gating term
``F(e, w) = x 1(e.x > 0) relu(w.x)`` in closed form,
``E[F(e, w)] = ((pi - theta) w + |w| sin(theta) e) / (2 pi)``, ``theta = angle(e, w)``
(:func:`dynsys.models.relu.population_gating`). This example compares it with the mean of ``F``
over ``N`` sampled inputs, with the paper's relative error ``|E[F] - F_N| / |F_N|``:

1. versus the angle ``theta`` in ``[0, pi)`` for a few ``N`` (the error grows as ``theta -> pi``,
   where the two gates overlap less and ``E[F] -> 0``);
2. versus ``N`` for pairs with ``theta`` uniform in ``[0, pi/2]``: the sampled mean is unbiased, so
   the error falls like ``1/sqrt(N)``; the log-log slope is fitted and must lie in
   ``[-0.6, -0.4]``;
3. with inputs uniform in ``[-1/2, 1/2]^d``: the formula holds up to a global scale (the paper's
   remark). The best scale should be the input variance ``1/12``; the relative error after
   rescaling is compared with the sampling noise alone, and their difference (the bias of the
   formula for non-Gaussian inputs) is reported.

The Gaussian samples come from the model's Monte-Carlo estimator
(:func:`dynsys.models.relu.monte_carlo`): for the student ``W = [e, w]`` and the teacher
``W* = [e]`` (all output weights 1) the residual is ``g - g* = relu(w.x)``, so the sampled
gradient of the first unit is exactly the sampled ``F(e, w)``, sample by sample, with standard
errors. Uniform inputs are sampled here, in chunks.

Run ``python examples/tian_fig7_gradient_vs_sampling.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 7.1, Fig. 7).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from dynsys.io import provenance
from dynsys.models.relu import monte_carlo, orthonormal_teacher, population_gating

SLOPE_BAND = (-0.6, -0.4)  # the 1/sqrt(N) law, asserted at the default size
SLOPE_BAND_QUICK = (-0.7, -0.3)  # fewer repeats over two decades: a wider band
UNIFORM_VARIANCE = 1.0 / 12.0  # variance of one coordinate uniform in [-1/2, 1/2]
_CHUNK_FLOATS = 1 << 21


class Sizes(NamedTuple):
    """How much sampling each part of the experiment does."""

    d: int
    angles: int
    angle_n_samples: tuple[int, ...]
    angle_repeats: int
    n_samples: tuple[int, ...]
    repeats: int
    uniform_dims: tuple[int, ...]
    uniform_n_samples: int
    uniform_pairs: int


DEFAULT = Sizes(
    d=10,
    angles=12,
    angle_n_samples=(1_000, 10_000, 100_000),
    angle_repeats=4,
    n_samples=tuple(int(10**k + 0.5) for k in np.arange(2.0, 5.51, 0.5)),
    repeats=10,
    uniform_dims=(2, 5, 10, 20, 50),
    uniform_n_samples=200_000,
    uniform_pairs=6,
)
QUICK = Sizes(
    d=10,
    angles=6,
    angle_n_samples=(1_000,),
    angle_repeats=3,
    n_samples=tuple(int(10**k + 0.5) for k in np.arange(2.0, 4.01, 0.5)),
    repeats=8,
    uniform_dims=(2, 10),
    uniform_n_samples=20_000,
    uniform_pairs=3,
)


def pair_at_angle(theta: float, d: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Return unit vectors ``e, w`` in ``R^d`` at angle ``theta``, in a uniformly random plane.

    Examples
    --------
    >>> e, w = pair_at_angle(1.0, 5, np.random.default_rng(0))
    >>> round(float(np.arccos(e @ w)), 12), round(float(np.linalg.norm(w)), 12)
    (1.0, 1.0)
    """
    frame = orthonormal_teacher(2, d, rng=rng)
    return frame[0], np.cos(theta) * frame[0] + np.sin(theta) * frame[1]


def sampled_gating_gaussian(e, w, n_samples: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean of ``F(e, w)`` over ``n_samples`` Gaussian inputs and its standard errors.

    Uses :func:`dynsys.models.relu.monte_carlo` on the student ``[e, w]`` and the teacher ``[e]``:
    the per-sample gradient of the first unit is ``relu(w.x) 1(e.x > 0) x = F(e, w)``.
    """
    d = len(e)
    est = monte_carlo(np.stack([e, w]), e[None, :], n_samples=n_samples, rng=rng)
    return est.gradient[:d], est.gradient_se[:d]


def sampled_gating_uniform(e, w, n_samples: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean of ``F(e, w)`` over inputs uniform in ``[-1/2, 1/2]^d``, and its standard
    errors (sampled in chunks of bounded memory)."""
    d = len(e)
    rows = max(1, min(n_samples, _CHUNK_FLOATS // d))
    total, total_sq, done = np.zeros(d), np.zeros(d), 0
    while done < n_samples:
        m = min(rows, n_samples - done)
        X = rng.random((m, d)) - 0.5
        gate = (X @ e > 0.0) * np.maximum(X @ w, 0.0)
        total += gate @ X
        total_sq += (gate * gate) @ (X * X)
        done += m
    mean = total / n_samples
    var = np.maximum(total_sq - n_samples * mean * mean, 0.0) / (n_samples - 1)
    return mean, np.sqrt(var / n_samples)


def relative_error(exact, sampled) -> float:
    """Tian's relative error ``|exact - sampled| / |sampled|`` (inf if the sample mean is 0)."""
    norm = float(np.linalg.norm(sampled))
    return float(np.linalg.norm(np.asarray(exact) - sampled)) / norm if norm > 0 else np.inf


def fit_loglog_slope(x, y) -> tuple[float, float]:
    """Return the least-squares slope of ``log y`` against ``log x`` and its standard error.

    Examples
    --------
    >>> slope, se = fit_loglog_slope([1, 10, 100, 1000], [1.0, 0.1, 0.01, 0.001])
    >>> round(slope, 12), se < 1e-12
    (-1.0, True)
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    A = np.stack([lx, np.ones_like(lx)], axis=-1)
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    dof = max(len(lx) - 2, 1)
    sxx = float(((lx - lx.mean()) ** 2).sum())
    return float(coef[0]), float(np.sqrt((resid @ resid) / dof / sxx))


def angle_sweep(sizes: Sizes, rng) -> xr.Dataset:
    """Relative error (and the error predicted by the standard errors) over angles and ``N``."""
    thetas = np.linspace(0.0, np.pi, sizes.angles + 1)[:-1]
    shape = (len(sizes.angle_n_samples), sizes.angles, sizes.angle_repeats)
    error, predicted = np.empty(shape), np.empty(shape)
    for i, n in enumerate(sizes.angle_n_samples):
        for j, theta in enumerate(thetas):
            for r in range(sizes.angle_repeats):
                e, w = pair_at_angle(theta, sizes.d, rng)
                exact = population_gating(e, w)
                mean, se = sampled_gating_gaussian(e, w, n, rng)
                error[i, j, r] = relative_error(exact, mean)
                predicted[i, j, r] = np.linalg.norm(se) / np.linalg.norm(exact)
    dims = ("angle_n_samples", "theta", "angle_repeat")
    return xr.Dataset(
        {
            "angle_error": (dims, error, {"long_name": "relative error |E[F] - F_N| / |F_N|"}),
            "angle_error_predicted": (
                dims,
                predicted,
                {"long_name": "sampling error predicted by the standard errors, / |E[F]|"},
            ),
        },
        coords={
            "angle_n_samples": (
                "angle_n_samples",
                np.array(sizes.angle_n_samples),
                {"long_name": "samples per estimate (angle sweep)"},
            ),
            "theta": ("theta", thetas, {"long_name": "angle between e and w", "units": "rad"}),
        },
    )


def sample_size_sweep(sizes: Sizes, rng) -> xr.Dataset:
    """Relative error against ``N`` for fixed pairs with angles uniform in ``[0, pi/2]``."""
    pair_angle = rng.uniform(0.0, np.pi / 2, sizes.repeats)
    pairs = [pair_at_angle(theta, sizes.d, rng) for theta in pair_angle]
    exact = [population_gating(e, w) for e, w in pairs]
    shape = (len(sizes.n_samples), sizes.repeats)
    error, predicted = np.empty(shape), np.empty(shape)
    for i, n in enumerate(sizes.n_samples):
        for r, (e, w) in enumerate(pairs):
            mean, se = sampled_gating_gaussian(e, w, n, rng)
            error[i, r] = relative_error(exact[r], mean)
            predicted[i, r] = np.linalg.norm(se) / np.linalg.norm(exact[r])
    rms = np.sqrt((error**2).mean(axis=1))
    dims = ("n_samples", "repeat")
    return xr.Dataset(
        {
            "error": (dims, error, {"long_name": "relative error |E[F] - F_N| / |F_N|"}),
            "error_predicted": (
                dims,
                predicted,
                {"long_name": "sampling error predicted by the standard errors, / |E[F]|"},
            ),
            "rms_error": ("n_samples", rms, {"long_name": "root mean square relative error"}),
            "pair_angle": ("repeat", pair_angle, {"long_name": "angle(e, w)", "units": "rad"}),
        },
        coords={"n_samples": ("n_samples", np.array(sizes.n_samples), {"long_name": "samples N"})},
    )


def uniform_sweep(sizes: Sizes, rng) -> xr.Dataset:
    """Inputs uniform in ``[-1/2, 1/2]^d``: best global scale of the formula, relative error
    before and after rescaling, and the part of it that sampling noise explains."""
    n_dims, n_pairs = len(sizes.uniform_dims), sizes.uniform_pairs
    raw, scaled, noise = (np.empty((n_dims, n_pairs)) for _ in range(3))
    scale = np.empty(n_dims)
    for i, d in enumerate(sizes.uniform_dims):
        exact, sampled, ses = [], [], []
        for _ in range(n_pairs):
            e, w = pair_at_angle(rng.uniform(0.0, np.pi / 2), d, rng)
            mean, se = sampled_gating_uniform(e, w, sizes.uniform_n_samples, rng)
            exact.append(population_gating(e, w))
            sampled.append(mean)
            ses.append(se)
        exact, sampled, ses = np.array(exact), np.array(sampled), np.array(ses)
        scale[i] = (exact * sampled).sum() / (exact * exact).sum()  # least squares, all pairs
        norms = np.linalg.norm(sampled, axis=1)
        raw[i] = np.linalg.norm(exact - sampled, axis=1) / norms
        scaled[i] = np.linalg.norm(scale[i] * exact - sampled, axis=1) / norms
        noise[i] = np.linalg.norm(ses, axis=1) / norms
    rms = {k: np.sqrt((v**2).mean(axis=1)) for k, v in (("s", scaled), ("n", noise))}
    bias = np.sqrt(np.maximum(rms["s"] ** 2 - rms["n"] ** 2, 0.0))
    dims = ("dimension", "uniform_pair")
    return xr.Dataset(
        {
            "uniform_error_raw": (dims, raw, {"long_name": "relative error, formula as is"}),
            "uniform_error_scaled": (
                dims,
                scaled,
                {"long_name": "relative error after the best global scale"},
            ),
            "uniform_noise": (
                dims,
                noise,
                {"long_name": "sampling error alone (standard errors), relative"},
            ),
            "uniform_scale": ("dimension", scale, {"long_name": "best global scale factor"}),
            "uniform_bias": (
                "dimension",
                bias,
                {"long_name": "rms scaled error not explained by sampling noise"},
            ),
        },
        coords={
            "dimension": ("dimension", np.array(sizes.uniform_dims), {"long_name": "input dim d"})
        },
    )


def draw(ds: xr.Dataset) -> Figure:
    """Draw the three panels of Fig. 7."""
    fig = new_figure((15, 4.4))
    ax_angle, ax_n, ax_uniform = fig.subplots(1, 3)
    for n in ds.angle_n_samples.values:
        err = ds.angle_error.sel(angle_n_samples=n)
        med = err.median("angle_repeat")
        (line,) = ax_angle.semilogy(np.degrees(ds.theta), med, "o-", label=f"N = {n:.0e}")
        pred = np.sqrt((ds.angle_error_predicted.sel(angle_n_samples=n) ** 2).mean("angle_repeat"))
        ax_angle.semilogy(np.degrees(ds.theta), pred, ":", color=line.get_color())
    ax_angle.set(
        xlabel="angle(e, w) [deg]",
        ylabel="relative error (median; dotted: predicted)",
        title="(a) error vs angle",
    )
    ax_angle.legend(fontsize="small")
    N = ds.n_samples.values
    for r in range(ds.sizes["repeat"]):
        ax_n.loglog(N, ds.error.isel(repeat=r), ".", color="0.7", markersize=4)
    ax_n.loglog(N, ds.rms_error, "o-", color="C0", label="rms over pairs")
    slope, icpt = ds.attrs["slope"], ds.attrs["slope_intercept"]
    ax_n.loglog(N, np.exp(icpt) * N**slope, "--", color="C3", label=f"fit: slope {slope:.3f}")
    ax_n.set(xlabel="samples N", ylabel="relative error", title="(b) error vs N (Gaussian)")
    ax_n.legend(fontsize="small")
    dims = ds.dimension.values
    for name, style, label in (
        ("uniform_error_raw", "s-", "formula as is"),
        ("uniform_error_scaled", "o-", "after the best scale"),
        ("uniform_noise", ":", "sampling noise alone"),
    ):
        rms = np.sqrt((ds[name] ** 2).mean("uniform_pair"))
        ax_uniform.loglog(dims, rms, style, label=label)
    ax_uniform.xaxis.set_minor_formatter(NullFormatter())
    ax_uniform.set_xticks(dims, [str(d) for d in dims])
    scales = ", ".join(f"{12 * v:.3f}" for v in ds.uniform_scale.values)
    ax_uniform.text(0.03, 0.5, f"best scale x 12: {scales}", transform=ax_uniform.transAxes)
    ax_uniform.set(
        xlabel="input dimension d",
        ylabel="rms relative error",
        title=f"(c) uniform inputs, N = {ds.attrs['uniform_n_samples']:.0e}",
    )
    ax_uniform.legend(fontsize="small")
    return fig


def main(
    out_dir: str | Path = "out/tian_fig7_gradient_vs_sampling", *, quick: bool = False
) -> dict[str, Path]:
    """Run the experiment, save its data and figure, print a summary and check the slope.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``tian_fig7.nc`` and ``tian_fig7.png`` (created if missing).
    quick : bool
        A few seconds instead of about half a minute (fewer samples, repeats and dimensions).

    Returns
    -------
    dict
        ``{"data": path, "figure": path}``.
    """
    sizes = QUICK if quick else DEFAULT
    rng = np.random.default_rng(20170007)
    start = time.perf_counter()
    ds = xr.merge(
        [angle_sweep(sizes, rng), sample_size_sweep(sizes, rng), uniform_sweep(sizes, rng)]
    )
    slope, slope_se = fit_loglog_slope(ds.n_samples.values, ds.rms_error.values)
    intercept = float(np.mean(np.log(ds.rms_error.values) - slope * np.log(ds.n_samples.values)))
    ds.attrs = provenance(
        None,
        experiment="Tian 2017 Fig. 7: Theorem 1 against sampling",
        input_dimension=sizes.d,
        slope=slope,
        slope_se=slope_se,
        slope_intercept=intercept,
        slope_expected=-0.5,
        uniform_n_samples=sizes.uniform_n_samples,
        uniform_variance=UNIFORM_VARIANCE,
        quick=quick,
        rng_seed=20170007,
        seconds=time.perf_counter() - start,
    )
    paths = save_outputs(
        out_dir, {"data": ("tian_fig7.nc", ds)}, {"figure": ("tian_fig7.png", draw(ds))}, dpi=110
    )
    print(summary(ds))
    low, high = SLOPE_BAND_QUICK if quick else SLOPE_BAND
    assert low <= slope <= high, f"log-log slope {slope:.3f} outside [{low}, {high}]"
    return paths


def summary(ds: xr.Dataset) -> str:
    """A short text report of the numbers found."""
    lines = [f"Tian Fig. 7 (d = {ds.attrs['input_dimension']}, Gaussian inputs)"]
    for n in ds.angle_n_samples.values:
        med = ds.angle_error.sel(angle_n_samples=n).median("angle_repeat").values
        deg = np.degrees(ds.theta.values)
        lines.append(
            f"  N = {n:>7d}: median error {med[0]:.2e} at {deg[0]:.0f} deg, "
            f"{med[len(med) // 2]:.2e} at {deg[len(med) // 2]:.0f} deg, "
            f"{med[-1]:.2e} at {deg[-1]:.0f} deg"
        )
    lines.append(
        f"  error vs N: rms {ds.rms_error.values[0]:.2e} (N = {ds.n_samples.values[0]}) -> "
        f"{ds.rms_error.values[-1]:.2e} (N = {ds.n_samples.values[-1]}); log-log slope "
        f"{ds.attrs['slope']:.3f} +- {ds.attrs['slope_se']:.3f} (expected -0.5)"
    )
    ratio = np.sqrt((ds.error**2).mean() / (ds.error_predicted**2).mean())
    lines.append(f"  measured / predicted (standard errors) rms error: {float(ratio):.3f}")
    lines.append(f"Uniform inputs in [-1/2, 1/2]^d, N = {ds.attrs['uniform_n_samples']}:")
    for d in ds.dimension.values:
        sel = ds.sel(dimension=d)
        rms = {
            k: float(np.sqrt((sel[k] ** 2).mean()))
            for k in ("uniform_error_raw", "uniform_error_scaled", "uniform_noise")
        }
        lines.append(
            f"  d = {d:>3d}: scale {float(sel.uniform_scale):.5f} (x12 = "
            f"{12 * float(sel.uniform_scale):.4f}), error as is {rms['uniform_error_raw']:.2f}, "
            f"rescaled {rms['uniform_error_scaled']:.4f} (noise {rms['uniform_noise']:.4f}, "
            f"bias {float(sel.uniform_bias):.4f})"
        )
    lines.append(f"  ({ds.attrs['seconds']:.1f} s)")
    return "\n".join(lines)


if __name__ == "__main__":
    run_cli(
        main,
        "out/tian_fig7_gradient_vs_sampling",
        __doc__,
        quick_help="small sizes (a few seconds)",
    )
