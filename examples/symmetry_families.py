"""Isotropy of the critical points of a ReLU teacher-student network, and the family of spurious
minima with one odd unit, Δ(S_{k-1} x S_1), followed in the width k as a real parameter.

Teacher ``W* = I_k`` (``K = K* = d = k`` orthonormal units, all second-layer weights one, input
``N(0, I)``), population loss of Tian (2017) in closed form.

1. Critical points in ``Fix(Δ(S_{k-1} x S_1))``: Newton from random seeds on the network
   restricted to that 5-dimensional fixed-point subspace
   (:func:`dynsys.symmetry.fixed_subspace_system`), refined on the whole network with the
   symmetry group ``UnitInputSymmetry(k, k)`` (pairs of unit and input permutations,
   ``W -> P W Q^T``), which records the isotropy subgroup of each point
   (``isotropy_order``, ``isotropy_name``, ``isotropy_generators``). The table shows the loss,
   the index in the whole space and the isotropy.
2. The family of the spurious minimum (Safran and Shamir 2018 find spurious minima from
   ``k = 6``) followed in real ``k``: the loss on ``Fix(H)`` with ``k`` a parameter
   (:func:`dynsys.models.families.young_family`), pseudo-arclength continuation, and the whole
   Hessian along the branch by irreducible representation of ``S_{k-1}``
   (:func:`dynsys.models.width.width_branch`). Printed: where the family changes type (an
   eigenvalue block crosses zero) and its index in the whole space on each side.

Run ``python examples/symmetry_families.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017.
I. Safran and O. Shamir, Spurious local minima are common in two-layer ReLU neural networks,
ICML 2018.
Y. Arjevani and M. Field, On the principle of least symmetry breaking in shallow ReLU models,
2019.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import new_figure, run_cli, save_outputs

from dynsys.continuation import ContinuationOptions
from dynsys.fixedpoints import find_fixed_points
from dynsys.models.relu import teacher_student
from dynsys.models.width import width_branch
from dynsys.symmetry import UnitInputSymmetry, fixed_subspace_system, young_subgroup

K = 6
SEED = 2017


def critical_points(k: int, n_seeds: int):
    """Critical points of the ``k``-unit network with isotropy at least Δ(S_{k-1} x S_1)."""
    network = teacher_student(np.eye(k))
    group = UnitInputSymmetry(k, k, tol=1e-7)
    H = young_subgroup(group, (k - 1, 1))
    subspace = fixed_subspace_system(network, H, orthonormal=False)
    seeds = np.random.default_rng(SEED).uniform(-1.5, 1.5, size=(n_seeds, subspace.n))
    inside = find_fixed_points(subspace, seeds, classify=False)
    lifted = subspace.lift(inside["x"].values)
    return find_fixed_points(network, lifted, symmetry=group), subspace, inside["x"].values


def report_points(points) -> list[str]:
    lines = [f"{'loss':>10} {'index':>5}  isotropy (order)"]
    for i in range(points.sizes["point"]):
        lines.append(
            f"{float(points['energy'][i]):10.6f} {int(points['index'][i]):5d}  "
            f"{points['isotropy_name'].values[i]!s} ({int(points['isotropy_order'][i])})"
        )
    return lines


def spurious_start(points, subspace, inside):
    """The spurious minimum of the whole network with isotropy Δ(S_{k-1} x S_1), in the
    coordinates of the subspace (the reported point is a canonical form, another point of its
    orbit: take the subspace point with its loss)."""
    name = f"Δ(S_{K - 1} x S_1)"
    pick = (points["isotropy_name"] == name) & (points["index"] == 0) & (points["energy"] > 1e-6)
    energy = float(points["energy"].values[np.flatnonzero(pick.values)[0]])
    return inside[int(np.argmin(np.abs(subspace.potential(inside) - energy)))]


def draw(branch):
    fig = new_figure((9, 3.6))
    left, right = fig.subplots(1, 2)
    k = branch["param"].values
    for j, name in enumerate(branch["irrep"].values):
        left.plot(k, branch["block_min_eigenvalue"].values[:, j], label=str(name))
    left.axhline(0.0, color="0.6", lw=0.8)
    left.set(xlabel="width k", ylabel="smallest Hessian eigenvalue", title="blocks by irreducible")
    left.legend(fontsize=8)
    right.plot(k, branch["full_index"].values, color="k")
    for kc in branch["type_change_k"].values:
        right.axvline(kc, color="C3", ls="--", lw=0.8)
    right.set(xlabel="width k", ylabel="index in the whole space", title="type of the family")
    return fig


def main(out_dir: str | Path = "out/symmetry_families", *, quick: bool = False) -> dict:
    """Find, name and follow; see the module docstring.

    Returns
    -------
    dict
        ``{"points": path, "branch": path, "figure": path}``.
    """
    points, subspace, inside = critical_points(K, 60 if quick else 400)
    print(f"critical points of the k = {K} network in Fix(Δ(S_{K - 1} x S_1)):")
    print("\n".join(report_points(points)))
    for i in range(points.sizes["point"]):  # criticality of the whole network
        assert float(points["residual"][i]) < 1e-10
    z0 = spurious_start(points, subspace, inside)
    options = ContinuationOptions(
        p_min=4.5 if quick else 3.0, p_max=7.5 if quick else 20.0, ds_max=0.2, max_points=400
    )
    branch = width_branch(z0, float(K), options=options)
    print(f"the spurious family followed in k in [{options.p_min}, {options.p_max}]:")
    folds = branch["special_param"].values[branch["special_type"].values == "LP"]
    print(f"  folds inside Fix(H) (births): {np.round(folds, 6).tolist() or 'none'}")
    print(f"  index inside Fix(H) along the branch: {sorted(set(branch['index'].values.tolist()))}")
    for k_star, irrep, direction in zip(
        branch["type_change_k"].values,
        branch["type_change_irrep"].values,
        branch["type_change_direction"].values,
        strict=True,
    ):
        sense = "becomes positive" if direction > 0 else "becomes negative"
        print(f"  type change at k = {k_star:.8f}: the block {irrep} {sense} as k grows")
    for k in (5.0, 6.0, 7.0):
        step = int(np.argmin(np.abs(branch["param"].values - k)))
        print(
            f"  k = {float(branch['param'][step]):.3f}: index in the whole space "
            f"{float(branch['full_index'][step]):.3f}"
        )
    return save_outputs(
        out_dir,
        {"points": ("critical_points.nc", points), "branch": ("spurious_family.nc", branch)},
        {"figure": ("spurious_family.png", draw(branch))},
    )


if __name__ == "__main__":
    run_cli(main, "out/symmetry_families", __doc__)
