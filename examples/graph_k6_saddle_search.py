"""The K = 6 critical-point graph rebuilt with the saddle search instead of hand-placed seeds.

:mod:`graph_k6_spurious_minima` finds the index-1 saddles of the six-unit ReLU network by Newton
from seeds placed by hand along segments between minima. Here the same minima (gradient descent
from ``W0 ~ N(0, 1/d)``, the spurious end points deduplicated up to ``UnitInputSymmetry(6, 6)``)
go to :func:`dynsys.saddles.find_saddles`: climbing strings from each spurious minimum to the
teacher image nearest to it (and between pairs of spurious minima), split at intermediate minima,
every candidate refined by Newton, classified, and accepted only when both halves of its unstable
manifold end at minima. The saddles it finds are compared with the hand-seeded ones up to the
group (found by both, by one only), and the graph is built from the minima and the found saddles
(:func:`dynsys.saddles.graph_points`).

Run ``python examples/graph_k6_saddle_search.py [--out DIR] [--quick] [--runs N]``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from graph_k6_spurious_minima import (
    GRAPH_OPTIONS,
    RNG_SEED,
    SIZES,
    TEACHER,
    D,
    K,
    barriers,
    build_graph,
    connecting_saddles,
    descent_runs,
    distinct_minima,
    nearest_image,
    refine,
)

from dynsys import status_names
from dynsys.graph import critical_point_graph, graph_summary, saddles, to_dataset
from dynsys.io import save
from dynsys.models.relu import teacher_student
from dynsys.saddles import SaddleOptions, find_saddles, graph_points
from dynsys.symmetry import PermutationSymmetry, UnitInputSymmetry

SEARCH = SaddleOptions(n_images=13, graph=GRAPH_OPTIONS)


def search_pairs(spurious: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """End states and pairs of rows: each spurious minimum with the nearest teacher image, and
    pairs of spurious minima (nearest images)."""
    units, both = PermutationSymmetry(K, D), UnitInputSymmetry(K, D)
    states, pairs = [], []
    for m in spurious:
        _, g = units.distance(TEACHER.ravel(), m)
        states += [m, units.act(g, TEACHER.ravel())]
        pairs.append((len(states) - 2, len(states) - 1))
    for a, b in itertools.combinations(spurious, 2):
        states += [a, nearest_image(b, a, both)]
        pairs.append((len(states) - 2, len(states) - 1))
    return np.reshape(states, (-1, K * D)), pairs


def compare(found: np.ndarray, hand: np.ndarray, group) -> dict[str, int]:
    """Saddles found by both searches, by the saddle search only, by the hand seeds only (up to
    the group)."""

    def seen(x, others):
        return any(bool(group.match(x, y, tol=1e-5)[0]) for y in others)

    both = sum(seen(x, hand) for x in found)
    return {
        "both": both,
        "search_only": len(found) - both,
        "hand_only": sum(not seen(y, found) for y in hand),
    }


def distinct(points: np.ndarray, group) -> np.ndarray:
    out: list[np.ndarray] = []
    for x in points:
        if not any(bool(group.match(x, y, tol=1e-5)[0]) for y in out):
            out.append(x)
    return np.reshape(out, (-1, K * D))


def main(
    out_dir: str | Path = "out/graph_k6_saddle_search",
    *,
    quick: bool = False,
    n_runs: int | None = None,
) -> dict[str, Path]:
    """Find the minima, search their saddles, compare with the hand seeds, build the graph.

    Parameters
    ----------
    out_dir : str or Path
        Output directory (created if needed).
    quick : bool
        20 gradient-descent runs instead of 6000.
    n_runs : int, optional
        Number of gradient-descent runs, overriding the size.

    Returns
    -------
    dict of Path
        ``saddles`` (the find_saddles Dataset), ``graph`` (netCDF).
    """
    n_runs = SIZES["quick" if quick else "default"] if n_runs is None else int(n_runs)
    group = UnitInputSymmetry(K, D)
    system = teacher_student(TEACHER)
    clock = {}
    start = time.perf_counter()
    runs = descent_runs(n_runs)
    reps, _ = distinct_minima(runs["x_final"].values[runs["spurious"].values])
    reps = list(refine(reps)) if reps else []
    clock["minima"] = time.perf_counter() - start
    print(f"K = {K}: {n_runs} descent runs, {len(reps)} distinct spurious minima")
    if not reps:
        print("  no spurious minimum: nothing to search (increase --runs)")
        return {}
    start = time.perf_counter()
    ends, pairs = search_pairs(reps)
    ds = find_saddles(system, ends, pairs=pairs, options=SEARCH, seed=RNG_SEED, symmetry=group)
    clock["saddle search"] = time.perf_counter() - start
    start = time.perf_counter()
    hand = connecting_saddles(reps)
    hand_x = hand["x"].values[hand["index"].values == 1] if "x" in hand else np.zeros((0, K * D))
    hand_x = distinct(hand_x, group)
    clock["hand seeds"] = time.perf_counter() - start
    start = time.perf_counter()
    G = critical_point_graph(system, graph_points(ds), options=GRAPH_OPTIONS, symmetry=group)
    G_hand = build_graph(reps, hand_x)
    clock["graphs"] = time.perf_counter() - start
    names, counts = np.unique(status_names(ds["outcome"].values), return_counts=True)
    outcomes = dict(zip(names.tolist(), counts.tolist(), strict=True))
    cmp = compare(ds["x"].values, hand_x, group)
    print(
        f"  saddle search: {len(pairs)} pairs, {ds.attrs['n_strings']} strings, "
        f"{ds.sizes['candidate']} candidates ({outcomes}), {ds.sizes['saddle']} verified index-1 "
        f"saddles, {ds.attrs['n_gradient_search']} gradient evaluations of the strings"
    )
    for k in range(ds.sizes["saddle"]):
        print(
            f"    saddle {k}: loss {float(ds['energy'][k]):.10f}, joins minima "
            f"{int(ds['minimum_a'][k])} and {int(ds['minimum_b'][k])} (barriers "
            f"{float(ds['barrier_a'][k]):.4e}, {float(ds['barrier_b'][k]):.4e})"
        )
    print(
        f"  hand-placed Newton seeds: {len(hand_x)} distinct index-1 saddles; found by both "
        f"{cmp['both']}, by the saddle search only {cmp['search_only']}, by the hand seeds only "
        f"{cmp['hand_only']}"
    )
    print(graph_summary(G))
    for m, bar in barriers(G).items():
        if bar is not None:
            print(f"  lowest barrier spurious {m} -> teacher: height {bar.height:.4e}")
    print(
        f"  graph saddles: {len(saddles(G))} (saddle search), {len(saddles(G_hand))} (hand seeds)"
    )
    print("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in clock.items()))
    assert ds.sizes["saddle"] >= 1, "the saddle search found no saddle"
    assert (ds["index"].values == 1).all()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "saddles": save(ds, out / "k6_saddle_search.nc"),
        "graph": save(to_dataset(G), out / "k6_saddle_search_graph.nc"),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/graph_k6_saddle_search", help="output directory")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--runs", type=int, default=None, help="gradient-descent runs")
    args = parser.parse_args()
    main(args.out, quick=args.quick, n_runs=args.runs)
