"""Spurious minima of a six-unit ReLU network, and the saddles and barriers joining them to the
teacher: a critical-point graph for K = K* = d = 6.

Protocol of the basin experiment (issue 5, after Safran and Shamir 2018): teacher ``W* = I``
(``K* = d = 6`` orthonormal units), student ``K = 6`` units, all second-layer weights one and not
trained, initial entries of ``W`` drawn from ``N(0, 1/d)``, plain gradient descent on the
population loss ``J = 1/2 E[(g - g*)^2]`` with the fixed step 0.1 (batched
:func:`dynsys.integrate.flow`, ``method="gradient_descent"``), stopped when
``max_j |dJ/dw_j| <= 1e-9/(2 pi)``; a run is spurious when ``J >= 1e-3`` at the end.

The stopping norm: ``|dJ/dw_j|`` is the Euclidean norm of the gradient with respect to unit
``j``'s weight vector (a vector of ``R^d``), and the rule asks for the largest of the ``K``:
``FlowOptions(converge_block=d)``. The per-unit value reached is reported for every run.

Then:

1. The spurious end points are deduplicated up to permutations of hidden units and of input
   coordinates (``UnitInputSymmetry(6, 6)``: for the identity teacher, ``W -> P W Q^T`` with
   ``P = Q`` leaves the loss unchanged, and so does any pair ``(P, Q)`` since ``P W* Q^T`` is a
   permutation of the teacher's units), refined by Newton, and verified from the closed forms
   (:func:`dynsys.models.relu.gradient`, :func:`~dynsys.models.relu.hessian`): gradient below
   tolerance, smallest Hessian eigenvalue positive, and the nullity (zero eigenvalues; Tian's
   Theorem 2 manifolds of critical points appear when the teacher does not span the input space,
   which is not the case here).
2. Index-1 saddles: a minimum-only graph has no edges, so saddles are searched by Newton
   (:func:`dynsys.fixedpoints.find_fixed_points`) from points along the straight segment from
   each spurious minimum to the teacher image nearest to it (and between pairs of distinct
   spurious minima), with small random perturbations; the index-1 results are kept.
3. The graph (:func:`dynsys.graph.critical_point_graph`, symmetry ``UnitInputSymmetry(6, 6)``)
   follows the two trajectories leaving each saddle; the lowest barrier between the teacher and
   each spurious minimum (:func:`dynsys.graph.lowest_barrier`) is reported from both sides.

Run ``python examples/graph_k6_spurious_minima.py [--out DIR] [--quick] [--runs N]``.

References
----------
I. Safran and O. Shamir, Spurious local minima are common in two-layer ReLU neural networks,
ICML 2018.
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Theorem 2).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import networkx as nx
import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys import Status, status_names
from dynsys.basins import wilson_interval
from dynsys.fixedpoints import find_fixed_points
from dynsys.graph import (
    GraphOptions,
    critical_point_graph,
    graph_summary,
    lowest_barrier,
    minima,
    minimum_energy_path,
    saddles,
    spurious_minima,
    to_dataset,
    write_graphml,
)
from dynsys.integrate import FlowOptions, flow
from dynsys.io import atomic_write_path, save
from dynsys.models.relu import gradient, hessian, loss, teacher_student
from dynsys.symmetry import PermutationSymmetry, UnitInputSymmetry
from phase.graph import draw_disconnectivity, draw_graph

K = D = 6
TEACHER = np.eye(K)
STEP = 0.1
GRADIENT_TOL = 1e-9 / (2 * np.pi)  # the protocol's stopping threshold
SPURIOUS_LOSS = 1e-3
CRITICAL_TOL = 1e-8  # a verified critical point: max_j |dJ/dw_j| below this after Newton
ZERO_TOL = 1e-8  # Hessian eigenvalues below ZERO_TOL * max |eigenvalue| count as zero
MATCH_TOL = 1e-5  # end points within this (relative) of a group image are one minimum
# Seed 7: its first 20 runs hold a spurious one, so that --quick runs the whole pipeline too.
RNG_SEED = 7
SIZES = {"default": 6000, "quick": 20}  # gradient-descent runs
SEGMENT_POINTS = 49  # Newton seeds per segment (and as many perturbed ones)
DESCENT = FlowOptions(
    method="gradient_descent",
    learning_rate=STEP,
    converge_tol=GRADIENT_TOL,
    converge_block=D,
    t_max=np.inf,
    max_steps=1_000_000,
)
# default arrival threshold (above the explicit Runge-Kutta floor); long t_max: the spurious
# minimum's smallest Hessian eigenvalue is about 5e-3
GRAPH_OPTIONS = GraphOptions(flow=GraphOptions().flow.replace(t_max=1e5))


# ---------------------------------------------------------------------------- checks
def unit_gradient_max(states) -> np.ndarray:
    """``max_j |dJ/dw_j|`` (Euclidean norm per unit) of states ``(..., K*D)``; NaN where a unit
    is zero."""
    W = np.asarray(states, dtype=float).reshape(-1, K, D)
    grad = gradient(W, TEACHER, on_singular="nan").reshape(-1, K, D)
    out = np.linalg.norm(grad, axis=-1).max(axis=-1)
    return out.reshape(np.shape(states)[:-1])


def check_point(x) -> dict:
    """Loss, ``max_j |dJ/dw_j|``, Hessian eigenvalues, index and nullity at a state, from the
    closed forms of :mod:`dynsys.models.relu`."""
    W = np.asarray(x, dtype=float).reshape(K, D)
    eig = np.linalg.eigvalsh(hessian(W, TEACHER))
    zero = np.abs(eig) <= ZERO_TOL * np.abs(eig).max()
    return {
        "loss": float(loss(W, TEACHER)),
        "gradient": float(unit_gradient_max(W.ravel())),
        "eigenvalues": eig,
        "hessian_min": float(eig[0]),
        "index": int(np.sum((eig < 0) & ~zero)),
        "nullity": int(np.sum(zero)),
    }


# ---------------------------------------------------------------------------- 1. descent runs
def descent_runs(n_runs: int, seed: int = RNG_SEED) -> xr.Dataset:
    """Gradient descent from ``n_runs`` initialisations ``W0 ~ N(0, 1/d)`` (the protocol).

    Returns the :func:`~dynsys.integrate.flow` Dataset with ``loss_final(orbit)``,
    ``unit_gradient_final(orbit)`` (``max_j |dJ/dw_j|`` at the end) and ``spurious(orbit)``
    (converged with ``J >= 1e-3``) added.
    """
    rng = np.random.default_rng(seed)
    x0 = rng.normal(0.0, 1.0 / np.sqrt(D), size=(n_runs, K * D))
    ds = flow(teacher_student(TEACHER), x0, options=DESCENT)
    ends = ds["x_final"].values
    J = loss(ends.reshape(-1, K, D), TEACHER)
    converged = ds["status"].values == Status.CONVERGED
    ds["loss_final"] = ("orbit", J, {"long_name": "population loss J at the end"})
    ds["unit_gradient_final"] = (
        "orbit",
        unit_gradient_max(ends),
        {"long_name": "max_j |dJ/dw_j| at the end"},
    )
    ds["spurious"] = (
        "orbit",
        converged & (J >= SPURIOUS_LOSS),
        {"long_name": f"converged with J >= {SPURIOUS_LOSS}"},
    )
    ds.attrs.update(seed=seed, spurious_loss=SPURIOUS_LOSS, gradient_tol=GRADIENT_TOL)
    return ds


def distinct_minima(ends: np.ndarray, group=None) -> tuple[list[np.ndarray], np.ndarray]:
    """Group end points up to ``group`` (default ``UnitInputSymmetry(K, D)``).

    Returns the representatives (the first end point of each class) and the class of every end
    point (``(m,)`` ints).
    """
    group = UnitInputSymmetry(K, D) if group is None else group
    reps: list[np.ndarray] = []
    labels = np.full(len(ends), -1, dtype=np.int64)
    for i, x in enumerate(ends):
        for c, rep in enumerate(reps):
            if bool(group.match(x, rep, tol=MATCH_TOL)[0]):
                labels[i] = c
                break
        else:
            labels[i] = len(reps)
            reps.append(np.asarray(x, dtype=float))
    return reps, labels


def refine(points) -> np.ndarray:
    """Newton-polish each state ``(m, K*D)`` to the critical point it lies next to (a state
    whose Newton run fails or moves more than ``1e-4`` is returned unchanged)."""
    system = teacher_student(TEACHER)
    out = []
    for x in np.asarray(points, dtype=float).reshape(-1, K * D):
        fp = find_fixed_points(system, x[None], classify=False)
        ok = fp.sizes["point"] == 1 and np.linalg.norm(fp["x"].values[0] - x) <= 1e-4
        out.append(fp["x"].values[0] if ok else x)
    return np.array(out).reshape(-1, K * D)


# ---------------------------------------------------------------------------- 2. saddles
def nearest_image(x, reference, group) -> np.ndarray:
    """The image of ``x`` under ``group`` closest to ``reference``."""
    _, g = group.match(x, reference, tol=np.inf)
    return group.act(g, x)


def segment_seeds(a, b, n_points: int, rng) -> np.ndarray:
    """``n_points`` states evenly inside the segment from ``a`` to ``b``, and each perturbed by
    ``N(0, 0.01^2)`` entries."""
    s = np.linspace(0.0, 1.0, n_points + 2)[1:-1, None]
    line = (1.0 - s) * a + s * b
    return np.concatenate([line, line + 0.01 * rng.standard_normal(line.shape)])


def connecting_saddles(spurious: list[np.ndarray], seed: int = RNG_SEED) -> xr.Dataset:
    """Critical points found by Newton from segments between each spurious minimum and the
    nearest image of the teacher, and between pairs of spurious minima (nearest images).

    Returns the :func:`~dynsys.fixedpoints.find_fixed_points` Dataset of every point found (all
    indices; keep ``index == 1`` for the graph), with the attribute ``n_segments``.
    """
    rng = np.random.default_rng(seed)
    units = PermutationSymmetry(K, D)
    both = UnitInputSymmetry(K, D)
    seeds = []
    for m in spurious:
        _, g = units.distance(TEACHER.ravel(), m)  # the teacher's orbit: unit permutations of I
        seeds.append(segment_seeds(m, units.act(g, TEACHER.ravel()), SEGMENT_POINTS, rng))
    for a, b in itertools.combinations(spurious, 2):
        seeds.append(segment_seeds(a, nearest_image(b, a, both), SEGMENT_POINTS, rng))
    if not seeds:
        return xr.Dataset(attrs={"n_seeds": 0, "n_segments": 0})
    fp = find_fixed_points(teacher_student(TEACHER), np.concatenate(seeds))
    fp.attrs["n_segments"] = len(seeds)
    return fp


# ---------------------------------------------------------------------------- 3. graph
def build_graph(spurious: list[np.ndarray], saddle_points: np.ndarray) -> nx.DiGraph:
    """The critical-point graph from the teacher, the spurious minima and the saddles, up to
    ``UnitInputSymmetry(K, D)``."""
    points = np.concatenate(
        [TEACHER.ravel()[None], np.reshape(spurious, (-1, K * D)), saddle_points]
    )
    return critical_point_graph(
        teacher_student(TEACHER), points, options=GRAPH_OPTIONS, symmetry=UnitInputSymmetry(K, D)
    )


def teacher_node(G: nx.DiGraph):
    """The minimum of lowest loss (the teacher's orbit)."""
    return min(minima(G), key=lambda m: G.nodes[m]["energy"])


def barriers(G: nx.DiGraph) -> dict:
    """The lowest barrier between the teacher and each spurious minimum (None if no chain of
    saddles joins them)."""
    t = teacher_node(G)
    out = {}
    for m in spurious_minima(G, tol=SPURIOUS_LOSS):
        try:
            out[m] = lowest_barrier(G, m, t)
        except nx.NetworkXNoPath:
            out[m] = None
    return out


def experiment(n_runs: int, seed: int = RNG_SEED) -> dict:
    """Run the whole pipeline; return the runs, the distinct spurious minima (refined), the
    saddle search, the graph and the timings."""
    clock = {}
    start = time.perf_counter()
    runs = descent_runs(n_runs, seed)
    clock["descent"] = time.perf_counter() - start
    spurious_ends = runs["x_final"].values[runs["spurious"].values]
    reps, labels = distinct_minima(spurious_ends)
    reps = list(refine(reps)) if reps else []
    end_class = np.where(runs["status"].values == Status.CONVERGED, 0, -1)
    end_class[np.flatnonzero(runs["spurious"].values)] = labels + 1
    runs["end_class"] = (
        "orbit",
        end_class,
        {"long_name": "0 teacher, k >= 1 the k-th distinct spurious minimum, -1 not converged"},
    )
    clock["dedup"] = time.perf_counter() - start - clock["descent"]
    start = time.perf_counter()
    found = connecting_saddles(reps, seed)
    index_one = found["x"].values[found["index"].values == 1] if "x" in found else []
    saddle_points = np.reshape(index_one, (-1, K * D))
    clock["saddles"] = time.perf_counter() - start
    start = time.perf_counter()
    G = build_graph(reps, saddle_points)
    clock["graph"] = time.perf_counter() - start
    return {"runs": runs, "spurious": reps, "saddle_search": found, "graph": G, "clock": clock}


# ---------------------------------------------------------------------------- report
def _matrix(x) -> list[str]:
    return ["      " + " ".join(f"{v:+.4f}" for v in row) for row in np.reshape(x, (K, D))]


def summary(result: dict) -> str:
    """The printed report."""
    runs, G, found = result["runs"], result["graph"], result["saddle_search"]
    n = runs.sizes["orbit"]
    status = status_names(runs["status"].values)
    counts = {s: int(np.sum(status == s)) for s in dict.fromkeys(status.tolist())}
    n_spurious = int(runs["spurious"].sum())
    low, high = wilson_interval(n_spurious, n)
    lines = [
        (
            f"K = K* = d = {K}, teacher I, a = ones; gradient descent, step {STEP}, stop at "
            f"max_j |dJ/dw_j| <= 1e-9/(2 pi) = {GRADIENT_TOL:.3e}"
        ),
        (
            f"  {n} runs (seed {runs.attrs['seed']}): status {counts}; iterations median "
            f"{int(np.median(runs['n_steps']))}, max {int(runs['n_steps'].max())}; largest "
            f"final max_j |dJ/dw_j| {float(np.nanmax(runs['unit_gradient_final'])):.2e}"
        ),
        (
            f"  spurious (J >= {SPURIOUS_LOSS}): {n_spurious} of {n} = {n_spurious / n:.4f} "
            f"(Wilson 95% [{float(low):.4f}, {float(high):.4f}])"
        ),
    ]
    end_class = runs["end_class"].values
    if not result["spurious"]:
        lines.append(
            f"  no spurious minimum in {n} runs (Safran and Shamir 2018 report them at K = d = 6 "
            "with small probability; increase --runs)"
        )
    for c, x in enumerate(result["spurious"], start=1):
        chk = check_point(x)
        lines.append(
            f"  distinct spurious minimum {c}: reached by {int(np.sum(end_class == c))} runs, "
            f"loss {chk['loss']:.10f}, max_j |dJ/dw_j| {chk['gradient']:.1e}, Hessian "
            f"eigenvalues [{chk['hessian_min']:.4e}, {chk['eigenvalues'][-1]:.4f}], index "
            f"{chk['index']}, nullity {chk['nullity']}; W (canonical form, rows = units):"
        )
        lines += _matrix(UnitInputSymmetry(K, D).canonical(x))
    if "x" in found:
        idx, cnt = np.unique(found["index"].values, return_counts=True)
        by_index = ", ".join(f"index {i}: {c}" for i, c in zip(idx, cnt, strict=True))
        lines.append(
            f"  saddle search: Newton from {found.attrs['n_seeds']} seeds on "
            f"{found.attrs['n_segments']} segments -> {found.sizes['point']} points ({by_index});"
            " index-1 points go to the graph"
        )
    lines += ["", graph_summary(G), "  nodes (loss, index, nullity, orbit size, checks):"]
    for k in G:
        node = G.nodes[k]
        if node["index"] < 0:
            lines.append(f"    {k}: {node['kind']}")
            continue
        chk = check_point(node["x"])
        lines.append(
            f"    {k}: {node['kind']:<10} loss {node['energy']:.10f}  index {node['index']}  "
            f"nullity {node['nullity']}  orbit {node['multiplicity']}  found by "
            f"{node['found_by']}; max_j |dJ/dw_j| {chk['gradient']:.1e}, smallest Hessian "
            f"eigenvalue {chk['hessian_min']:+.4e}"
        )
    t = teacher_node(G)
    for m, bar in barriers(G).items():
        if bar is None:
            lines.append(f"  teacher {t} <-> spurious {m}: no chain of saddles joins them")
            continue
        lines.append(
            f"  lowest barrier spurious {m} -> teacher {t}: saddle {bar.saddle} at loss "
            f"{bar.energy:.10f}; height {bar.height:.4e} above the spurious minimum, "
            f"{bar.energy - G.nodes[t]['energy']:.10f} above the teacher; path {bar.path}"
        )
    clock = result["clock"]
    lines.append(
        "  time: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in clock.items())
        + f" (total {sum(clock.values()):.1f} s)"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- figures
def draw(result: dict, path: Path) -> Path:
    """Graph (energy vertical), disconnectivity tree, loss along the minimum-energy path from
    each spurious minimum to the teacher, and the final losses of all runs."""
    G, runs = result["graph"], result["runs"]
    fig = Figure(figsize=(12, 9), layout="constrained")
    (ax_graph, ax_tree), (ax_path, ax_runs) = fig.subplots(2, 2)
    draw_graph(G, ax=ax_graph, layout="energy")
    ax_graph.set(title="critical-point graph up to unit and input permutations", ylabel="loss")
    draw_disconnectivity(G, ax=ax_tree)
    ax_tree.set(title="disconnectivity tree", ylabel="loss")
    t = teacher_node(G)
    paths = {m: bar for m, bar in barriers(G).items() if bar is not None}
    for m, bar in paths.items():
        mep = minimum_energy_path(G, m, t)
        ax_path.plot(mep.arc_length, mep.energy, label=f"spurious {m} -> teacher {t}")
        # zoom: from the spurious minimum over its saddle until the loss is 3 barriers below
        top = int(np.argmax(mep.energy))
        below = np.flatnonzero(mep.energy[top:] < G.nodes[m]["energy"] - 3 * bar.height)
        stop = top + (int(below[0]) if below.size else len(mep.energy) - top)
        zoom = ax_path.inset_axes([0.1, 0.1, 0.45, 0.4])
        zoom.plot(mep.arc_length[: stop + 1], mep.energy[: stop + 1] - G.nodes[m]["energy"])
        zoom.axhline(0.0, color="grey", linewidth=0.6)
        zoom.set_title("near the spurious minimum: loss - J(minimum)", fontsize="x-small")
        zoom.tick_params(labelsize="x-small")
    if paths:
        ax_path.legend(fontsize="small", loc="upper right")
    else:
        ax_path.text(0.5, 0.5, "no spurious minimum joined to the teacher", ha="center")
    ax_path.set(xlabel="arc length in state space", ylabel="loss", title="minimum-energy paths")
    J = np.maximum(runs["loss_final"].values, 1e-20)  # exact zeros drawn at 1e-20
    ax_runs.hist(np.log10(J), bins=40, color="#34495e")
    ax_runs.axvline(np.log10(SPURIOUS_LOSS), color="#c0392b", linestyle="--", label="J = 1e-3")
    ax_runs.set(
        xlabel="log10 final loss",
        ylabel="runs",
        yscale="log",
        title=f"{runs.sizes['orbit']} gradient-descent runs",
    )
    ax_runs.legend(fontsize="small")
    FigureCanvasAgg(fig)
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


# ---------------------------------------------------------------------------- main
def main(
    out_dir: str | Path = "out/graph_k6_spurious_minima",
    *,
    quick: bool = False,
    n_runs: int | None = None,
) -> dict[str, Path]:
    """Run the pipeline, save the runs, the graph (netCDF, GraphML) and the figure, print the
    report.

    Parameters
    ----------
    out_dir : str or Path
        Output directory (created if needed).
    quick : bool
        20 runs instead of 6000 (seconds).
    n_runs : int, optional
        Number of gradient-descent runs, overriding the size.

    Returns
    -------
    dict of Path
        ``runs``, ``graph`` (netCDF), ``graphml``, ``figure``.
    """
    n_runs = SIZES["quick" if quick else "default"] if n_runs is None else int(n_runs)
    result = experiment(n_runs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = result["runs"]
    runs.attrs["seconds"] = result["clock"]["descent"]
    graph = to_dataset(result["graph"])
    graph.attrs.update(n_runs=n_runs, seed=RNG_SEED, seconds=sum(result["clock"].values()))
    paths = {
        "runs": save(runs, out / "k6_descent_runs.nc"),
        "graph": save(graph, out / "k6_graph.nc"),
        "graphml": write_graphml(result["graph"], out / "k6_graph.graphml"),
        "figure": draw(result, out / "k6_graph.png"),
    }
    print(summary(result))
    G = result["graph"]
    for m in minima(G):
        chk = check_point(G.nodes[m]["x"])
        assert chk["gradient"] < CRITICAL_TOL and chk["hessian_min"] > 0, (m, chk)
    for s in saddles(G):
        assert check_point(G.nodes[s]["x"])["index"] == G.nodes[s]["index"] >= 1, s
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/graph_k6_spurious_minima", help="output directory")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--runs", type=int, default=None, help="gradient-descent runs")
    args = parser.parse_args()
    main(args.out, quick=args.quick, n_runs=args.runs)
