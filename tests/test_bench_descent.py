"""The baseline of benchmarks/bench_descent.py computes the same protocol as dynsys: its gradient
is Tian's closed form, and on the same initial networks its runs end in the same families with
the same spurious verdicts (so the printed ratio compares equal work)."""

from __future__ import annotations

import numpy as np

from benchmarks import bench_descent as bench
from dynsys.models.relu import descent_runs, gradient


def test_baseline_gradient_is_the_closed_form():
    W = bench.initial_points(6, 8)
    ref = gradient(W, np.eye(6)).reshape(W.shape)
    assert np.allclose(bench.batched_gradient(W), ref, rtol=1e-13, atol=1e-15)


def test_baseline_runs_the_protocol_to_its_rule_and_agrees_with_dynsys():
    K, runs = 6, 40
    W0 = bench.initial_points(K, runs)
    W_end, iters = bench.numpy_descent(W0, chunk=16)  # refills exercised: 40 runs, 16 slots
    g = gradient(W_end, np.eye(K)).reshape(runs, K, K)
    assert np.all(np.linalg.norm(g, axis=2).max(axis=1) <= bench.TOL * (1 + 1e-9))
    full = descent_runs(W0, np.eye(K), certify=False, workers=1)
    assert np.all(np.abs(iters - full.iterations.values) <= 1)  # the same rule, step for step
    ds = descent_runs(W0, np.eye(K), workers=2)
    diff = bench.compare_outcomes(ds, W_end)
    assert diff == {"family_differs": 0, "verdict_differs": 0, "spurious": diff["spurious"]}
    # the comparison can fail: wrong labels and wrong end points are noticed
    wrong = ds.copy(deep=True)
    wrong["label"].values[:5] = -1
    assert bench.compare_outcomes(wrong, W_end)["family_differs"] == 5
    moved = W_end.copy()
    moved[:3] += 1e-2
    assert bench.compare_outcomes(ds, moved)["family_differs"] == 3
