"""Tian (2017), Fig. 8: the 2-D flow of Theorem 7, its saddles, and training from near zero.

Teacher ``W* = I`` (``K`` orthonormal units, ``d = K``), student with ``K`` units, all output
weights 1. On the symmetric subspace ``w_j = x e_j + y sum_{i != j} e_i`` the gradient flow is a
2-D system in ``(x, y)`` with ``K`` as a parameter (:func:`dynsys.models.reduced.theorem7`). This
example

1. finds its fixed points for ``K = 2`` and ``K = 5`` from a grid of seeds
   (:func:`dynsys.fixedpoints.find_fixed_points`), checks that the symmetric saddle lies at Tian's
   closed form ``x = y = (sqrt(K-1) - arccos(1/sqrt K) + pi) / (pi K)``
   (:func:`~dynsys.models.reduced.theorem7_saddle`), and classifies every point also in the full
   ``K^2``-dimensional flow (a sink of the 2-D flow need not be a minimum of the network);
2. draws both vector fields with the fixed points by kind (:func:`phase.portrait.portrait`);
3. follows the flow from ``(x, y) = (1e-3, 0)`` for ``K = 2, 5, 10`` to the teacher ``(1, 0)``
   (:func:`dynsys.integrate.trajectory`), with the training curve (the loss
   :func:`~dynsys.models.reduced.theorem7_loss` against time) and the detour the orbit takes
   (``y`` first grows with ``x``, then the units specialise).

Time is that of the full gradient flow ``W' = -grad L(W)`` restricted to the subspace.

Run ``python examples/tian_fig8_theorem7_field.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Theorem 7, Fig. 8).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys.fixedpoints import find_fixed_points
from dynsys.integrate import trajectory
from dynsys.io import atomic_write_path, provenance, save
from dynsys.models.reduced import theorem7, theorem7_embedding, theorem7_loss, theorem7_saddle
from dynsys.models.relu import teacher_student
from dynsys.stability import classify
from phase import Region
from phase.portrait import draw_orbits, portrait

PORTRAIT_K = (2, 5)
TRAJECTORY_K = (2, 5, 10)
START = (1e-3, 0.0)
TEACHER = (1.0, 0.0)
REGION = Region(lower=(-0.8, -0.3), upper=(1.3, 1.15))
SEED_BOX = ((-1.5, 1.5), (-1.5, 1.5))
SADDLE_TOL = 1e-10
ARRIVAL_TOL = 1e-3  # distance to the teacher that counts as arrived


def seed_grid(n: int) -> np.ndarray:
    """An ``n x n`` grid of seeds over :data:`SEED_BOX`, shape ``(n*n, 2)``."""
    (x0, x1), (y0, y1) = SEED_BOX
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.stack([X.ravel(), Y.ravel()], axis=-1)


def fixed_points(K: int, n_seeds: int) -> xr.Dataset:
    """Fixed points of the Theorem 7 flow for ``K``, with their kind in the full network.

    Adds ``full_index(point)``, ``full_nullity(point)`` and ``full_kind(point)``: the Morse
    index, the number of zero Hessian eigenvalues and the kind of the lifted
    point ``W = x I + y (1 1^T - I)`` in the gradient flow of the full ``K``-unit network.
    """
    system = theorem7(K)
    ds = find_fixed_points(system, seed_grid(n_seeds))
    full = teacher_student(np.eye(K))
    lifted = theorem7_embedding(K).lift(ds.x.values)
    stab = classify(full, lifted)
    ds["full_index"] = ("point", stab["index"].values, {"long_name": "Morse index in R^(K^2)"})
    ds["full_nullity"] = (
        "point",
        stab["nullity"].values,
        {"long_name": "zero Hessian eigenvalues in R^(K^2)"},
    )
    ds["full_kind"] = ("point", stab["kind"].values.astype(str), {"long_name": "kind in R^(K^2)"})
    ds["loss"] = (
        "point",
        theorem7_loss(ds.x.values, K),
        {"long_name": "population loss on the subspace"},
    )
    return ds


def symmetric_saddle(ds: xr.Dataset) -> np.ndarray:
    """The saddle on the diagonal ``x = y > 0`` of a fixed-point Dataset."""
    x = ds.x.values
    on_diagonal = (np.abs(x[:, 0] - x[:, 1]) < 1e-8) & (x[:, 0] > 0)
    saddles = np.flatnonzero(on_diagonal & (ds["kind"].values.astype(str) == "saddle"))
    if saddles.size != 1:
        raise RuntimeError(f"expected one saddle on x = y > 0, found {saddles.size}: {x}")
    return x[saddles[0]]


def training_runs(t_max: float, n_times: int) -> xr.Dataset:
    """Orbits from :data:`START` for every ``K`` of :data:`TRAJECTORY_K`, with loss and distance."""
    times = np.linspace(0.0, t_max, n_times)
    xs = []
    for K in TRAJECTORY_K:
        run = trajectory(
            theorem7(K), START, (0.0, t_max), t_eval=times, method="DOP853", rtol=1e-10, atol=1e-12
        )
        if run.attrs["status"] != 0:
            raise RuntimeError(f"K = {K}: the integrator failed: {run.attrs['message']}")
        xs.append(run.x.values)
    x = np.stack(xs)
    loss = np.stack([theorem7_loss(x[i], K) for i, K in enumerate(TRAJECTORY_K)])
    dist = np.linalg.norm(x - np.asarray(TEACHER), axis=-1)
    arrived = dist < ARRIVAL_TOL
    arrival = np.where(arrived.any(axis=1), times[np.argmax(arrived, axis=1)], np.nan)
    return xr.Dataset(
        {
            "x": (("K", "time", "state"), x, {"long_name": "state on the subspace"}),
            "loss": (("K", "time"), loss, {"long_name": "population loss L(x, y)"}),
            "distance": (("K", "time"), dist, {"long_name": "distance to the teacher (1, 0)"}),
            "y_max": ("K", x[..., 1].max(axis=1), {"long_name": "largest y on the orbit"}),
            "arrival_time": (
                "K",
                arrival,
                {"long_name": f"first saved time with distance < {ARRIVAL_TOL:g}"},
            ),
        },
        coords={
            "K": ("K", np.array(TRAJECTORY_K), {"long_name": "hidden units"}),
            "time": ("time", times, {"long_name": "time of the gradient flow"}),
            "state": ["x", "y"],
        },
    )


def draw(fps: dict[int, xr.Dataset], runs: xr.Dataset, path: Path) -> Path:
    """Four panels: the two vector fields, the orbits from (1e-3, 0), the training curves."""
    fig = Figure(figsize=(13, 10), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).ravel()
    for ax, (K, ds) in zip(axes[:2], fps.items(), strict=True):
        portrait(theorem7(K), REGION, fixed_points=ds, ax=ax, title=f"({'ab'[K > 2]}) K = {K}")
        ax.legend(loc="upper right", fontsize="small")  # "best" is slow among many arrows
    ax = axes[2]
    for i, K in enumerate(runs.K.values):
        orbit = runs.isel(K=i).drop_vars("K")
        draw_orbits(orbit, ax=ax, color=f"C{i}", label=f"K = {K}")
    ax.plot(*TEACHER, "*", color="k", markersize=12, label="teacher (1, 0)")
    ax.set(xlabel="x", ylabel="y", title="(c) orbits from (1e-3, 0)", aspect="equal")
    ax.legend(fontsize="small")
    ax = axes[3]
    for i, K in enumerate(runs.K.values):
        ax.semilogy(
            runs.time, np.maximum(runs.loss.isel(K=i), 1e-16), color=f"C{i}", label=f"K={K}"
        )
    ax.set(xlabel="time", ylabel="loss L(x, y)", title="(d) training curves", ylim=(1e-14, None))
    ax.legend(fontsize="small")
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def main(
    out_dir: str | Path = "out/tian_fig8_theorem7_field", *, quick: bool = False
) -> dict[str, Path]:
    """Run the experiment, save data and figure, print a summary and check the closed forms.

    Parameters
    ----------
    out_dir : str or Path
        Directory for the files (created if missing).
    quick : bool
        Fewer seeds for the fixed points and fewer saved times.

    Returns
    -------
    dict
        ``fixed_points_K2``, ``fixed_points_K5`` (fixed-point Datasets), ``trajectories`` and
        ``figure``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    n_seeds, n_times = (9, 201) if quick else (31, 1201)
    fps = {K: fixed_points(K, n_seeds) for K in PORTRAIT_K}
    runs = training_runs(t_max=40.0, n_times=n_times)
    saddle_error = {}
    for K, ds in fps.items():
        saddle_error[K] = float(np.abs(symmetric_saddle(ds) - theorem7_saddle(K)).max())
        ds.attrs["saddle_closed_form"] = theorem7_saddle(K)
        ds.attrs["saddle_error"] = saddle_error[K]
    runs.attrs = provenance(
        theorem7(2),
        experiment="Tian 2017 Fig. 8: Theorem 7 trajectories from (1e-3, 0)",
        start=list(START),
        method="DOP853",
        rtol=1e-10,
        atol=1e-12,
        arrival_tol=ARRIVAL_TOL,
        quick=quick,
        seconds=time.perf_counter() - start,
    )
    paths = {
        f"fixed_points_K{K}": save(ds, out / f"tian_fig8_fixed_points_K{K}.nc")
        for K, ds in fps.items()
    }
    paths["trajectories"] = save(runs, out / "tian_fig8_trajectories.nc")
    paths["figure"] = draw(fps, runs, out / "tian_fig8.png")
    print(summary(fps, runs, time.perf_counter() - start))
    for K, err in saddle_error.items():
        assert err < SADDLE_TOL, f"K = {K}: saddle off the closed form by {err:.2e}"
    assert np.all(runs.distance.values[:, -1] < ARRIVAL_TOL), "an orbit missed the teacher"
    return paths


def summary(fps: dict[int, xr.Dataset], runs: xr.Dataset, seconds: float) -> str:
    """A short text report of the numbers found."""
    lines = ["Tian Fig. 8 (Theorem 7 flow)"]
    for K, ds in fps.items():
        lines.append(
            f"  K = {K}: {ds.sizes['point']} fixed points; symmetric saddle "
            f"{symmetric_saddle(ds)[0]:.12f} vs closed form {theorem7_saddle(K):.12f} "
            f"(|diff| {ds.attrs['saddle_error']:.1e})"
        )
        for i in range(ds.sizes["point"]):
            p = ds.isel(point=i)
            lines.append(
                f"    ({float(p.x[0]):+.4f}, {float(p.x[1]):+.4f}) {p.kind.values!s:<10s} "
                f"loss {float(p.loss):.5f}; full network: {p.full_kind.values} "
                f"(index {int(p.full_index)}, nullity {int(p.full_nullity)})"
            )
    for i, K in enumerate(runs.K.values):
        r = runs.isel(K=i)
        lines.append(
            f"  K = {K:>2d} from (1e-3, 0): y_max {float(r.y_max):.4f}, |(x, y) - (1, 0)| < "
            f"{ARRIVAL_TOL:g} at t = {float(r.arrival_time):.2f}, final loss "
            f"{float(r.loss[-1]):.1e}"
        )
    lines.append(f"  ({seconds:.1f} s)")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/tian_fig8_theorem7_field", help="output dir")
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
