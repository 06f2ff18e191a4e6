"""The second-layer weight of one unit continued from +1 towards -1: what bifurcation lies behind
the failure of gradient descent with mixed-sign output weights (Tian 2017, Fig. 9, bottom row).

Setup, as in the paper's Fig. 9 (bottom): teacher ``W* = I`` (``K`` orthonormal units, ``d = K``),
second-layer weights fixed and *shared by student and teacher*, ``a = a* = (a_1, 1, ..., 1)``
("even when the student is initialized with the true values a*_j"); ``a_1`` is the continuation
parameter. The teacher is then a global minimum (loss 0) for every ``a_1``.

1. The teacher is continued from ``a_1 = 1`` to ``-1``. At zero residual its Hessian is
   ``D M D`` with ``D = diag(a_j I_d)`` and ``M`` fixed (checked against
   :func:`dynsys.models.relu.hessian`): congruent to ``M`` for ``a_1 != 0``, so it never loses
   stability; at ``a_1 = 0`` it has ``d`` zero eigenvalues (unit 1 drops out of the network and
   ``w_1`` is free: a plane of critical points).
2. The critical points at ``a_1 = -1`` are found by Newton from many seeds; every isolated one is
   continued in ``a_1`` towards ``+1``. A branch that runs into the plane of critical points at
   ``a_1 = 0`` (its corrector stalls there) is picked up again just above 0, at
   ``a_1 = +0.02``, from its last state, and continued on.
3. Each special point is checked independently: a Hessian eigenvalue crosses zero there
   (:func:`dynsys.models.relu.hessian`), and Newton on the extended system
   ``grad L = 0, H v = 0, <v, v0> = 1`` (:func:`scipy.optimize.root`) gives the same ``a_1``.
4. Gradient flow from random starts ``W0 ~ N(0, 1/d)`` at a few values of ``a_1``: the fraction
   that ends at a spurious local minimum.

Run ``python examples/mixed_sign_second_layer.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 7.3, Fig. 9).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.optimize import root

from dynsys import Status, status_names
from dynsys.continuation import (
    ContinuationError,
    ContinuationOptions,
    bifurcation_diagram,
    continue_branch,
)
from dynsys.fixedpoints import NewtonOptions, find_fixed_points
from dynsys.integrate import FlowOptions, flow
from dynsys.io import atomic_write_path, save
from dynsys.models.relu import gradient, hessian, loss, state_names
from dynsys.symmetry import ExplicitGroup
from dynsys.system import GradientSystem
from phase.bifurcation import draw_diagram

CROSS = 0.02  # where a branch that ended on the a_1 = 0 plane is picked up again
X_MAX = 5.0  # branches leaving for infinity stop here
SPURIOUS_LOSS = 1e-8  # a minimum with a larger loss is spurious
RNG_SEED = 20170090


# ---------------------------------------------------------------------------- the system
def output_weights(a1, K: int) -> np.ndarray:
    """``(a_1, 1, ..., 1)``; ``a1`` may be an array (then one row per value)."""
    a1 = np.asarray(a1, dtype=float)
    a = np.ones((*a1.shape, K))
    a[..., 0] = a1
    return a


def mixed_sign_system(K: int = 2) -> GradientSystem:
    """The gradient flow of ``K`` student units learning ``K`` orthonormal teacher units, with
    the shared second-layer weight of unit 1 as the parameter ``a1``.

    Examples
    --------
    >>> system = mixed_sign_system(2)
    >>> float(np.abs(system.f(np.eye(2).ravel(), {"a1": -1.0})).max())
    0.0
    """
    d = K
    W_star = np.eye(K)

    def parts(x, p):
        a = np.broadcast_to(output_weights(p["a1"], K), (*x.shape[:-1], K))
        return x.reshape(*x.shape[:-1], K, d), a

    def V(x, p):
        W, a = parts(x, p)
        return loss(W, W_star, a, a)

    def grad(x, p):
        W, a = parts(x, p)
        return gradient(W, W_star, a, a, on_singular="nan")

    def hess(x, p):
        W, a = parts(x, p)
        return hessian(W, W_star, a, a, on_singular="nan")

    return GradientSystem(
        V,
        state_names(K, d),
        {"a1": 1.0},
        grad=grad,
        hess=hess,
        name=f"relu_mixed_sign_K{K}",
        probe=np.random.default_rng(RNG_SEED).standard_normal(K * d) / np.sqrt(d),
    )


def hessian_at(x, a1: float, K: int) -> np.ndarray:
    """The loss Hessian at state ``x`` for weight ``a1``, from the closed form."""
    a = output_weights(a1, K)
    return hessian(np.asarray(x, dtype=float).reshape(K, K), np.eye(K), a, a)


def gradient_at(x, a1: float, K: int) -> np.ndarray:
    """The loss gradient at state ``x`` for weight ``a1``, from the closed form."""
    a = output_weights(a1, K)
    return gradient(np.asarray(x, dtype=float).reshape(K, K), np.eye(K), a, a)


def first_unit_fixed(K: int) -> ExplicitGroup:
    """Symmetries of the loss for every ``a_1``: permutations of the student units ``2..K``
    (equal output weights) and, independently, of the inputs ``2..K`` (they permute teacher
    units with equal weights), ``W -> P W Q^T``; generated by swaps of neighbouring units and of
    neighbouring inputs among ``2..K``.

    Examples
    --------
    >>> first_unit_fixed(3).order
    4
    """
    index = np.arange(K * K).reshape(K, K)
    generators = []
    for i in range(1, K - 1):
        swap = np.arange(K)
        swap[[i, i + 1]] = swap[[i + 1, i]]
        generators.append(index[swap].ravel())  # units i and i + 1
        generators.append(index[:, swap].ravel())  # inputs i and i + 1
    return ExplicitGroup(generators)


# ---------------------------------------------------------------------------- continuation
def stop_of(branch: xr.Dataset, end: str) -> Status | None:
    """Why ``branch`` stopped at its ``end`` ("backward" or "forward"); None if not traced."""
    if end not in branch["end"].values:
        return None
    return Status(int(branch["status"].sel(end=end)))


def options(*, quick: bool, p_min: float = -1.0, p_max: float = 1.0) -> ContinuationOptions:
    """``a_1`` in ``[-1, 1]``, states bounded by ``X_MAX``."""
    return ContinuationOptions(
        ds=0.01,
        ds_max=0.1 if quick else 0.05,
        p_min=p_min,
        p_max=p_max,
        x_max=X_MAX,
        max_points=300 if quick else 800,
    )


def teacher_branch(system, *, quick: bool) -> xr.Dataset:
    """The teacher, from ``a_1 = 1`` down to ``-1``."""
    K = math.isqrt(system.n)
    return continue_branch(
        system,
        np.eye(K).ravel(),
        "a1",
        params={"a1": 1.0},
        options=options(quick=quick),
        direction=-1,
    )


def congruence_error(branch: xr.Dataset, K: int) -> float:
    """``max |H(a_1) - D H(1) D|`` along the teacher branch, ``D = diag(a_j I)``: zero when the
    Hessian at the teacher is the Gauss-Newton matrix ``D M D``."""
    M = hessian_at(np.eye(K).ravel(), 1.0, K)
    worst = 0.0
    for a1 in branch["param"].values:
        D = np.repeat(output_weights(a1, K), K)
        worst = max(
            worst, float(np.abs(hessian_at(np.eye(K).ravel(), a1, K) - D[:, None] * M * D).max())
        )
    return worst


def critical_points(system, a1: float, *, seeds: int) -> xr.Dataset:
    """Critical points at ``a1`` from uniform seeds in ``[-2, 2]^n``, one per symmetry orbit."""
    K = math.isqrt(system.n)
    rng = np.random.default_rng(RNG_SEED)
    return find_fixed_points(
        system,
        rng.uniform(-2.0, 2.0, (seeds, system.n)),
        params={"a1": a1},
        options=NewtonOptions(max_iter=100),
        bounds=[(-X_MAX, X_MAX)] * system.n,
        symmetry=first_unit_fixed(K) if K > 2 else None,
    )


def follow(system, points: xr.Dataset, *, quick: bool) -> dict[str, xr.Dataset]:
    """Continue every isolated critical point other than the teacher from ``a_1 = -1`` upwards;
    pick up again above ``a_1 = 0`` the branches that stall on the plane there."""
    out = {}
    for k in range(points.sizes["point"]):
        if points["nullity"].values[k] or points["energy"].values[k] < SPURIOUS_LOSS:
            continue
        x = points["x"].values[k]
        below = continue_branch(
            system, x, "a1", params={"a1": -1.0}, options=options(quick=quick), direction=1
        )
        below.attrs.update(start_point=int(k), start_kind=str(points["kind"].values[k]))
        out[f"point{k}/below"] = below
        end = float(below["param"].values[-1])
        if stop_of(below, "forward") != Status.STEP_UNDERFLOW or not -0.05 < end <= 0.0:
            continue
        x_end = below["x"].values[-1]
        try:  # depth 1: also the branches through its branch points
            tree = bifurcation_diagram(
                system,
                x_end,
                "a1",
                params={"a1": CROSS},
                options=options(quick=quick, p_min=0.0),
                max_depth=1,
            )
        except ContinuationError:
            continue
        above = tree["branch0"].to_dataset()
        if np.linalg.norm(above["x"].values[above.attrs["start_step"]] - x_end) > 0.1:
            continue  # Newton went elsewhere: not the same family
        for name, node in tree.children.items():
            branch = node.to_dataset()
            branch.attrs.update(start_point=int(k), start_kind=str(points["kind"].values[k]))
            out[f"point{k}/above" + ("" if name == "branch0" else f"_{name}")] = branch
    return out


# ---------------------------------------------------------------------------- checks
def eigen_check(branch: xr.Dataset, row: int, K: int) -> dict[str, float]:
    """Hessian eigenvalue nearest zero at special point ``row`` and the same-rank eigenvalue at
    the steps around it."""
    a1 = float(branch["special_param"].values[row])
    x = branch["special_x"].values[row]
    at = np.linalg.eigvalsh(hessian_at(x, a1, K))
    rank = int(np.argmin(np.abs(at)))
    step = int(branch["special_step"].values[row])
    around = [
        np.linalg.eigvalsh(hessian_at(branch["x"].values[j], branch["param"].values[j], K))[rank]
        for j in (step, min(step + 1, branch.sizes["step"] - 1))
    ]
    return {
        "a1": a1,
        "eigenvalue": float(at[rank]),
        "largest": float(np.abs(at).max()),
        "before": float(around[0]),
        "after": float(around[1]),
        "gradient": float(np.abs(gradient_at(x, a1, K)).max()),
    }


def extended_system_root(x, a1: float, K: int) -> tuple[float, np.ndarray, float]:
    """Solve ``grad L = 0, H v = 0, <v, v0> = 1`` for ``(W, a_1, v)`` from a guess, by
    :func:`scipy.optimize.root`; returns ``a_1``, ``W`` and the residual norm. Independent of the
    continuation code: only the closed-form gradient and Hessian are used."""
    n = K * K
    x = np.asarray(x, dtype=float)
    w, V = np.linalg.eigh(hessian_at(x, a1, K))
    v0 = V[:, int(np.argmin(np.abs(w)))]

    def equations(z):
        W, a, v = z[:n], z[n], z[n + 1 :]
        return np.concatenate([gradient_at(W, a, K), hessian_at(W, a, K) @ v, [v @ v0 - 1.0]])

    sol = root(equations, np.concatenate([x, [a1], v0]), method="hybr", tol=1e-14)
    return float(sol.x[n]), sol.x[:n], float(np.linalg.norm(equations(sol.x)))


def _origin(branch: xr.Dataset) -> str:
    """Where a branch comes from: a critical point of ``a_1 = -1`` or a branch switch."""
    if branch.attrs.get("parent_branch"):
        return f"switched at its branch point {branch.attrs['parent_special']}"
    return f"from a {branch.attrs['start_kind']} at a_1 = -1"


def _end_note(branch: xr.Dataset, K: int) -> str:
    """Why a branch that stopped early stopped: where it ends, how small its smallest unit and
    its softest Hessian eigenvalue are there."""
    stop = stop_of(branch, "forward")
    if stop == Status.PARAM_BOUND:
        return ""
    x, a1 = branch["x"].values[-1], float(branch["param"].values[-1])
    if stop == Status.STATE_BOUND:
        return f" (leaves for infinity: |W|_max > {X_MAX:g} at a_1 = {a1:.4f})"
    unit = float(np.linalg.norm(x.reshape(K, K), axis=1).min())
    soft = float(np.abs(np.linalg.eigvalsh(hessian_at(x, a1, K))).min())
    where = (
        "on the plane of critical points at a_1 = 0"
        if abs(a1) < 1e-3
        else "where a unit shrinks to zero (the loss is not differentiable there)"
        if unit < 1e-2
        else "where the Hessian becomes singular"
    )
    return f" (ends at a_1 = {a1:.4f} {where}: min |w_j| = {unit:.1e}, min |eig H| = {soft:.1e})"


def fates(branches: dict[str, xr.Dataset], spurious: list[int], points) -> list[str]:
    """What becomes of each spurious minimum of ``a_1 = -1`` as ``a_1`` increases."""
    lines = []
    for k in spurious:
        below = branches[f"point{k}/below"]
        above = branches.get(f"point{k}/above")
        loss = float(points["energy"].values[k])
        head = f"spurious minimum {k} (loss {loss:.5f} at a_1 = -1)"
        if stop_of(below, "forward") == Status.STATE_BOUND:
            lines.append(
                f"{head} leaves for infinity as a_1 rises: |W| exceeds {X_MAX:g} at a_1 = "
                f"{float(below['param'].values[-1]):.4f} (a branch from infinity; within "
                f"|W| <= {X_MAX:g} it does not reach positive a_1)."
            )
            continue
        if stop_of(below, "forward") == Status.PARAM_BOUND:
            lines.append(f"{head} persists as a_1 rises to 1.")
            continue
        if above is None:
            lines.append(f"{head} ends at a_1 = {float(below['param'].values[-1]):.4f}.")
            continue
        kinds = above["kind"].values
        birth = [
            row
            for row, t in enumerate(above["special_type"].values)
            if t in ("LP", "BP")
            and "minimum" in kinds[int(above["special_step"].values[row])]
            and "minimum" not in kinds[int(above["special_step"].values[row]) + 1]
        ]
        if not birth:
            lines.append(f"{head} crosses a_1 = 0 (the plane of critical points) and persists.")
            continue
        row = birth[0]
        a_star = float(above["special_param"].values[row])
        if above["special_type"].values[row] == "LP":
            step = int(above["special_step"].values[row])
            partner = str(kinds[step + 1])
            how = f"in a fold (LP) together with a {partner}, the other half of its branch"
            if stop_of(above, "forward") == Status.STATE_BOUND:
                how += (
                    ", which leaves for infinity as a_1 falls back to "
                    f"{float(above['param'].values[-1]):.4f}"
                )
        else:
            children = [
                b
                for name, b in branches.items()
                if name.startswith(f"point{k}/above_") and b.attrs.get("parent_special") == row
            ]
            partners = sorted({str(c) for b in children for c in b["kind"].values})
            side = (
                "below"
                if children and max(float(b["param"].max()) for b in children) <= a_star + 1e-6
                else "above"
            )
            how = (
                f"in a branch point (BP): above it the point is a {kinds[-1]}; the branch through "
                f"it exists only {side} a_1* (kinds {partners}): a subcritical pitchfork"
                if side == "below"
                else f"in a branch point (BP) crossed by a branch of kinds {partners}"
            )
        lines.append(
            f"{head} crosses a_1 = 0 through the plane of critical points and is created at "
            f"a_1* = {a_star:.6f} {how}. It exists for every a_1 < a_1*: for all mixed signs."
        )
    return lines


def first_special(branches: dict[str, xr.Dataset]) -> tuple[str, int] | None:
    """The first special point (LP or BP) met on the branches of spurious critical points, in
    the order they were followed: (branch name, row)."""
    for name, branch in branches.items():
        for row, kind in enumerate(branch["special_type"].values):
            if kind in ("LP", "BP"):
                return name, row
    return None


# ---------------------------------------------------------------------------- gradient flow
def flow_outcomes(system, a1_values, *, runs: int) -> xr.Dataset:
    """Gradient flow from ``W0 ~ N(0, 1/d)`` at each ``a_1``: where each run ends (global
    minimum, spurious minimum, other), from Newton-polished end states."""
    K = math.isqrt(system.n)
    x0 = np.random.default_rng(RNG_SEED + 1).standard_normal((runs, system.n)) / np.sqrt(K)
    outcome = np.zeros((len(a1_values), runs), dtype=np.int8)
    end_loss = np.zeros((len(a1_values), runs))
    for i, a1 in enumerate(a1_values):
        res = flow(
            system,
            x0,
            params={"a1": a1},
            options=FlowOptions(t_max=3000.0, converge_tol=1e-8, max_step=5.0),
        )
        polished = find_fixed_points(
            system, res["x_final"].values, params={"a1": a1}, dedup_tol=1e-12
        )
        # match every run to the polished point nearest its end state
        P = polished["x"].values
        ends = res["x_final"].values
        nearest = np.argmin(np.linalg.norm(ends[:, None, :] - P[None], axis=-1), axis=1)
        close = np.linalg.norm(ends - P[nearest], axis=1) < 1e-2
        energy = polished["energy"].values[nearest]
        minimum = polished["index"].values[nearest] == 0
        outcome[i] = np.where(close & (energy < SPURIOUS_LOSS), 0, np.where(close & minimum, 1, 2))
        end_loss[i] = system.potential(ends, {"a1": a1})
    return xr.Dataset(
        {
            "outcome": (
                ("a1", "run"),
                outcome,
                {"long_name": "0 global minimum, 1 spurious minimum, 2 other / not converged"},
            ),
            "final_loss": (("a1", "run"), end_loss, {"long_name": "loss at the end"}),
            "x0": (("run", "state"), x0, {"long_name": "initial state, N(0, 1/d) entries"}),
        },
        coords={"a1": ("a1", np.asarray(a1_values), {"long_name": "a_1 = a*_1"})},
    )


# ---------------------------------------------------------------------------- one K
def analyse(K: int, *, quick: bool) -> dict:
    """Everything for one ``K``: teacher branch, critical points at -1, their branches, checks,
    flow outcomes, and the report lines."""
    system = mixed_sign_system(K)
    start = time.perf_counter()
    teacher = teacher_branch(system, quick=quick)
    seeds = (300 if quick else 2000) if K == 2 else (600 if quick else 3000)
    points = critical_points(system, -1.0, seeds=seeds)
    branches = {"teacher": teacher, **follow(system, points, quick=quick)}
    outcomes = flow_outcomes(
        system,
        (1.0, 0.5, 0.2, -0.3, -1.0) if not quick else (1.0, -1.0),
        runs=40 if quick else 200,
    )
    seconds = time.perf_counter() - start
    lines = [f"K = {K} (teacher I, a = a* = (a_1, 1, ..., 1)), {seconds:.1f} s:"]
    a = teacher["param"].values
    lines.append(
        f"  teacher branch, a_1 from 1 to {a.min():g}: kinds "
        f"{sorted(set(teacher['kind'].values.tolist()))}, special points "
        f"{teacher['special_type'].values.tolist() or 'none'}; |H(a_1) - D H(1) D| <= "
        f"{congruence_error(teacher, K):.1e} along it, so the teacher stays a strict minimum for "
        f"a_1 != 0 (its {K} softest Hessian eigenvalues vanish like a_1^2 at a_1 = 0)"
    )
    spurious = [
        k
        for k in range(points.sizes["point"])
        if points["index"].values[k] == 0
        and points["nullity"].values[k] == 0
        and points["energy"].values[k] > SPURIOUS_LOSS
    ]
    lines.append(
        f"  critical points at a_1 = -1 ({points.sizes['point']} found, "
        f"{int((points['nullity'].values == 0).sum())} isolated): spurious minima "
        + (
            ", ".join(f"point {k} (loss {float(points['energy'].values[k]):.5f})" for k in spurious)
            or "none"
        )
    )
    for name, branch in branches.items():
        if name == "teacher":
            continue
        p = branch["param"].values
        stops = "/".join(
            str(status_names(stop)) if stop is not None else "-"
            for stop in (stop_of(branch, "backward"), stop_of(branch, "forward"))
        )
        lines.append(
            f"  {name} ({_origin(branch)}): a_1 in [{p.min():.4f}, "
            f"{p.max():.4f}], kinds {sorted(set(branch['kind'].values.tolist()))}, stops {stops}"
            + _end_note(branch, K)
        )
        for row in range(branch.sizes["special"]):
            check = eigen_check(branch, row, K)
            text = (
                f"    {branch['special_type'].values[row]} at a_1 = {check['a1']:.10f} "
                f"({status_names(branch['special_status'].values[row])}, index "
                f"{int(branch['special_delta_index'].values[row]):+d}): Hessian eigenvalue "
                f"{check['eigenvalue']:+.1e} (largest {check['largest']:.2f}), "
                f"{check['before']:+.2e} -> {check['after']:+.2e} across the step, |grad| "
                f"{check['gradient']:.0e}"
            )
            if branch["special_type"].values[row] in ("LP", "BP"):
                a_root, _, residual = extended_system_root(
                    branch["special_x"].values[row], check["a1"], K
                )
                text += f"; extended system: a_1 = {a_root:.10f} (residual {residual:.0e})"
            lines.append(text)
    found = first_special({k: v for k, v in branches.items() if k != "teacher"})
    lines += [f"  => {line}" for line in fates(branches, spurious, points)]
    frac = []
    for i, a1 in enumerate(outcomes["a1"].values):
        o = outcomes["outcome"].values[i]
        frac.append(
            f"a_1 = {a1:+g}: {np.mean(o == 0):.0%} global, {np.mean(o == 1):.0%} spurious "
            f"minimum, {np.mean(o == 2):.0%} not settled by t = 3000"
        )
    lines.append(
        f"  gradient flow from {outcomes.sizes['run']} starts W0 ~ N(0, 1/d): " + "; ".join(frac)
    )
    tree = {f"K{K}/{name}": branch for name, branch in branches.items()}
    return {
        "system": system,
        "tree": tree,
        "points": points,
        "outcomes": outcomes,
        "lines": lines,
        "first_special": found,
        "branches": branches,
    }


def draw(results: dict[int, dict], path: Path) -> Path:
    """One column per ``K``: the loss (top) and ``|w_1|`` (bottom) against ``a_1`` on every
    branch."""
    fig = Figure(figsize=(6.5 * len(results), 9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(results), squeeze=False)
    for column, (K, res) in enumerate(results.items()):

        def unit_1(x, K=K):
            return np.linalg.norm(x.reshape(-1, K, K)[:, 0], axis=-1)

        parts = list(res["branches"].values())
        top, bottom = axes[0, column], axes[1, column]
        draw_diagram(
            parts,
            measure="loss",
            system=res["system"],
            ax=top,
            title=f"K = {K}: critical points against a_1 = a*_1",
        )
        draw_diagram(parts, measure=unit_1, ax=bottom, legend=False, title="")
        bottom.set_ylabel("|w_1|")
        bottom.set_ylim(0, X_MAX)
        for ax in (top, bottom):
            ax.set_xlabel("a_1 (second-layer weight of unit 1, student and teacher)")
            ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def main(
    out_dir: str | Path = "out/mixed_sign_second_layer", *, quick: bool = False
) -> dict[str, Path]:
    """Continue in ``a_1`` for ``K = 2`` (and ``K = 3`` unless ``quick``), check, save, print.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``mixed_sign_branches.nc`` (DataTree, nodes ``K<k>/<branch>``),
        ``mixed_sign_points.nc`` (critical points at ``a_1 = -1``), ``mixed_sign_flow.nc``
        (gradient-flow outcomes) and ``mixed_sign_diagram.png``.
    quick : bool
        ``K = 2`` only, fewer seeds and runs, larger steps.

    Returns
    -------
    dict
        ``{"branches": path, "points": path, "flow": path, "figure": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {K: analyse(K, quick=quick) for K in ((2,) if quick else (2, 3))}
    tree = xr.DataTree.from_dict({k: v for res in results.values() for k, v in res["tree"].items()})
    tree.attrs.update(
        experiment="second-layer weight a_1 = a*_1 continued from 1 to -1", quick=quick
    )
    points = xr.DataTree.from_dict({f"K{K}": res["points"] for K, res in results.items()})
    outcomes = xr.DataTree.from_dict({f"K{K}": res["outcomes"] for K, res in results.items()})
    paths = {
        "branches": save(tree, out / "mixed_sign_branches.nc"),
        "points": save(points, out / "mixed_sign_points.nc"),
        "flow": save(outcomes, out / "mixed_sign_flow.nc"),
        "figure": draw(results, out / "mixed_sign_diagram.png"),
    }
    for res in results.values():
        print("\n".join(res["lines"]))
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/mixed_sign_second_layer", help="output dir")
    parser.add_argument("--quick", action="store_true", help="K = 2 only, small sizes")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
