"""The critical-point graph of two ReLU units learning two orthonormal teacher units in the plane.

Setup: teacher ``W* = I`` (two orthonormal units in ``d = 2``, the teacher plane is the whole
input space), student ``K = 2`` units, all second-layer weights one and fixed, population loss
``L = 1/2 E[(g - g*)^2]`` (:func:`dynsys.models.relu.teacher_student`); the state is ``W``
flattened, ``(w1_1, w1_2, w2_1, w2_2)``.

1. Critical points: damped Newton from Gaussian seeds (:func:`dynsys.fixedpoints.find_fixed_points`)
   plus Tian's symmetric saddle ``w_1 = w_2 = s (1, 1)``, ``s = 3/8 + 1/(2 pi)`` (Theorem 7 at
   ``K = 2``), given first so that it represents its node.
2. The graph (:func:`dynsys.graph.critical_point_graph`) follows the flow out of every saddle
   along its unstable directions to the critical point where it ends (adding any it did not
   know), without symmetry and with the unit permutations (``PermutationSymmetry(2, 2)``):
   there, the teacher and its permutation are one orbit of size 2.
3. Every minimum is checked from the closed forms (:func:`dynsys.models.relu.gradient` and
   :func:`~dynsys.models.relu.hessian`): gradient below tolerance, smallest Hessian eigenvalue
   positive. The barriers between minima (:func:`dynsys.graph.lowest_barrier`) and the height of
   every saddle above the minima are printed.

What the flow shows: besides the two global minima (loss 0), there are no other minima. Tian's
symmetric saddle is not isolated: the units may split the common vector ``2 s (1, 1)`` in any
proportion, ``w_1 = t (1, 1)``, ``w_2 = (2 s - t) (1, 1)`` (for parallel units
``relu(a.x) + relu(b.x) = relu((a + b).x)``), a segment of critical points with one zero Hessian
eigenvalue (nullity 1) and one unstable direction; it is one node. Slightly lower lies a second
index-1 saddle, where one unit points against the diagonal, ``w_1 = -c (1, 1)``: it is the lowest
barrier between the two global minima.

Figures: the graph (energy vertical) with and without symmetry, the disconnectivity trees, and the
graph over the phase portrait of Tian's Theorem 7 plane ``W = [[x, y], [y, x]]`` (an invariant
plane holding both global minima and the symmetric saddle; :func:`dynsys.models.reduced.theorem7`)
with the energy along the minimum-energy path.

Run ``python examples/graph_two_units_teacher_plane.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Theorems 2 and 7).
D. J. Wales, Energy Landscapes, Cambridge University Press (2003): disconnectivity graphs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys.fixedpoints import find_fixed_points
from dynsys.graph import (
    GraphOptions,
    critical_point_graph,
    graph_summary,
    is_special,
    lowest_barrier,
    minima,
    minimum_energy_path,
    saddles,
    to_dataset,
    write_graphml,
)
from dynsys.io import atomic_write_path, save
from dynsys.models.reduced import theorem7, theorem7_embedding, theorem7_saddle
from dynsys.models.relu import gradient, hessian, loss, teacher_student
from dynsys.symmetry import PermutationSymmetry
from phase import Region
from phase.graph import draw_disconnectivity, draw_graph, draw_graph_on_portrait

K = D = 2
TEACHER = np.eye(K)
RNG_SEED = 20170002
GRADIENT_TOL = 1e-8  # a verified critical point: every per-unit gradient norm below this
# The arrival threshold is the rule's floor 10 Lambda (atol + rtol s), Lambda the largest
# eigenvalue known: points of the saddle segment close to a zero unit have Hessian eigenvalues
# ~ 1/|w_j| (hundreds), so tight Runge-Kutta tolerances keep that floor low (about 1e-7).
GRAPH_OPTIONS = GraphOptions(flow=GraphOptions().flow.replace(rtol=1e-10, atol=1e-13, t_max=1e5))
SIZES = {"default": 2000, "quick": 200}  # Newton seeds


# ---------------------------------------------------------------------------- computation
def symmetric_saddle() -> np.ndarray:
    """Tian's symmetric saddle for ``K = 2``: ``w_1 = w_2 = s (1, 1)``, ``s = 3/8 + 1/(2 pi)``."""
    return np.full(K * D, theorem7_saddle(K))


def critical_points(n_seeds: int, seed: int = RNG_SEED) -> np.ndarray:
    """The symmetric saddle, then the distinct critical points Newton finds from ``n_seeds``
    Gaussian seeds ``N(0, I)``, as states ``(m, 4)``."""
    system = teacher_student(TEACHER)
    seeds = np.random.default_rng(seed).standard_normal((n_seeds, K * D))
    found = find_fixed_points(system, seeds, classify=False)
    return np.concatenate([symmetric_saddle()[None], found["x"].values])


def build_graphs(n_seeds: int, seed: int = RNG_SEED) -> dict[str, nx.DiGraph]:
    """The critical-point graph without symmetry (``"full"``) and with the unit permutations
    (``"symmetric"``), from the points of :func:`critical_points`."""
    system = teacher_student(TEACHER)
    points = critical_points(n_seeds, seed)
    return {
        "full": critical_point_graph(system, points, options=GRAPH_OPTIONS),
        "symmetric": critical_point_graph(
            system, points, options=GRAPH_OPTIONS, symmetry=PermutationSymmetry(K, D)
        ),
    }


def check_point(x) -> dict[str, float]:
    """Loss, largest per-unit gradient norm ``max_j |dL/dw_j|`` and Hessian eigenvalue range at
    a state, from the closed forms of :mod:`dynsys.models.relu`."""
    W = np.asarray(x, dtype=float).reshape(K, D)
    grad = gradient(W, TEACHER).reshape(K, D)
    eig = np.linalg.eigvalsh(hessian(W, TEACHER))
    return {
        "loss": float(loss(W, TEACHER)),
        "gradient": float(np.linalg.norm(grad, axis=1).max()),
        "hessian_min": float(eig[0]),
        "hessian_max": float(eig[-1]),
    }


def verify_minima(G: nx.DiGraph) -> list[str]:
    """Check every minimum node; return the problems found (empty when all pass)."""
    problems = []
    for m in minima(G):
        c = check_point(G.nodes[m]["x"])
        if not c["gradient"] < GRADIENT_TOL:
            problems.append(f"minimum {m}: gradient {c['gradient']:.2e} >= {GRADIENT_TOL}")
        if not c["hessian_min"] > 0:
            problems.append(f"minimum {m}: smallest Hessian eigenvalue {c['hessian_min']:.2e}")
    return problems


# ---------------------------------------------------------------------------- report
def node_table(G: nx.DiGraph) -> list[str]:
    """One line per critical point: kind, loss, index, nullity, orbit size, the checks."""
    header = (
        "  node  kind          loss          index nullity  orbit  found by  |grad|_unit  "
        "Hessian eigenvalues      W (rows = units)"
    )
    lines = [header]
    for k in G:
        node = G.nodes[k]
        if is_special(G, k):
            lines.append(f"  {k:>4}  {node['kind']}")
            continue
        c = check_point(node["x"])
        rows = ", ".join(f"({a:+.4f}, {b:+.4f})" for a, b in np.reshape(node["x"], (K, D)))
        extent = ""
        if node["nullity"] > 0:
            extent = f"  [{len(node['members'])} points found on the manifold]"
        lines.append(
            f"  {k:>4}  {node['kind']:<12}  {node['energy']:.10f}  {node['index']:>5} "
            f"{node['nullity']:>7}  {node['multiplicity']:>5}  {node['found_by']:<8}  "
            f"{c['gradient']:.1e}      [{c['hessian_min']:+.4f}, {c['hessian_max']:+.4f}]  "
            f"{rows}{extent}"
        )
    return lines


def barrier_lines(G: nx.DiGraph) -> list[str]:
    """The lowest barrier between each pair of minima, and every saddle's height above each
    minimum it reaches."""
    lows = minima(G)
    lines = []
    if len(lows) == 1:
        m = lows[0]
        lines.append(
            f"  one minimum orbit (node {m}, loss {G.nodes[m]['energy']:.3g}, "
            f"{G.nodes[m]['multiplicity']} points): no barrier between distinct minima"
        )
    for i, a in enumerate(lows):
        for b in lows[i + 1 :]:
            try:
                bar = lowest_barrier(G, a, b)
            except nx.NetworkXNoPath:
                lines.append(f"  minima {a} and {b}: no chain of saddles joins them")
                continue
            lines.append(
                f"  lowest barrier {a} <-> {b}: saddle {bar.saddle} at loss {bar.energy:.10f}, "
                f"height {bar.height:.10f} above {a} ({bar.energy - G.nodes[b]['energy']:.10f} "
                f"above {b}); path {bar.path}"
            )
    for s in saddles(G):
        ends = [t for t in G.successors(s) if not is_special(G, t)]
        heights = ", ".join(
            f"{G.nodes[s]['energy'] - G.nodes[t]['energy']:.10f} above {t}" for t in ends
        )
        lines.append(
            f"  saddle {s} ({G.nodes[s]['kind']}, loss {G.nodes[s]['energy']:.10f}): "
            f"{heights or 'reaches no minimum'}"
        )
    return lines


def summary(graphs: dict[str, nx.DiGraph]) -> str:
    """The printed report of both graphs."""
    s = theorem7_saddle(K)
    lines = [
        "Two ReLU units, teacher I in d = 2, a = ones: critical-point graph",
        (
            f"  Tian's symmetric saddle s = 3/8 + 1/(2 pi) = {s:.12f}, "
            f"loss {float(loss(np.full((K, D), s), TEACHER)):.10f}"
        ),
    ]
    for name, G in graphs.items():
        title = "without symmetry" if name == "full" else "with PermutationSymmetry(2, 2)"
        lines += ["", f"== {title} ==", graph_summary(G), *node_table(G), *barrier_lines(G)]
        problems = verify_minima(G)
        lines.append(
            "  every minimum verified (gradient < 1e-8, smallest Hessian eigenvalue > 0): "
            + ("yes" if not problems else "NO: " + "; ".join(problems))
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- figures
def _write(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def draw_graphs(graphs: dict[str, nx.DiGraph], path: Path) -> Path:
    """The graphs with energy vertical (left: without symmetry, right: with)."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    for ax, (name, G) in zip(fig.subplots(1, 2), graphs.items(), strict=True):
        draw_graph(G, ax=ax, layout="energy")
        ax.set_title("without symmetry" if name == "full" else "up to unit permutations")
        ax.set_ylabel("loss")
    return _write(fig, path)


def draw_trees(graphs: dict[str, nx.DiGraph], path: Path) -> Path:
    """The disconnectivity trees of both graphs (minima and barriers labelled with id and loss;
    the stem of a root rises to the lowest saddle above it, such as the saddle joining the global
    minimum to its permuted copy)."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    for ax, (name, G) in zip(fig.subplots(1, 2), graphs.items(), strict=True):
        draw_disconnectivity(G, ax=ax)
        ax.set_title("without symmetry" if name == "full" else "up to unit permutations")
        ax.set_ylabel("loss")
    return _write(fig, path)


def plane_graph(G: nx.DiGraph, tol: float = 1e-6) -> nx.DiGraph:
    """The part of ``G`` lying in the Theorem 7 plane ``W = [[x, y], [y, x]]``, in the
    coordinates ``(x, y)``: nodes within ``tol`` of the plane, and the edges between them whose
    trajectory stays in it."""
    emb = theorem7_embedding(K)

    def off_plane(X) -> float:
        X = np.atleast_2d(X)
        return float(np.abs(emb.lift(emb.project(X)) - X).max())

    H = nx.DiGraph()
    H.graph["state_names"] = "x y"
    for k, node in G.nodes(data=True):
        if not is_special(G, k) and off_plane(node["x"]) <= tol:
            H.add_node(k, **{**node, "x": emb.project(node["x"])})
    for u, v, edge in G.edges(data=True):
        if u in H and v in H and off_plane(edge["path"]) <= 1e3 * tol:
            H.add_edge(u, v, **{**edge, "path": emb.project(edge["path"])})
    return H


def draw_portrait(graphs: dict[str, nx.DiGraph], path: Path) -> Path:
    """Left: the graph over the Theorem 7 plane's flow. Right: the loss along the
    minimum-energy path between the two global minima."""
    G = graphs["full"]
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax_plane, ax_path = fig.subplots(1, 2)
    H = plane_graph(G)
    draw_graph_on_portrait(
        theorem7(float(K)), H, Region(lower=(-0.3, -0.3), upper=(1.3, 1.3)), ax=ax_plane
    )
    left_out = sorted(set(G) - set(H) - {k for k in G if is_special(G, k)})
    ax_plane.set_title(
        "Theorem 7 plane W = [[x, y], [y, x]]"
        + (f" (off the plane: node {', '.join(map(str, left_out))})" if left_out else ""),
        fontsize="medium",
    )
    lows = minima(G)
    if len(lows) >= 2:
        mep = minimum_energy_path(G, lows[0], lows[1])
        ax_path.plot(mep.arc_length, mep.energy, color="#2c3e50")
        for k in mep.nodes:
            i = int(np.argmin(np.linalg.norm(mep.x - G.nodes[k]["x"], axis=-1)))
            ax_path.annotate(str(k), (mep.arc_length[i], mep.energy[i]), fontsize="small")
        ax_path.set_title(f"loss along the minimum-energy path {' - '.join(map(str, mep.nodes))}")
    ax_path.set(xlabel="arc length in state space", ylabel="loss")
    return _write(fig, path)


# ---------------------------------------------------------------------------- main
def main(
    out_dir: str | Path = "out/graph_two_units_teacher_plane", *, quick: bool = False
) -> dict[str, Path]:
    """Build both graphs, save them (netCDF and GraphML) and their figures, print the report.

    Parameters
    ----------
    out_dir : str or Path
        Output directory (created if needed).
    quick : bool
        Fewer Newton seeds (seconds).

    Returns
    -------
    dict of Path
        ``data_full``, ``data_symmetric`` (netCDF), ``graphml_full``, ``graphml_symmetric``,
        ``figure_graph``, ``figure_disconnectivity``, ``figure_portrait``.
    """
    start = time.perf_counter()
    n_seeds = SIZES["quick" if quick else "default"]
    graphs = build_graphs(n_seeds)
    seconds = time.perf_counter() - start
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, G in graphs.items():
        ds = to_dataset(G)
        ds.attrs.update(n_newton_seeds=n_seeds, seed=RNG_SEED, seconds=seconds)
        paths[f"data_{name}"] = save(ds, out / f"graph_two_units_{name}.nc")
        paths[f"graphml_{name}"] = write_graphml(G, out / f"graph_two_units_{name}.graphml")
    paths["figure_graph"] = draw_graphs(graphs, out / "graph_two_units.png")
    paths["figure_disconnectivity"] = draw_trees(graphs, out / "graph_two_units_tree.png")
    paths["figure_portrait"] = draw_portrait(graphs, out / "graph_two_units_portrait.png")
    print(summary(graphs))
    print(f"({n_seeds} Newton seeds; graphs in {seconds:.1f} s)")
    for G in graphs.values():
        assert not verify_minima(G), verify_minima(G)
    symmetric = graphs["symmetric"]
    teacher_orbit = [m for m in minima(symmetric) if symmetric.nodes[m]["energy"] < 1e-12]
    assert [symmetric.nodes[m]["multiplicity"] for m in teacher_orbit] == [2], teacher_orbit
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default="out/graph_two_units_teacher_plane", help="output directory"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
