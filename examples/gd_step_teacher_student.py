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
  with ``--quick``), reporting every period doubling found below ``1.32 * 2 / lambda_max``.

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

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs

from dynsys import ContinuationOptions, IterateOptions, NewtonOptions, iterate, status_names
from dynsys.continuation import continue_branch, switch_branch
from dynsys.maps import gradient_descent_map
from dynsys.models import teacher_student
from phase import draw_diagram, draw_floquet_multipliers, draw_orbit_diagram

K = 2  # units = input dimension
TOLERANCE = 1e-8  # the located PD must equal 2 / lambda_max this well
REACH = 1.32  # follow the branches up to this multiple of 2 / lambda_max


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


def draw(gd, branches: list[xr.Dataset], eta_star: float, *, quick: bool = False):
    """Left: the loss on the branches (every point of each cycle) over the orbit diagram of
    training itself (the losses of the last iterates from near the minimum at each step); right:
    the multipliers ``1 - eta lambda`` of the minimum, which leave the unit circle through -1 at
    ``2 / lambda_max``."""
    fig = new_figure((11, 4.5))
    left, right = fig.subplots(1, 2)
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
        Larger steps, and stop at period 4.

    Returns
    -------
    dict
        ``{"data": path, "figure": path}``.
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
    print(f"  {seconds:.1f} s")

    assert abs(eta_pd - eta_star) < TOLERANCE, f"PD at {eta_pd!r}, 2/lambda_max = {eta_star!r}"
    assert alignment > 0.999, f"the 2-cycle does not leave along the top eigenvector ({alignment})"
    assert training["error"] < 1e-8, f"training disagrees with continuation: {training['error']}"
    assert smallest_unit > 0.1, "a branch came close to a unit with zero weights"

    tree = xr.DataTree.from_dict({f"period{int(b.attrs['period'])}": b for b in branches})
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
        {"figure": ("gd_step_cascade.png", draw(gd, branches, eta_star, quick=quick))},
    )


if __name__ == "__main__":
    run_cli(main, "out/gd_step_teacher_student", __doc__)
