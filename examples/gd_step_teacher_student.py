"""Gradient descent with a finite step on the teacher-student ReLU network, as a map in the step.

Training with step ``eta`` is the map ``W -> W - eta grad L(W)``. Its fixed points are the
critical points of the loss, but whether training settles on one is decided by the multipliers
``1 - eta lambda`` (``lambda`` the Hessian eigenvalues): a minimum attracts while
``eta lambda_max < 2`` and stops at ``eta = 2 / lambda_max``, where the multiplier of the top
Hessian direction passes -1 (the "edge of stability"). This example takes Tian's teacher-student
network (:func:`dynsys.models.teacher_student`) with ``K = d`` units and teacher ``W* = I``, all
output weights 1, and

- computes ``lambda_max`` of the Hessian at the global minimum ``W = W*`` (loss 0);
- continues that minimum in ``eta`` as a fixed point of the map
  (:func:`dynsys.continuation.continue_branch` on :func:`dynsys.maps.gradient_descent_map`) and
  checks that it loses stability by period doubling (PD, multiplier -1) exactly at
  ``2 / lambda_max`` (to 1e-8);
- switches onto the period-2 cycle that is born there (:func:`dynsys.continuation.switch_branch`)
  and continues it: its first points leave the minimum along the top Hessian eigenvector, the
  sign of the flip coefficient says whether the bifurcation is supercritical (a stable 2-cycle
  beyond ``2 / lambda_max``), and training itself (:func:`dynsys.integrate.iterate`) from near
  the minimum at a step inside the stable range settles on the same 2-cycle, whose two losses
  it alternates between;
- follows the cycle to where it doubles again, and on down the cascade (to period 16; period 4
  with ``--quick``), reporting every period doubling found below ``1.32 * 2 / lambda_max``;
- asks what training does from the initial weights of the seeds' protocol (every weight
  ``N(0, 1/d)``, :class:`dynsys.basins.NetworkInit`) as the step grows: the probability that it
  converges (to a minimum), cycles (on a periodic orbit), wanders on a chaotic set, or diverges,
  with Wilson intervals (:func:`dynsys.basins.basin_probability_sweep` over ``eta``, the same
  initial weights at every step). Past ``2 / lambda_max`` no orbit may end at the minimum
  ``W*`` or its mirror image (they no longer attract), and every cycle reported must be a
  verified attracting cycle of the map.

The ReLU field is not differentiable where a unit's weight vector vanishes; every point of every
branch is checked to stay away from that set.

Run ``python examples/gd_step_teacher_student.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017. J. Cohen, S. Kaur, Y. Li,
J. Z. Kolter and A. Talwalkar, Gradient descent on neural networks typically occurs at the edge of
stability, ICLR 2021.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs

from dynsys import ContinuationOptions, IterateOptions, NewtonOptions, iterate, status_names
from dynsys.basins import (
    AttractorOptions,
    BasinOptions,
    NetworkInit,
    basin_probability_sweep,
    wilson_interval,
)
from dynsys.continuation import continue_branch, switch_branch
from dynsys.maps import gradient_descent_map
from dynsys.models import teacher_student
from phase import draw_diagram, draw_floquet_multipliers, draw_orbit_diagram
from phase.basins import draw_probability_curves

K = 2  # units = input dimension
TOLERANCE = 1e-8  # the located PD must equal 2 / lambda_max this well
REACH = 1.32  # follow the branches up to this multiple of 2 / lambda_max
STEPS = (0.5, 0.8, 0.95, 1.05, 1.15, 1.22, 1.28, 1.31, 1.35, 1.45, 1.6, 2.0)  # x 2 / lambda_max
QUICK_STEPS = (0.8, 1.1, 1.3, 2.0)


def options(eta_star: float, *, quick: bool) -> ContinuationOptions:
    """Steps and bounds: ``eta`` in ``[0.5, REACH * eta_star]``."""
    return ContinuationOptions(
        ds_max=0.2 if quick else 0.05,
        p_min=0.5,
        p_max=REACH * eta_star,
        newton=NewtonOptions(step_tol=1e-12, max_iter=8),
    )


def doublings(branch: xr.Dataset) -> list[int]:
    """Rows of the period doublings located on a branch (a switched branch's row 0 is the
    doubling it starts from, left out)."""
    switched = int(branch.attrs.get("parent_special", -1)) >= 0
    return [
        i
        for i, t in enumerate(branch["special_type"].values.tolist())
        if t == "PD" and not (switched and i == 0)
    ]


def cascade(gd, teacher: np.ndarray, eta_star: float, *, quick: bool) -> list[xr.Dataset]:
    """The minimum continued in ``eta``, then the doubled cycles from each first PD."""
    opts = options(eta_star, quick=quick)
    branches = [continue_branch(gd, teacher, "eta", params={"eta": 1.0}, options=opts)]
    while branches[-1].attrs["period"] < (4 if quick else 16) and doublings(branches[-1]):
        branches.append(switch_branch(gd, branches[-1], doublings(branches[-1])[0], options=opts))
    return branches


def check_training(gd, teacher, two: xr.Dataset, top: np.ndarray) -> dict[str, float]:
    """Train from near the minimum at a step inside the stable range of the 2-cycle, and compare
    the cycle it settles on with the continued one."""
    stable = np.flatnonzero(two["stable"].values)
    k = int(stable[len(stable) // 2])
    eta = float(two["param"][k])
    starts = teacher + np.outer([0.01, -0.02], top) + 0.003
    run = iterate(gd, starts, params={"eta": eta}, options=IterateOptions(max_steps=50_000))
    assert status_names(run["status"]).tolist() == ["periodic", "periodic"], run["status"]
    assert run["period"].values.tolist() == [2, 2]
    branch_cycle = two["x_cycle"].values[k]
    error = 0.0
    for cycle in run["x_cycle"].values[:, :2]:
        error = max(
            error,
            min(np.abs(cycle - branch_cycle).max(), np.abs(cycle[::-1] - branch_cycle).max()),
        )
    losses = [float(gd.potential(x)) for x in branch_cycle]
    return {"eta": eta, "error": error, "loss_low": min(losses), "loss_high": max(losses)}


def outcomes(gd, teacher: np.ndarray, eta_star: float, *, quick: bool) -> xr.Dataset:
    """Basin probabilities of converging, cycling, chaos and divergence over the step, from
    the initial weights of the seeds' protocol (the same draws at every step)."""
    steps = eta_star * np.array(QUICK_STEPS if quick else STEPS)
    # orbits that do not settle within 10^4 iterations (3000 with --quick) are followed by
    # recurrence; Lyapunov exponents of chaotic sets from 4 orbits of 10^4 iterations (2000)
    iterations = IterateOptions(max_steps=3000 if quick else 10_000)
    recurrence = AttractorOptions(n_draw=200, lyapunov_iterations=2000 if quick else 10_000)
    return basin_probability_sweep(
        gd,
        "eta",
        steps,
        NetworkInit(fan_in=K),
        60 if quick else 400,
        seed=0,
        options=BasinOptions(iterate=iterations, recurrence=recurrence),
    )


def check_outcomes(gd, teacher: np.ndarray, eta_star: float, ds: xr.Dataset) -> dict[str, Any]:
    """What the mathematics demands of the basin probabilities: they add up to one at every
    step; past ``2 / lambda_max`` no orbit ends at ``W*`` or its mirror image (multiplier
    ``1 - eta lambda_max < -1``); every cycle reported is a verified attracting cycle of the map
    (``g^q(x) = x`` to 1e-10, every multiplier inside the unit circle); every chaotic set has a
    positive largest Lyapunov exponent (3 standard errors)."""
    total = ds["fraction"].sum("attractor").values
    assert np.allclose(total, 1.0), total
    minima = {tuple(np.round(teacher, 9)), tuple(np.round(np.eye(K)[::-1].ravel(), 9))}
    rows = ds["attractor"].values
    found = {"cycles": 0, "chaotic": 0}
    for i, eta in enumerate(ds["param"].values):
        at = ds.isel(param=i)
        for j in np.flatnonzero((rows >= 0) & (at["n_orbits"].values > 0)):
            kind = str(at["attractor_type"].values[j])
            x = at["attractor_x"].values[j]
            if kind == "point" and eta > eta_star:
                assert tuple(np.round(x, 9)) not in minima, f"W* attracts at eta = {eta}"
            if kind == "cycle":
                q = int(at["attractor_period"].values[j])
                gap = np.abs(gd.iterate(x, q, params={"eta": eta}) - x).max()
                mu = np.hypot(
                    at["attractor_eigenvalue_real"][j], at["attractor_eigenvalue_imag"][j]
                )
                assert gap < 1e-10 and float(np.nanmax(mu)) < 1.0, (eta, q, gap)
                found["cycles"] += 1
            if kind == "chaotic":
                lam = float(at["attractor_lyapunov"].values[j, 0])
                assert lam > 3 * float(at["attractor_lyapunov_stderr"].values[j, 0])
                found["chaotic"] += 1
    return found


def draw(
    gd, branches: list[xr.Dataset], eta_star: float, basins: xr.Dataset, *, quick: bool = False
):
    """Left: the loss on the branches (every point of each cycle) over the orbit diagram of
    training itself (the losses of the last iterates from near the minimum at each step); middle:
    the multipliers ``1 - eta lambda`` of the minimum, which leave the unit circle through -1 at
    ``2 / lambda_max``; right: what training from random initial weights does as the step
    grows."""
    fig = new_figure((16, 4.5))
    left, right, third = fig.subplots(1, 3)
    etas = np.linspace(0.5, REACH * eta_star, 40 if quick else 160)
    start = branches[0]["x"].values[0] + 0.01  # near the minimum, off its symmetric subspace
    training = draw_orbit_diagram(
        gd,
        "eta",
        etas,
        start,
        n_transient=400,
        n_keep=40,
        measure="loss",
        ax=left,
        color="black",
        markersize=1.8,
        label="training: last 40 iterates",
    )
    training.set_zorder(5)  # on top of the branches it should lie on
    draw_diagram(
        branches, measure="loss", system=gd, ax=left, title="loss: continuation and training"
    )
    left.axvline(eta_star, color="0.4", lw=0.8, ls=":")
    draw_floquet_multipliers(branches[0], ax=right)
    right.set_title(f"multipliers of the minimum; 2 / lambda_max = {eta_star:.6f}")
    draw_probability_curves(basins, ax=third, by="type")
    third.axvline(eta_star, color="0.4", lw=0.8, ls=":")
    third.set_xlabel("step eta")
    third.set_title(f"training from N(0, 1/d) weights ({basins.sizes['sample']} per step)")
    return fig


def main(
    out_dir: str | Path = "out/gd_step_teacher_student", *, quick: bool = False
) -> dict[str, Path]:
    """Continue the minimum in the step, switch down the period-doubling cascade, check, save.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``gd_step_cascade.nc`` (a DataTree, one node per period) and
        ``gd_step_cascade.png``.
    quick : bool
        Larger steps, stop at period 4, and basin probabilities at 4 steps from 60 draws.

    Returns
    -------
    dict
        ``{"data": path, "figure": path}``; the DataTree holds one node per period and the
        basin probabilities over the step (node ``basins``).
    """
    start = time.perf_counter()
    system = teacher_student(np.eye(K))
    teacher = np.eye(K).ravel()
    curvature, vectors = np.linalg.eigh(system.hessian(teacher))
    lam_max, top = float(curvature[-1]), vectors[:, -1]
    eta_star = 2.0 / lam_max
    gd = gradient_descent_map(system, step=1.0)
    branches = cascade(gd, teacher, eta_star, quick=quick)
    minimum, two = branches[0], branches[1]
    row = doublings(minimum)[0]
    eta_pd = float(minimum["special_param"][row])
    flip_c = float(minimum["special_flip_c"][row])
    leave = two["x"].values[1] - teacher
    alignment = abs(float(leave @ top)) / float(np.linalg.norm(leave))
    training = check_training(gd, teacher, two, top)
    smallest_unit = min(
        float(np.linalg.norm(b["x_cycle"].values.reshape(-1, K, K), axis=-1).min())
        for b in branches
    )
    basins = outcomes(gd, teacher, eta_star, quick=quick)
    kinds_found = check_outcomes(gd, teacher, eta_star, basins)
    seconds = time.perf_counter() - start

    print(f"teacher-student ReLU network, K = d = {K}, teacher W* = I; global minimum W = W*")
    print(f"  Hessian eigenvalues at the minimum: {np.array2string(curvature, precision=6)}")
    print(f"  lambda_max = {lam_max:.12f}, 2 / lambda_max = {eta_star:.12f}")
    print(
        f"  continued in eta: the minimum loses stability by period doubling at "
        f"eta = {eta_pd:.12f} (error {abs(eta_pd - eta_star):.1e}), flip coefficient "
        f"c = {flip_c:.4g} ({'supercritical' if flip_c > 0 else 'subcritical'})"
    )
    print(
        f"  the 2-cycle leaves the minimum along the top Hessian eigenvector "
        f"(|cos| = {alignment:.10f}); it is stable for eta in "
        f"[{two['param'].values[two['stable'].values].min():.6f}, "
        f"{two['param'].values[two['stable'].values].max():.6f}] (continuation points)"
    )
    print(
        f"  training at eta = {training['eta']:.6f} from near the minimum settles on it "
        f"(iterate: periodic, period 2; max deviation from the continued cycle "
        f"{training['error']:.1e}); the loss alternates between {training['loss_low']:.6g} and "
        f"{training['loss_high']:.6g}"
    )
    found = []
    for b in branches:
        for i in doublings(b):
            found.append((int(b.attrs["period"]), float(b["special_param"][i])))
        others = [
            f"{t} at {float(p):.6f}"
            for i, (t, p) in enumerate(
                zip(b["special_type"].values, b["special_param"].values, strict=True)
            )
            if t != "PD"
        ]
        stable = b["param"].values[b["stable"].values]
        span = f"[{stable.min():.6f}, {stable.max():.6f}]" if stable.size else "nowhere"
        print(
            f"  period {int(b.attrs['period']):2d}: {b.sizes['step']} points, stable on {span}"
            + (f"; other special points: {', '.join(others)}" if others else "")
        )
    print("  period doublings (period -> twice): " + ", ".join(f"{p} at {e:.8f}" for p, e in found))
    print(f"  smallest |w_j| on any branch: {smallest_unit:.3f} (the field is smooth there)")
    print(
        f"  training from N(0, 1/d) initial weights ({basins.sizes['sample']} draws, the same at "
        "every step): probability of each outcome, 95% Wilson interval"
    )
    for i, eta in enumerate(basins["param"].values):
        at = basins.isel(param=i)
        share: dict[str, int] = {}
        for j in range(basins.sizes["attractor"]):
            kind = str(at["attractor_type"].values[j]) or str(at["attractor_kind"].values[j])
            if kind == "cycle":
                kind = f"cycle (period {int(at['attractor_period'].values[j])})"
            share[kind] = share.get(kind, 0) + int(at["n_orbits"].values[j])
        total = sum(share.values())
        parts = []
        for kind, count in share.items():
            if count:
                low, high = wilson_interval(count, total)
                parts.append(f"{kind} {count / total:.3f} [{float(low):.3f}, {float(high):.3f}]")
        print(f"    eta = {eta:.4f} ({eta / eta_star:.2f} x 2/lambda_max): " + ", ".join(parts))
    print(
        f"  {kinds_found['cycles']} attracting cycle(s) and {kinds_found['chaotic']} chaotic "
        "set(s) found, each verified"
    )
    print(f"  {seconds:.1f} s")

    assert abs(eta_pd - eta_star) < TOLERANCE, f"PD at {eta_pd!r}, 2/lambda_max = {eta_star!r}"
    assert alignment > 0.999, f"the 2-cycle does not leave along the top eigenvector ({alignment})"
    assert training["error"] < 1e-8, f"training disagrees with continuation: {training['error']}"
    assert smallest_unit > 0.1, "a branch came close to a unit with zero weights"

    nodes = {f"period{int(b.attrs['period'])}": b for b in branches}
    tree = xr.DataTree.from_dict({**nodes, "basins": basins})
    tree.attrs.update(
        experiment="gradient descent with step eta on the teacher-student ReLU network",
        K=K,
        lambda_max=lam_max,
        eta_star=eta_star,
        eta_pd=eta_pd,
        flip_coefficient=flip_c,
        doublings=np.array([e for _, e in found]),
        quick=int(quick),
    )
    return save_outputs(
        out_dir,
        {"data": ("gd_step_cascade.nc", tree)},
        {"figure": ("gd_step_cascade.png", draw(gd, branches, eta_star, basins, quick=quick))},
    )


if __name__ == "__main__":
    run_cli(main, "out/gd_step_teacher_student", __doc__)
