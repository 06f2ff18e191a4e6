"""The spurious-minimum table (examples/spurious_minima_table.py) checked against mathematics at a
small size: end points are critical points by the closed-form gradient, non-spurious ends are
permutations of the teacher, spurious ones are verified minima, and with one extra unit the
zero-loss ends split one teacher unit into parallel parts that add up to it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from dynsys._status import Status
from dynsys.models.reduced import theorem7_saddle
from dynsys.models.relu import gradient, hessian, loss

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if str(EXAMPLES) not in sys.path:  # the examples import their shared helpers (_common)
    sys.path.insert(0, str(EXAMPLES))


@pytest.fixture(scope="module")
def table():
    path = EXAMPLES / "spurious_minima_table.py"
    spec = importlib.util.spec_from_file_location("example_spurious_minima_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unit_gradient_max(x, K, d):
    grad = gradient(np.reshape(x, (-1, K, d)), np.eye(d)).reshape(-1, K, d)
    return np.linalg.norm(grad, axis=-1).max(axis=-1)


def test_k_equals_k_star_ends_are_the_teacher_or_verified_minima(table):
    d = 8
    ds = table.protocol_runs(d, 0, 16)
    ends = ds["w_limit"].values.reshape(-1, d, d)
    assert np.all(np.isin(ds["status"].values, [Status.CONVERGED, Status.CERTIFIED]))
    # the protocol's stopping rule (certified runs: their minimum), by the closed-form gradient
    assert np.all(unit_gradient_max(ends, d, d) <= table.GRADIENT_TOL * (1 + 1e-6))
    spurious = ds["spurious"].values
    for W in ends[~spurious]:  # the teacher up to a permutation of hidden units
        rows, cols = linear_sum_assignment(-np.abs(W))
        P = np.zeros((d, d))
        P[rows, cols] = 1.0
        assert np.abs(W - P).max() < 1e-8
    assert spurious.sum() >= 1  # this seed reaches a spurious minimum at d = 8
    found = table.spurious_minima(ds, d, 0)
    assert sum(f["runs"] for f in found) == spurious.sum()
    for f in found:
        assert f["loss"] >= table.SPURIOUS_LOSS
        assert f["gradient"] <= table.GRADIENT_TOL * (1 + 1e-6)
        assert f["hessian_min"] > 1e-6 and f["index"] == 0 and f["nullity"] == 0
    # the fraction and its Wilson interval
    summary, _, _ = table.table([d], 16, extras=(0,))
    row = summary.sel(extra=0, d=d)
    assert int(row.spurious_runs) == spurious.sum()
    assert float(row.ci_low) < float(row.fraction) < float(row.ci_high)


def test_one_extra_unit_splits_a_teacher_unit(table):
    d = 5
    K = d + 1
    ds = table.protocol_runs(d, 1, 8)
    J = ds["loss_final"].values
    assert not ds["spurious"].values.any() and not ds["undecided"].values.any()
    assert np.all(J < 1e-6) and np.all(ds["loss_initial"].values >= J)
    for W in ds["w_final"].values.reshape(-1, K, d):
        norms = np.linalg.norm(W, axis=1)
        directions = W / norms[:, None]
        # every student unit points along a teacher unit; the parts of each teacher unit add up
        # to it (relu(s w.x) + relu((1 - s) w.x) = relu(w.x))
        which = np.argmax(directions, axis=1)
        assert np.all(directions[np.arange(K), which] > 1 - 1e-4)
        for i in range(d):
            total = W[which == i].sum(axis=0)
            assert np.abs(total - np.eye(d)[i]).max() < 1e-3
        assert loss(W, np.eye(d)) < 1e-6


def test_check_minimum_tells_a_saddle_from_a_minimum(table):
    # the teacher is a minimum; Tian's symmetric saddle W = s 1 1^T (Theorem 7, x = y = s) is a
    # critical point with negative Hessian eigenvalues
    d = 3
    chk = table.check_minimum(np.eye(d), d, d)
    assert chk["loss"] == pytest.approx(0.0, abs=1e-14)
    assert chk["gradient"] < 1e-12 and chk["hessian_min"] > 0 and chk["index"] == 0
    saddle = np.full((d, d), theorem7_saddle(d))
    chk = table.check_minimum(saddle, d, d)
    assert chk["gradient"] < 1e-12 and chk["index"] >= 1
    assert chk["hessian_min"] == pytest.approx(np.linalg.eigvalsh(hessian(saddle, np.eye(d)))[0])
