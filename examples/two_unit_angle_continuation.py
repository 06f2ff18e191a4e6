"""The in-plane critical points of a K = 2 ReLU network, continued in the angle between the two
teacher units.

Teacher ``W*(angle) = [e_1, cos(angle) e_1 + sin(angle) e_2]`` (:func:`two_unit_teacher`), student
with two units in ``d = 2`` (the teacher plane; the state ``(w_1, w_2)`` is 4-D), all
second-layer weights 1. The angle is a real parameter of a :class:`GradientSystem` built here from
the closed-form loss, gradient and Hessian of :mod:`dynsys.models.relu` with the teacher at that
angle. At ``angle = pi/2`` the critical points are found by Newton from many seeds (one per orbit
of the unit permutations); every isolated one is continued in the angle over ``[0.1, pi]``,
switching branches at branch points (depth 1). Points with a zero Hessian eigenvalue at the start
(Tian's collinear saddles, a curve of critical points) are reported but not continued: they are
not isolated, so they do not form a curve in (state, angle).

Every point of every branch is checked to be critical (gradient computed afresh from
:func:`dynsys.models.relu.gradient`), and every special point against the Hessian
(:func:`dynsys.models.relu.hessian`): an eigenvalue crosses zero there. Where critical points
appear or vanish (folds, branch points) is reported, with the loss on the diagram.

Run ``python examples/two_unit_angle_continuation.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 5.3, K = 2).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.optimize import root

from dynsys import status_names
from dynsys.continuation import ContinuationOptions, bifurcation_diagram
from dynsys.fixedpoints import NewtonOptions, find_fixed_points
from dynsys.io import atomic_write_path, save
from dynsys.models.relu import gradient, hessian, loss, state_names, two_unit_teacher
from dynsys.symmetry import PermutationSymmetry
from dynsys.system import GradientSystem
from phase.bifurcation import draw_diagram

K = 2
ANGLE_START = np.pi / 2
ANGLE_MIN = 0.1  # below, the minima flatten (softest eigenvalue ~ angle^3) and a unit dies
ANGLE_MAX = np.pi
RNG_SEED = 20170053


def teacher_at(angle: float, d: int = 2) -> np.ndarray:
    """The teacher :func:`two_unit_teacher` ``(angle, d)``, extended beyond ``[0, pi]`` by its
    formula ``[e_1, cos(angle) e_1 + sin(angle) e_2]``.

    Examples
    --------
    >>> teacher_at(np.pi / 2).round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    if 0.0 <= angle <= np.pi:
        return two_unit_teacher(angle, d)
    W = np.zeros((2, d))  # corrector trial points may step just past the bounds
    W[0, 0] = 1.0
    W[1, 0], W[1, 1] = np.cos(angle), np.sin(angle)
    return W


def angle_system(d: int = 2) -> GradientSystem:
    """The gradient flow of the population loss of two student units, with the angle between
    the two teacher units as the parameter ``angle``.

    Examples
    --------
    >>> system = angle_system()
    >>> float(np.abs(system.f(two_unit_teacher(1.0).ravel(), {"angle": 1.0})).max()) < 1e-14
    True
    """

    def split(x):
        return x.reshape(*x.shape[:-1], K, d)

    def V(x, p):
        return loss(split(x), teacher_at(p["angle"], d))

    def grad(x, p):
        return gradient(split(x), teacher_at(p["angle"], d), on_singular="nan")

    def hess(x, p):
        return hessian(split(x), teacher_at(p["angle"], d), on_singular="nan")

    probe = np.random.default_rng(RNG_SEED).standard_normal(K * d)
    return GradientSystem(
        V,
        state_names(K, d),
        {"angle": ANGLE_START},
        grad=grad,
        hess=hess,
        name="relu_two_unit_teacher_angle",
        probe=probe,
    )


def critical_points(system: GradientSystem, *, seeds: int) -> xr.Dataset:
    """Critical points at ``angle = pi/2`` from uniform seeds in ``[-2, 2]^4``, one per orbit of
    the unit permutations."""
    rng = np.random.default_rng(RNG_SEED)
    return find_fixed_points(
        system,
        rng.uniform(-2.0, 2.0, (seeds, system.n)),
        options=NewtonOptions(max_iter=100),
        bounds=[(-3.0, 3.0)] * system.n,
        symmetry=PermutationSymmetry(K, system.n // K),
    )


def stop_name(branch: xr.Dataset, end: str) -> str:
    """Why ``branch`` stopped at its ``end`` ("backward" or "forward"); "-" if not traced."""
    if end not in branch["end"].values:
        return "-"
    return str(status_names(branch["status"].sel(end=end).values))


def continuation_options(*, quick: bool) -> ContinuationOptions:
    """Angle in ``[0.1, pi]``; state bound 20."""
    return ContinuationOptions(
        ds=0.01,
        ds_max=0.1 if quick else 0.05,
        p_min=ANGLE_MIN,
        p_max=ANGLE_MAX,
        x_max=20.0,
        max_points=250 if quick else 600,
    )


def continue_in_angle(system, points: xr.Dataset, *, quick: bool) -> xr.DataTree:
    """A diagram (depth 1) from every isolated critical point; nodes ``start<k>/branch<j>``."""
    nodes = {}
    for k in np.flatnonzero(points["nullity"].values == 0):
        tree = bifurcation_diagram(
            system,
            points["x"].values[k],
            "angle",
            params={"angle": ANGLE_START},
            options=continuation_options(quick=quick),
            max_depth=1,
        )
        for name, node in tree.children.items():
            branch = node.to_dataset()
            branch.attrs["start_point"] = int(k)
            branch.attrs["start_kind"] = str(points["kind"].values[k])
            nodes[f"start{k}/{name}"] = branch
    return xr.DataTree.from_dict(nodes)


def branches(tree: xr.DataTree) -> dict[str, xr.Dataset]:
    """Every branch of the diagram, by path."""
    return {
        node.path.strip("/"): node.to_dataset() for node in tree.subtree if "param" in node.dataset
    }


def max_gradient(branch: xr.Dataset, d: int = 2) -> float:
    """Largest ``|grad L|`` (max norm) along a branch, from the closed-form gradient."""
    X = branch["x"].values.reshape(-1, K, d)
    G = [gradient(W, teacher_at(a, d)) for W, a in zip(X, branch["param"].values, strict=True)]
    return float(np.abs(G).max())


def hessian_check(branch: xr.Dataset, row: int, d: int = 2) -> dict[str, float]:
    """The Hessian eigenvalue nearest zero at special point ``row``, and the eigenvalue of the
    same rank at the two steps around it (a sign change means one crossed zero)."""
    angle = float(branch["special_param"].values[row])
    at = np.linalg.eigvalsh(
        hessian(branch["special_x"].values[row].reshape(K, d), teacher_at(angle))
    )
    rank = int(np.argmin(np.abs(at)))
    step = int(branch["special_step"].values[row])
    last = branch.sizes["step"] - 1
    junction = bool(branch.attrs.get("parent_branch")) and step == branch.attrs["start_step"]
    around = []
    for j in (max(step - junction, 0), min(step + 1, last)):  # a junction lies on step itself
        W = branch["x"].values[j].reshape(K, d)
        around.append(np.linalg.eigvalsh(hessian(W, teacher_at(branch["param"].values[j])))[rank])
    return {
        "angle": angle,
        "eigenvalue": float(at[rank]),
        "scale": float(np.abs(at).max()),
        "before": float(around[0]),
        "after": float(around[1]),
    }


def extended_system_root(x, angle: float, d: int = 2) -> tuple[float, float]:
    """Newton (:func:`scipy.optimize.root`) on ``grad L = 0, H v = 0, <v, v0> = 1`` in
    ``(W, angle, v)`` from a special point: an independent location (closed-form gradient and
    Hessian only). Returns the angle and the residual norm."""
    n = K * d
    w, V = np.linalg.eigh(hessian(np.reshape(x, (K, d)), teacher_at(angle, d)))
    v0 = V[:, int(np.argmin(np.abs(w)))]

    def equations(z):
        W, teacher, v = z[:n].reshape(K, d), teacher_at(z[n], d), z[n + 1 :]
        return np.concatenate([gradient(W, teacher), hessian(W, teacher) @ v, [v @ v0 - 1.0]])

    sol = root(equations, np.concatenate([x, [angle], v0]), method="hybr", tol=1e-14)
    return float(sol.x[n]), float(np.linalg.norm(equations(sol.x)))


def off_bisector(branch: xr.Dataset) -> np.ndarray:
    """Per step, the largest distance of a unit from the bisector line of the teacher units,
    relative to its norm: zero on the reflection-symmetric critical points."""
    half = branch["param"].values / 2
    normal = np.stack([-np.sin(half), np.cos(half)], axis=-1)  # normal of the bisector line
    W = branch["x"].values.reshape(-1, K, 2)
    return np.max(np.abs(np.einsum("skd,sd->sk", W, normal)) / np.linalg.norm(W, axis=-1), -1)


def reflect(W: np.ndarray, angle: float) -> np.ndarray:
    """Reflect every unit across the bisector line of the teacher units (a symmetry of the loss:
    it swaps the two teacher units)."""
    c, s = np.cos(angle), np.sin(angle)
    return W @ np.array([[c, s], [s, -c]])


def _to_polyline(point: np.ndarray, line: np.ndarray) -> float:
    a, b = line[:-1], line[1:]
    seg = b - a
    t = np.clip(np.einsum("ij,ij->i", point - a, seg) / np.einsum("ij,ij->i", seg, seg), 0, 1)
    return float(np.min(np.linalg.norm(a + t[:, None] * seg - point, axis=1)))


def mirror_distance(child: xr.Dataset) -> float:
    """How far the reflection of the switched branch's first half lies from its second half, in
    (state, angle) space, units in either order (zero for a pitchfork, up to the chord error)."""
    start = int(child.attrs["start_step"])
    X, a = child["x"].values, child["param"].values
    half_b = np.column_stack([X[start:], a[start:]])
    worst = 0.0
    for j in range(start):
        W = reflect(X[j].reshape(K, 2), a[j])
        images = [np.append(V.ravel(), a[j]) for V in (W, W[::-1])]
        worst = max(worst, min(_to_polyline(v, half_b) for v in images))
    return worst


def interpret(tree: xr.DataTree) -> list[str]:
    """What the branch points mean: which branch changes index, on which side the new branch
    lies, and its symmetry."""
    parts = branches(tree)
    lines = []
    for path, branch in parts.items():
        if branch.attrs.get("parent_branch"):
            continue
        prefix = path.rsplit("/", 1)[0]
        for row in np.flatnonzero(branch["special_type"].values == "BP"):
            angle = float(branch["special_param"].values[row])
            step = int(branch["special_step"].values[row])
            kinds = branch["kind"].values
            children = [
                (p, b)
                for p, b in parts.items()
                if p.startswith(prefix + "/")
                and b.attrs.get("parent_branch") == path.rsplit("/", 1)[1]
                and b.attrs.get("parent_special") == row
            ]
            lines.append(
                f"  BP at angle {angle:.8f} on {path}: {kinds[step]} -> {kinds[step + 1]} as the "
                f"angle increases; reflection-symmetric there (units on the bisector line to "
                f"{off_bisector(branch).max():.0e})."
            )
            for child_path, child in children:
                a = child["param"].values
                side = (
                    "only above it"
                    if a.min() >= angle - 1e-9
                    else "only below it"
                    if a.max() <= angle + 1e-9
                    else "on both sides"
                )
                ends = [0, child.sizes["step"] - 1]
                lines.append(
                    f"    {child_path} exists {side} (angle in [{a.min():.4f}, {a.max():.4f}]): "
                    f"{len(ends)} new critical points off the bisector (up to "
                    f"{off_bisector(child).max():.2f}), mirror images of each other (the two "
                    f"halves match under the reflection to {mirror_distance(child):.0e}), kinds "
                    f"{sorted(set(child['kind'].values.tolist()))}; they appear at the BP "
                    "(a symmetry-breaking pitchfork)"
                    if side != "on both sides"
                    else f"    {child_path} crosses the BP (angle in [{a.min():.4f}, "
                    f"{a.max():.4f}]): an exchange of critical points (transcritical)"
                )
                stops = [stop_name(child, "backward"), stop_name(child, "forward")]
                for j, stop in zip(ends, stops, strict=True):
                    W = np.round(child["x"].values[j], 4) + 0.0
                    lines.append(
                        f"      end at angle {a[j]:.4f}: W = {W.reshape(K, 2).tolist()}, "
                        f"{child['kind'].values[j]} (stopped by {stop})"
                    )
    folds = [
        (path, float(p))
        for path, b in parts.items()
        for t, p in zip(b["special_type"].values, b["special_param"].values, strict=True)
        if t == "LP"
    ]
    lines.append(
        "  folds (LP): "
        + (", ".join(f"{p:.8f} on {path}" for path, p in folds) if folds else "none found")
    )
    return lines


def softest_teacher_eigenvalue(angle: float) -> float:
    """Smallest Hessian eigenvalue at the teacher (a global minimum) for teacher angle ``angle``."""
    W = teacher_at(angle)
    return float(np.linalg.eigvalsh(hessian(W, W))[0])


def draw(tree: xr.DataTree, system, path: Path) -> Path:
    """Left: loss against the angle; right: the norm of the smaller student unit."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    parts = list(branches(tree).values())
    draw_diagram(parts, measure="loss", system=system, ax=left, title="K = 2 critical points: loss")

    def smaller_unit(x):
        return np.linalg.norm(x.reshape(-1, K, 2), axis=-1).min(axis=-1)

    draw_diagram(parts, measure=smaller_unit, ax=right, title="norm of the smaller unit")
    for ax in (left, right):
        ax.set_xlabel("angle between the teacher units [rad]")
        ax.set_xticks(np.pi * np.array([0, 0.25, 0.5, 0.75, 1.0]), ["0", "π/4", "π/2", "3π/4", "π"])
    right.set_ylabel("min_j |w_j|")
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def report(points: xr.Dataset, tree: xr.DataTree, seconds: float) -> list[str]:
    """The printout: critical points at pi/2, branches, special points and their checks."""
    lines = ["K = 2, d = 2: critical points at angle = pi/2 (one per unit permutation orbit):"]
    for k in range(points.sizes["point"]):
        x = np.round(points["x"].values[k], 6) + 0.0
        lines.append(
            f"  point {k}: W = {x.reshape(K, 2).tolist()}, {points['kind'].values[k]}, loss "
            f"{float(points['energy'].values[k]):.6f}, nullity {int(points['nullity'].values[k])}"
        )
    degenerate = int((points["nullity"].values > 0).sum())
    if degenerate:
        lines.append(
            f"  {degenerate} point(s) with a zero Hessian eigenvalue lie on "
            f"{int(points.attrs.get('n_manifolds', 0))} curve(s) of critical points (collinear "
            "units along the bisector: Tian's non-isolated saddles); not continued."
        )
    worst = 0.0
    lines.append(f"continued in the angle over [{ANGLE_MIN}, pi] ({seconds:.1f} s):")
    for path, branch in branches(tree).items():
        worst = max(worst, max_gradient(branch))
        a = branch["param"].values
        kinds = sorted(set(branch["kind"].values.tolist()))
        stops = f"{stop_name(branch, 'backward')}/{stop_name(branch, 'forward')}"
        lines.append(
            f"  {path} (from point {branch.attrs['start_point']}, a {branch.attrs['start_kind']}):"
            f" {branch.sizes['step']} points, angle in [{a.min():.4f}, {a.max():.4f}], kinds "
            f"{kinds}, stops {stops}"
        )
        for row in range(branch.sizes["special"]):
            check = hessian_check(branch, row)
            angle, residual = extended_system_root(branch["special_x"].values[row], check["angle"])
            lines.append(
                f"    {branch['special_type'].values[row]} at angle {check['angle']:.10f} "
                f"({status_names(branch['special_status'].values[row])}, index "
                f"{int(branch['special_delta_index'].values[row]):+d}): Hessian eigenvalue "
                f"{check['eigenvalue']:+.1e} (largest {check['scale']:.2f}); the same eigenvalue "
                f"{check['before']:+.2e} -> {check['after']:+.2e} across the step; extended "
                f"system: angle {angle:.10f} (residual {residual:.0e})"
            )
    lines.append(f"  max |grad L| over every point of every branch: {worst:.1e}")
    ratios = [softest_teacher_eigenvalue(a) / a**3 for a in (ANGLE_MIN, 0.5, 1.0, ANGLE_START)]
    lines.append(
        "  teacher (global minimum): smallest Hessian eigenvalue / angle^3 at angle = "
        f"{ANGLE_MIN}, 0.5, 1, pi/2: {', '.join(f'{r:.5f}' for r in ratios)} (1/(12 pi) = "
        f"{1 / (12 * np.pi):.5f}): the minimum flattens as the teacher units merge"
    )
    return lines


def main(
    out_dir: str | Path = "out/two_unit_angle_continuation", *, quick: bool = False
) -> dict[str, Path]:
    """Find the critical points at pi/2, continue them in the angle, check, save, print.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``angle_critical_points.nc``, ``angle_diagram.nc`` (a DataTree, nodes
        ``start<k>/branch<j>``) and ``angle_diagram.png``.
    quick : bool
        Fewer seeds and larger steps.

    Returns
    -------
    dict
        ``{"critical_points": path, "diagram": path, "figure": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    system = angle_system()
    start = time.perf_counter()
    points = critical_points(system, seeds=300 if quick else 3000)
    tree = continue_in_angle(system, points, quick=quick)
    seconds = time.perf_counter() - start
    tree.attrs.update(
        experiment="K = 2 in-plane critical points continued in the teacher angle",
        angle_start=ANGLE_START,
        quick=quick,
        seconds=seconds,
    )
    paths = {
        "critical_points": save(points, out / "angle_critical_points.nc"),
        "diagram": save(tree, out / "angle_diagram.nc"),
        "figure": draw(tree, system, out / "angle_diagram.png"),
    }
    print("\n".join(report(points, tree, seconds)))
    print("where critical points appear or vanish:")
    print("\n".join(interpret(tree)))
    for branch in branches(tree).values():
        assert max_gradient(branch) < 1e-8, "a continued point is not critical"
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/two_unit_angle_continuation", help="output dir")
    parser.add_argument("--quick", action="store_true", help="fewer seeds, larger steps")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
