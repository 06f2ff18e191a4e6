"""The skewed Hessian spectrum at spurious minima of the teacher-student ReLU network, computed
matrix-free: most eigenvalues near zero, a few (about d) growing linearly with k.

Arjevani and Field (2020) prove that at families of spurious minima of the network with
``k = d`` hidden units, Gaussian inputs and an orthonormal teacher, of the ``dk`` Hessian
eigenvalues ``dk - O(d)`` stay bounded ("near zero" on the scale of ``k``) while ``Omega(d)``
grow linearly with ``k``. Here that is measured, never forming the Hessian:

1. for each ``k = d``: teacher ``W* = I``, plain gradient descent (step 0.1, start entries
   ``N(0, 1/d)``) on the population loss from a batch of starts, stopped when
   ``max_j |dJ/dw_j| <= 1e-9``; the converged run with the lowest loss ``J >= 1e-3`` is a spurious
   critical point;
2. it is verified a minimum from its smallest Hessian eigenvalues by Lanczos (ARPACK on the
   analytic Hessian-vector product, :func:`dynsys.spectra.extreme_eigenvalues`): positive, with
   residuals (error bounds) far below them;
3. its spectral density by stochastic Lanczos quadrature
   (:func:`dynsys.spectra.spectral_density`, 24 Rademacher probes x 60 steps): the number of
   eigenvalues above ``THRESHOLD = 1`` with its standard error, and the fraction below with a
   95% interval (:func:`dynsys.spectra.fraction_below`); the largest eigenvalues by Lanczos;
4. for ``k <= DENSE_MAX`` the same numbers from the dense closed-form Hessian, as a check
   (Lanczos to 1e-8, SLQ counts within 4 standard errors).

The figure shows the density at the largest ``k`` (log scale, threshold marked) and, against
``k``, the number of large eigenvalues and the largest eigenvalue.

Run ``python examples/hessian_spectrum_spurious.py [--out DIR] [--quick]``.

References
----------
Y. Arjevani and M. Field, Analytic characterization of the Hessian in shallow ReLU models: a
tale of symmetry, NeurIPS 2020.
S. Ubaru, J. Chen and Y. Saad, Fast estimation of tr(f(A)) via stochastic Lanczos quadrature,
SIAM J. Matrix Anal. Appl. 38 (2017).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs

from dynsys import Status
from dynsys.integrate import FlowOptions, flow
from dynsys.models.relu import hessian, loss, teacher_student
from dynsys.spectra import extreme_eigenvalues, fraction_below, hessian_operator, spectral_density
from phase import draw_spectral_density

THRESHOLD = 1.0  # eigenvalues above it are "large"
SPURIOUS_LOSS = 1e-3
GRADIENT_TOL = 1e-9
PROBES, STEPS = 24, 60
DENSE_MAX = 24  # dense checks up to this k (576 parameters)
RNG_SEED = 2020
SIZES = {
    "default": {"ks": (8, 12, 16, 20, 24, 32, 40), "runs": 16, "batches": 4},
    "quick": {"ks": (8, 10), "runs": 16, "batches": 3},
}


def spurious_minimum(k: int, runs: int, batches: int) -> tuple[np.ndarray, float, int]:
    """Descend from batches of random starts until a converged run ends at ``J >= 1e-3``;
    return its end point, its loss and the number of runs used."""
    system = teacher_student(np.eye(k))
    options = FlowOptions(
        method="gradient_descent",
        learning_rate=0.1,
        converge_tol=GRADIENT_TOL,
        converge_block=k,
        t_max=np.inf,
        max_steps=1_000_000,
    )
    rng = np.random.default_rng(RNG_SEED + k)
    for batch in range(batches):
        x0 = rng.standard_normal((runs, k * k)) / np.sqrt(k)
        ds = flow(system, x0, options=options)
        x = ds["x_final"].values
        J = loss(x.reshape(-1, k, k), np.eye(k))
        found = np.flatnonzero((ds["status"].values == Status.CONVERGED) & (J >= SPURIOUS_LOSS))
        if found.size:
            best = found[np.argmin(J[found])]
            return x[best], float(J[best]), (batch + 1) * runs
    raise RuntimeError(f"no spurious minimum in {batches * runs} runs at k = {k}")


def measure(k: int, runs: int, batches: int) -> tuple[dict, xr.Dataset]:
    """Find a spurious minimum at ``k = d`` and measure its spectrum matrix-free."""
    start = time.perf_counter()
    x, J, used = spurious_minimum(k, runs, batches)
    found = time.perf_counter() - start
    H = hessian_operator(teacher_student(np.eye(k)), x)
    start = time.perf_counter()
    ends = extreme_eigenvalues(H, k=3, which="both", ncv=40)
    slq = spectral_density(H, n_vectors=PROBES, lanczos_steps=STEPS, seed=k, thresholds=[THRESHOLD])
    spent = time.perf_counter() - start
    small = ends.where(ends["end"] == "smallest", drop=True)
    large = ends.where(ends["end"] == "largest", drop=True)
    assert np.all(ends["status"].values == Status.CONVERGED), ends["reason"].values
    lam_min, res_min = float(small["eigenvalue"][0]), float(small["residual"].max())
    assert lam_min > 0 and res_min < 1e-6 * lam_min, (k, lam_min, res_min)  # a verified minimum
    n = k * k
    frac = fraction_below(slq, THRESHOLD)
    row = {
        "k": k,
        "loss": J,
        "runs": used,
        "lambda_min": lam_min,
        "lambda_min_residual": res_min,
        "lambda_max": float(large["eigenvalue"][0]),
        "count_above": n - slq["count_below"].item(),
        "count_above_se": slq["count_below_se"].item(),
        "fraction_below": frac.fraction,
        "fraction_low": frac.low,
        "fraction_high": frac.high,
        "n_products": ends.attrs["n_products"] + slq.attrs["n_products"],
        "seconds_descent": found,
        "seconds_spectrum": spent,
        "lambda_max_dense": np.nan,
        "count_above_dense": np.nan,
    }
    if k <= DENSE_MAX:
        dense = np.linalg.eigvalsh(hessian(x.reshape(k, k), np.eye(k)))
        row["lambda_max_dense"], row["count_above_dense"] = (
            dense[-1],
            int((dense > THRESHOLD).sum()),
        )
        assert abs(row["lambda_max"] - dense[-1]) < 1e-8 and abs(lam_min - dense[0]) < 1e-8
        assert (
            abs(row["count_above"] - row["count_above_dense"]) <= 4 * row["count_above_se"] + 1e-9
        )
    return row, slq


def table(rows: list[dict]) -> xr.Dataset:
    ks = [r["k"] for r in rows]
    names = [key for key in rows[0] if key != "k"]
    ds = xr.Dataset(
        {key: ("k", np.array([r[key] for r in rows], dtype=float)) for key in names},
        coords={"k": ks},
        attrs={
            "threshold": THRESHOLD,
            "probes": PROBES,
            "lanczos_steps": STEPS,
            "teacher": "identity, k = d",
            "description": "spurious minima of the teacher-student ReLU network: Hessian "
            "spectrum by Lanczos and stochastic Lanczos quadrature (matrix-free)",
        },
    )
    slope, intercept = np.polyfit(ds["k"], ds["lambda_max"], 1)
    ds.attrs.update(lambda_max_slope=float(slope), lambda_max_intercept=float(intercept))
    return ds


def draw(ds: xr.Dataset, density: xr.Dataset):
    fig = new_figure((11, 3.8))
    ax_density, ax_count, ax_max = fig.subplots(1, 3, width_ratios=(1.6, 1, 1))
    draw_spectral_density(density, ax=ax_density)
    k = ds["k"].values
    ax_density.set_title(f"spurious minimum, k = d = {k[-1]} ({k[-1] ** 2} parameters)")
    ax_count.errorbar(
        k, ds["count_above"], yerr=4 * ds["count_above_se"], fmt="o", label="SLQ (4 s.e.)"
    )
    ax_count.plot(k, k + 1, color="grey", ls=":", label="d + 1")
    dense = np.isfinite(ds["count_above_dense"].values)
    ax_count.plot(k[dense], ds["count_above_dense"].values[dense], "x", color="k", label="dense")
    ax_count.set_xlabel("k = d")
    ax_count.set_ylabel(f"eigenvalues above {THRESHOLD:g}")
    ax_count.legend(fontsize="small")
    slope, icpt = ds.attrs["lambda_max_slope"], ds.attrs["lambda_max_intercept"]
    ax_max.plot(k, ds["lambda_max"], "o", label="Lanczos")
    ax_max.plot(k, slope * k + icpt, color="grey", ls=":", label=f"{slope:.3f} k + {icpt:.2f}")
    ax_max.set_xlabel("k = d")
    ax_max.set_ylabel("largest eigenvalue")
    ax_max.legend(fontsize="small")
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = [
        f"Hessian spectra at spurious minima (k = d, teacher I; large: eigenvalue > {THRESHOLD:g})",
        "   k   loss      lambda_min  lambda_max  large (SLQ +- s.e.)  dense  below (95% CI)",
    ]
    for k in ds["k"].values:
        r = ds.sel(k=k)
        dense = r["count_above_dense"].item()
        lines.append(
            f"{k:4d}  {r['loss'].item():.5f}  {r['lambda_min'].item():.5f}     "
            f"{r['lambda_max'].item():8.4f}  {r['count_above'].item():7.1f} +- "
            f"{r['count_above_se'].item():4.1f}      {'' if np.isnan(dense) else int(dense):>5}  "
            f"{100 * r['fraction_below'].item():.1f}% [{100 * r['fraction_low'].item():.1f}, "
            f"{100 * r['fraction_high'].item():.1f}]"
        )
    lines.append(
        f"largest eigenvalue ~ {ds.attrs['lambda_max_slope']:.4f} k + "
        f"{ds.attrs['lambda_max_intercept']:.3f} (least squares)"
    )
    return "\n".join(lines)


def main(out_dir: str | Path = "out/hessian_spectrum_spurious", *, quick: bool = False):
    """Measure, save the table and the density, draw the figure; return the files written."""
    size = SIZES["quick" if quick else "default"]
    rows, density = [], None
    for k in size["ks"]:
        row, density = measure(k, size["runs"], size["batches"])
        rows.append(row)
    ds = table(rows)
    print(summary(ds))
    return save_outputs(
        out_dir,
        {
            "table": ("spectra_table.nc", ds),
            "density": ("spectral_density.nc", density),
        },
        {"figure": ("hessian_spectrum_spurious.png", draw(ds, density))},
    )


if __name__ == "__main__":
    run_cli(main, "out/hessian_spectrum_spurious", __doc__)
