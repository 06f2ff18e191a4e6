"""Tian (2017), Fig. 9: gradient descent on the full K-unit network from ``1e-3 W* + noise``.

Teacher ``W* = I`` (``K`` orthonormal units, ``d = K``). Theorem 7 says that from the symmetric
start ``w_j = x e_j + y sum_{i != j} e_i`` with ``x > y`` the flow reaches the teacher; the paper's
Fig. 9 breaks the symmetry with noise, ``W0 = 1e-3 W* + eps`` with ``eps ~ N(0, sigma^2)`` entry by
entry, ``sigma = 1e-3 * noise``, and trains the full network by gradient descent
(:func:`dynsys.integrate.flow` with ``method="gradient_descent"``). Three choices of the fixed
second-layer weights, the same for student and teacher (``a = a*``, so the teacher stays a global
minimum with loss 0):

- all ``+1`` (the paper's top row);
- one ``-1`` (the last unit), the others ``+1``;
- half ``-1`` (the last ``K // 2`` units).

For every run the relative distance to the teacher up to a permutation of hidden units,
``min_pi |W - P_pi W*|_F / |W*|_F`` (:func:`dynsys.models.relu.distance_to_teacher`), is recorded
against the iterations, and at the end the loss, the status of the run and, for runs that stopped
at a critical point other than the teacher, its Morse index (:func:`dynsys.stability.classify`:
index 0 is a spurious local minimum). A run *reaches the teacher* when its final relative distance
is below ``1e-4`` (the gradient tolerance ``1e-9`` puts converged runs within about ``1e-8``).

Run ``python examples/tian_fig9_symmetry_breaking.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 7.3, Fig. 9).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs
from matplotlib.figure import Figure

from dynsys import Status
from dynsys.integrate import FlowOptions, flow
from dynsys.io import provenance, status_variable
from dynsys.models.relu import distance_to_teacher, loss, teacher_student
from dynsys.stability import classify

REACHED_TOL = 1e-4  # relative distance to the teacher that counts as reached
CONVERGE_TOL = 1e-9  # |grad L| at which gradient descent stops
SIGNAL = 1e-3  # W0 = SIGNAL * W* + noise


class Sizes(NamedTuple):
    """Size of the experiment."""

    K: int
    noise_levels: tuple[float, ...]
    seeds: int
    learning_rate: float
    t_max: float
    save_every: int


DEFAULT = Sizes(
    K=10,
    noise_levels=(0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
    seeds=8,
    learning_rate=0.1,
    t_max=1000.0,
    save_every=50,
)
QUICK = Sizes(
    K=4, noise_levels=(0.1, 10.0, 1000.0), seeds=2, learning_rate=0.1, t_max=300.0, save_every=50
)


def sign_patterns(K: int) -> dict[str, np.ndarray]:
    """The second-layer weights compared: all +1, one -1, half -1 (the last units negative).

    Examples
    --------
    >>> {k: v.astype(int).tolist() for k, v in sign_patterns(4).items()}
    {'all +1': [1, 1, 1, 1], 'one -1': [1, 1, 1, -1], 'half -1': [1, 1, -1, -1]}
    """
    one, half = np.ones(K), np.ones(K)
    one[-1] = -1.0
    half[K - K // 2 :] = -1.0
    return {"all +1": np.ones(K), "one -1": one, "half -1": half}


def initial_states(K: int, noise_levels, seeds: int, rng) -> np.ndarray:
    """``1e-3 W* + N(0, (1e-3 noise)^2)`` for ``W* = I``: shape ``(levels, seeds, K*K)``."""
    sigma = SIGNAL * np.asarray(noise_levels, dtype=float)[:, None, None]
    eps = rng.standard_normal((len(noise_levels), seeds, K * K))
    return SIGNAL * np.eye(K).ravel() + sigma * eps


def fill_stopped(x_saved: np.ndarray, x_final: np.ndarray) -> np.ndarray:
    """Saved states with the NaN rows after an orbit stopped replaced by its final state (a
    stopped orbit stays where it stopped)."""
    stopped = ~np.isfinite(x_saved).all(axis=-1)
    return np.where(stopped[..., None], x_final[:, None, :], x_saved)


def train(a: np.ndarray, x0: np.ndarray, sizes: Sizes) -> dict[str, np.ndarray]:
    """Gradient descent from every row of ``x0`` with output weights ``a = a*`` fixed.

    Returns relative distances and losses along the runs, and the final state, status, loss,
    distance, Morse index (-1 unless the run converged to a critical point away from the
    teacher) and iterations.
    """
    K = sizes.K
    W_star = np.eye(K)
    system = teacher_student(W_star, a=a, a_star=a)
    options = FlowOptions(
        method="gradient_descent",
        learning_rate=sizes.learning_rate,
        t_max=sizes.t_max,
        converge_tol=CONVERGE_TOL,
        save_every=sizes.save_every,
    )
    ds = flow(system, x0, options=options)
    x_final = ds.x_final.values
    states = fill_stopped(ds.x_saved.values, x_final)
    W = states.reshape(*states.shape[:-1], K, K)
    rel = distance_to_teacher(W, W_star)[0] / np.linalg.norm(W_star)
    curve_loss = loss(W, W_star, a, a)
    final_rel = distance_to_teacher(x_final.reshape(-1, K, K), W_star)[0] / np.linalg.norm(W_star)
    status = ds.status.values
    index = np.full(len(x_final), -1)
    elsewhere = (status == Status.CONVERGED) & (final_rel >= REACHED_TOL)
    if elsewhere.any():
        index[elsewhere] = classify(system, x_final[elsewhere])["index"].values
    return {
        "rel_distance": rel,
        "loss": curve_loss,
        "final_rel_distance": final_rel,
        "final_loss": ds.energy_final.values,
        "status": status,
        "index": index,
        "iterations": ds.n_steps.values,
        "iteration": ds.iteration.values,
        "x_final": x_final,
    }


def run_experiment(sizes: Sizes, rng) -> xr.Dataset:
    """All sign patterns, noise levels and seeds, as one Dataset."""
    patterns = sign_patterns(sizes.K)
    x0 = initial_states(sizes.K, sizes.noise_levels, sizes.seeds, rng)
    shape = (len(sizes.noise_levels), sizes.seeds)
    results = [train(a, x0.reshape(-1, sizes.K**2), sizes) for a in patterns.values()]

    def stack(key):
        return np.stack([r[key].reshape(*shape, *r[key].shape[1:]) for r in results])

    runs = ("config", "noise", "seed")
    curves = (*runs, "save")
    final_rel = stack("final_rel_distance")
    data = {
        "rel_distance": (curves, stack("rel_distance"), {"long_name": "|W - P W*| / |W*|"}),
        "loss": (curves, stack("loss"), {"long_name": "population loss"}),
        "final_rel_distance": (runs, final_rel, {"long_name": "final |W - P W*| / |W*|"}),
        "final_loss": (runs, stack("final_loss"), {"long_name": "final population loss"}),
        "reached": (
            runs,
            (final_rel < REACHED_TOL).astype(np.int8),
            {"long_name": f"1 if the final relative distance < {REACHED_TOL:g}"},
        ),
        "morse_index": (
            runs,
            stack("index"),
            {"long_name": "Morse index of a critical end point other than the teacher, else -1"},
        ),
        "iterations": (runs, stack("iterations"), {"long_name": "gradient descent iterations"}),
        "a": (("config", "unit"), np.stack(list(patterns.values())), {"long_name": "a = a*"}),
        "x0": (
            (*runs, "state"),
            np.broadcast_to(x0, (len(patterns), *x0.shape)).copy(),
            {"long_name": "initial state (W flattened)"},
        ),
        "x_final": ((*runs, "state"), stack("x_final"), {"long_name": "final state"}),
    }
    ds = xr.Dataset(
        data,
        coords={
            "config": ("config", list(patterns), {"long_name": "second-layer weights"}),
            "noise": ("noise", np.array(sizes.noise_levels), {"long_name": "noise (sigma/1e-3)"}),
            "iteration": ("save", results[0]["iteration"], {"long_name": "iteration"}),
        },
    )
    ds["status"] = status_variable(stack("status"), runs)
    return ds


def draw(ds: xr.Dataset) -> Figure:
    """One panel per (sign pattern, noise level): relative distance against iterations."""
    n_cfg, n_noise = ds.sizes["config"], ds.sizes["noise"]
    fig = new_figure((2.8 * n_noise, 2.5 * n_cfg))
    axes = fig.subplots(n_cfg, n_noise, sharex=True, sharey=True, squeeze=False)
    it = ds.iteration.values
    for i, cfg in enumerate(ds.config.values):
        for j, noise in enumerate(ds.noise.values):
            ax = axes[i, j]
            for s in range(ds.sizes["seed"]):
                run = ds.isel(config=i, noise=j, seed=s)
                colour = "C0" if int(run.reached) else "C3"
                ax.semilogy(it, np.maximum(run.rel_distance, 1e-12), color=colour, lw=0.9)
            frac = float(ds.reached.isel(config=i, noise=j).mean())
            ax.set_title(f"a: {cfg}, noise {noise:g}: {frac:.0%}", fontsize="small")
            if i == n_cfg - 1:
                ax.set_xlabel("iteration")
            if j == 0:
                ax.set_ylabel("relative distance")
    ax = axes[0, 0]
    ax.set_ylim(1e-10, 10)
    fig.suptitle(
        f"K = {ds.attrs['K']}: W0 = 1e-3 W* + N(0, (1e-3 noise)^2); blue: reaches the teacher",
        fontsize="medium",
    )
    return fig


def main(
    out_dir: str | Path = "out/tian_fig9_symmetry_breaking", *, quick: bool = False
) -> dict[str, Path]:
    """Run the experiment, save data and figure, print a summary.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``tian_fig9.nc`` and ``tian_fig9.png`` (created if missing).
    quick : bool
        ``K = 4``, three noise levels, two seeds (seconds).

    Returns
    -------
    dict
        ``{"data": path, "figure": path}``.
    """
    sizes = QUICK if quick else DEFAULT
    start = time.perf_counter()
    ds = run_experiment(sizes, np.random.default_rng(20170009))
    ds.attrs = provenance(
        teacher_student(np.eye(sizes.K)),
        experiment="Tian 2017 Fig. 9: gradient descent from 1e-3 W* + noise",
        K=sizes.K,
        signal=SIGNAL,
        learning_rate=sizes.learning_rate,
        t_max=sizes.t_max,
        save_every=sizes.save_every,
        converge_tol=CONVERGE_TOL,
        reached_tol=REACHED_TOL,
        quick=quick,
        rng_seed=20170009,
        seconds=time.perf_counter() - start,
    )
    paths = save_outputs(
        out_dir, {"data": ("tian_fig9.nc", ds)}, {"figure": ("tian_fig9.png", draw(ds))}, dpi=90
    )
    print(summary(ds))
    assert ds.reached.sel(config="all +1").isel(noise=0).all(), "a = 1, least noise: not reached"
    return paths


def summary(ds: xr.Dataset) -> str:
    """A short text report: fractions reaching the teacher and where the others ended."""
    head = (
        f"Tian Fig. 9 (K = {ds.attrs['K']}, {ds.sizes['seed']} seeds per noise level, "
        f"learning rate {ds.attrs['learning_rate']}, {ds.iteration.values[-1]} iterations max)"
    )
    lines = [head]
    header = "  ".join(f"{n:>6g}" for n in ds.noise.values)
    lines.append(f"  fraction reaching the teacher; noise = {header}")
    for cfg in ds.config.values:
        frac = ds.reached.sel(config=cfg).mean("seed").values
        row = "  ".join(f"{f:6.2f}" for f in frac)
        lines.append(f"    a = a* {cfg:<8s} (overall {float(frac.mean()):.2f}): {row}")
    for cfg in ds.config.values:
        sel = ds.sel(config=cfg)
        failed = sel.reached.values == 0
        if not failed.any():
            lines.append(f"  {cfg}: every run reached the teacher")
            continue
        index = sel.morse_index.values[failed]
        losses = sel.final_loss.values[failed]
        minima = np.unique(np.round(losses[index == 0], 5))
        parts = [f"{(index == 0).sum()} at spurious minima"]
        if minima.size:
            parts[0] += f" (loss {', '.join(f'{v:.5f}' for v in minima)})"
        parts.append(f"{(index > 0).sum()} at saddles")
        moving = losses[index < 0]
        if moving.size:
            parts.append(
                f"{moving.size} not converged in the budget (loss {moving.min():.2e} to "
                f"{moving.max():.2e})"
            )
        worst = sel.final_loss.values[~failed].max(initial=0.0)
        lines.append(
            f"  {cfg}: {failed.sum()} run(s) missed: {', '.join(parts)}; "
            f"reached: final loss <= {worst:.1e}"
        )
    lines.append(f"  ({ds.attrs['seconds']:.1f} s)")
    return "\n".join(lines)


if __name__ == "__main__":
    run_cli(
        main, "out/tian_fig9_symmetry_breaking", __doc__, quick_help="small sizes (a few seconds)"
    )
