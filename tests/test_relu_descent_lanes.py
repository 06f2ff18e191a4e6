"""The lane kernel of :func:`dynsys.models.relu.descent_runs` (many runs advanced together,
runs innermost) against the one-run compiled loop it replaces.

What is guaranteed: the lane gradient equals the one-run gradient to rounding (1e-13 relative);
a run in lanes stops with the same code as in the one-run loop, after the same number of
iterations within one, at an end point within 1e-8 (the two differ only by the order of the sums);
and a run's arithmetic does not depend on its lane, on the runs beside it or on the number of
lanes (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest

from dynsys import Status
from dynsys.models.relu import descent_runs, random_teacher
from dynsys.models.relu._lane_kernels import descend_lanes, lane_gradient, lane_workspace
from dynsys.models.relu._protocol import _Teacher
from dynsys.models.relu._protocol_kernels import (
    PAUSE_GRADIENT,
    descend,
    gradient_into,
    workspace,
)

TOL = 1e-9 / (2 * np.pi)
RUNNING = int(Status.RUNNING)


def teacher(K: int, d: int, identity: bool = True, seed: int = 0) -> _Teacher:
    if identity:
        return _Teacher.make(np.eye(d), np.ones(K), np.ones(d))
    rng = np.random.default_rng(seed)
    W_star = random_teacher(3, d, rng=rng)
    return _Teacher.make(W_star, rng.uniform(0.5, 1.5, K), rng.uniform(0.5, 1.5, 3))


def args_of(t: _Teacher) -> tuple:
    return (t.a, t.T, t.TU, t.b_t, t.beta_t, t.identity)


def starts(runs: int, K: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(runs, K, d)) / np.sqrt(d)


def in_lanes(W0, t, width, *, eta=0.1, tol=TOL, esc=np.inf, max_steps=10**6, pause=0.0):
    """Every start of ``W0`` in ``width`` lanes; a lane whose run stops takes the next start.
    Returns ``(code, k, W)`` per start and the code of the first return of each run."""
    N, K, d = W0.shape
    W = np.ones((K, d, width))
    active = np.zeros(width, dtype=np.bool_)
    k = np.zeros(width, dtype=np.int64)
    code = np.zeros(width, dtype=np.int64)
    owner = [-1] * width
    queue = list(range(N))
    out: list = [None] * N

    def fill(v: int) -> None:
        if queue:
            owner[v] = queue.pop(0)
            W[:, :, v] = W0[owner[v]]
            k[v] = 0
            active[v] = True
        else:
            active[v] = False
            W[:, :, v] = 1.0

    for v in range(width):
        fill(v)
    ws = lane_workspace(K, d, t.b_t.size, width)
    W_prev, g = np.empty_like(W), np.empty_like(W)
    while active.any():
        descend_lanes(
            W, W_prev, g, k, active, code, np.zeros(width), np.zeros(width), eta, tol**2,
            esc**2, max_steps + 1, max_steps, np.full(width, pause), np.zeros_like(W),
            np.full(width, -1.0), *args_of(t), ws
        )  # fmt: skip
        for v in np.flatnonzero(active & (code != RUNNING)):
            out[owner[v]] = (int(code[v]), int(k[v]), W[:, :, v].copy())
            fill(v)
    return out


def one_run(W0, t, *, eta=0.1, tol=TOL, esc=np.inf, max_steps=10**6, pause=0.0):
    out = []
    for X in W0:
        X = X.copy()
        K, d = X.shape
        k, code, _, _ = descend(
            X, 0, eta, tol**2, esc**2, max_steps + 1, max_steps, pause, np.zeros((K, d)), -1.0,
            *args_of(t)
        )  # fmt: skip
        out.append((int(code), int(k), X))
    return out


@pytest.mark.parametrize(
    "K, d, identity",
    [(1, 1, True), (2, 2, True), (5, 5, True), (7, 7, True), (1, 3, False), (6, 9, False),
     (5, 4, False), (9, 3, False)],
)  # fmt: skip
def test_lane_gradient_equals_the_one_run_gradient(K, d, identity):
    t = teacher(K, d, identity)
    W = starts(6, K, d, seed=K + d)
    lanes = lane_gradient(np.ascontiguousarray(W.transpose(1, 2, 0)), *args_of(t))
    for v in range(6):
        g = np.empty((K, d))
        assert gradient_into(W[v].copy(), *args_of(t), workspace(K, d, t.b_t.size, t.TU), g)
        assert np.allclose(lanes[:, :, v], g, rtol=1e-13, atol=1e-15 * np.abs(g).max())


@pytest.mark.parametrize("K, d, identity", [(5, 5, True), (8, 8, True), (4, 6, False)])
def test_runs_in_lanes_follow_the_one_run_loop(K, d, identity):
    """Ten runs in four lanes: they stop at different times and refill the lanes."""
    t = teacher(K, d, identity)
    W0 = starts(10, K, d, seed=3)
    cap = 10**6 if identity else 20_000  # the general teacher's runs converge slowly
    lanes, ref = in_lanes(W0, t, 4, max_steps=cap), one_run(W0, t, max_steps=cap)
    assert [c for c, _, _ in lanes] == [c for c, _, _ in ref]
    if identity:
        assert all(c == int(Status.CONVERGED) for c, _, _ in lanes)
    assert all(abs(a[1] - b[1]) <= 1 for a, b in zip(lanes, ref, strict=True))
    if identity:
        assert len({k for _, k, _ in lanes}) > 1  # the lanes finished at different times
    assert all(np.abs(a[2] - b[2]).max() <= 1e-8 for a, b in zip(lanes, ref, strict=True))


@pytest.mark.parametrize("K", [6, 15])
def test_a_runs_arithmetic_does_not_depend_on_its_lane_or_width(K):
    t = teacher(K, K)
    W0 = starts(7, K, K, seed=5)
    wide = in_lanes(W0, t, 32, max_steps=3000 if K < 10 else 800)
    for width in (1, 3, 4, 8):
        other = in_lanes(W0, t, width, max_steps=3000 if K < 10 else 800)
        for a, b in zip(wide, other, strict=True):
            assert a[:2] == b[:2]
            assert np.array_equal(a[2], b[2])
    # the same start beside other runs, in another lane
    shuffled = in_lanes(np.concatenate([W0[3:], W0[:3]]), t, 4, max_steps=3000 if K < 10 else 800)
    for a, b in zip(wide, shuffled[4:] + shuffled[:4], strict=True):
        assert np.array_equal(a[2], b[2])


def test_non_finite_escape_and_iteration_limit_as_in_the_one_run_loop():
    K = 5
    t = teacher(K, K)
    W0 = starts(5, K, K, seed=1)
    # a step far too large: the iterates overflow; the last finite one is kept
    lanes, ref = in_lanes(W0, t, 4, eta=60.0, max_steps=2000), one_run(W0, t, eta=60.0)
    for (c, k, W), (c_ref, k_ref, W_ref) in zip(lanes, ref, strict=True):
        assert c == c_ref == int(Status.NONFINITE)
        assert abs(k - k_ref) <= 1
        assert np.all(np.isfinite(W))
        assert np.allclose(W, W_ref, rtol=1e-8)
    lanes, ref = in_lanes(W0, t, 4, eta=5.0, esc=20.0), one_run(W0, t, eta=5.0, esc=20.0)
    assert [x[:2] for x in lanes] == [x[:2] for x in ref]
    assert all(c == int(Status.ESCAPED) for c, _, _ in lanes)
    lanes = in_lanes(W0, t, 4, max_steps=50)
    assert all(c == int(Status.MAX_STEPS) and k == 50 for c, k, _ in lanes)


def test_a_zero_unit_stops_its_lane_only():
    K = 4
    t = teacher(K, K)
    W0 = starts(4, K, K, seed=2)
    W0[1, 2] = 0.0
    lanes = in_lanes(W0, t, 4, max_steps=400)
    alone = in_lanes(W0[[0, 2, 3]], t, 4, max_steps=400)
    assert lanes[1][:2] == (int(Status.NOT_DIFFERENTIABLE), 0)
    for a, b in zip([lanes[0], lanes[2], lanes[3]], alone, strict=True):
        assert a[:2] == b[:2]
        assert np.array_equal(a[2], b[2])


def test_a_pause_returns_where_the_one_run_loop_pauses_and_resuming_changes_nothing():
    K = 6
    t = teacher(K, K)
    W0 = starts(3, K, K, seed=9)
    paused = in_lanes(W0, t, 4, pause=1e-6)
    ref = one_run(W0, t, pause=1e-6)
    assert [x[0] for x in paused] == [x[0] for x in ref] == [PAUSE_GRADIENT] * 3
    assert all(abs(a[1] - b[1]) <= 1 for a, b in zip(paused, ref, strict=True))
    # resume the paused runs (the pause iterate is tested again): the end of the uninterrupted run
    full = in_lanes(W0, t, 4)
    for (_, k, W), (c_full, k_full, W_full) in zip(paused, full, strict=True):
        width = 2
        Wl = np.ones((K, K, width))
        Wl[:, :, 0] = W
        kk = np.array([k, 0])
        active = np.array([True, False])
        code = np.zeros(width, dtype=np.int64)
        while True:
            descend_lanes(
                Wl, np.empty_like(Wl), np.empty_like(Wl), kk, active, code, np.zeros(2),
                np.zeros(2), 0.1, TOL**2, np.inf, 10**6 + 1, 10**6, np.zeros(2), np.zeros_like(Wl),
                np.full(2, -1.0), *args_of(t), lane_workspace(K, K, K, width)
            )  # fmt: skip
            if code[0] != RUNNING:
                break
        assert (int(code[0]), int(kk[0])) == (c_full, k_full)
        assert np.array_equal(Wl[:, :, 0], W_full)


@pytest.mark.parametrize("workers", [1, 2])
def test_descent_runs_in_lanes_and_in_the_tail_match_the_one_run_loop(workers):
    """More runs than lanes, uncertified: every run ends converged as in the one-run loop (each
    run in lanes up to the hand-off, then in the one-run loop; the lanes narrow at the end)."""
    K = 4
    W0 = starts(80, K, K, seed=12)
    ds = descent_runs(W0, np.eye(K), certify=False, workers=workers)
    ref = one_run(W0, teacher(K, K))
    assert np.all(ds.status.values == Status.CONVERGED)
    assert np.all(np.abs(ds.iterations.values - [k for _, k, _ in ref]) <= 1)
    assert np.allclose(ds.w_final.values, np.array([W for _, _, W in ref]), atol=1e-8)
    capped = descent_runs(W0[:40], np.eye(K), certify=False, max_steps=30, workers=workers)
    assert np.all(capped.status.values == Status.MAX_STEPS)
    assert np.all(capped.iterations.values == 30)


def test_one_hidden_unit():
    W_star = np.ascontiguousarray(random_teacher(1, 3, rng=0), dtype=float)
    W0 = starts(5, 1, 3, seed=4)
    ds = descent_runs(W0, W_star, certify=False, workers=1)
    ref = one_run(W0, _Teacher.make(W_star, np.ones(1), np.ones(1)))
    assert np.array_equal(ds.status.values, [c for c, _, _ in ref])
    assert np.all(np.abs(ds.iterations.values - [k for _, k, _ in ref]) <= 1)
    assert np.allclose(ds.w_final.values, np.array([W for _, _, W in ref]), atol=1e-8)


def _uncertified_equal(a, b) -> None:
    """The same outcome, and for every uncertified run the same iterate bit for bit."""
    assert np.array_equal(a.status.values, b.status.values)
    assert np.array_equal(a.label.values, b.label.values)
    free = a.certified_at.values < 0
    assert np.array_equal(free, b.certified_at.values < 0)
    assert np.array_equal(a.iterations.values[free], b.iterations.values[free])
    assert np.array_equal(a.w_final.values[free], b.w_final.values[free])
    assert np.array_equal(a.w_limit.values[free], b.w_limit.values[free])


@pytest.mark.parametrize("certify", [False, True])
def test_end_points_do_not_depend_on_threads_or_timing(certify):
    """Where a run leaves the lanes is decided by its own trajectory, so an uncertified run's
    end point is the same bit for bit with one thread or two, call after call."""
    K = 6
    W0 = starts(120, K, K, seed=21)
    ref = descent_runs(W0, np.eye(K), certify=certify, workers=1)
    if not certify:
        assert np.all(ref.status.values == Status.CONVERGED)
    for workers in (2, 2, 1, 3):
        _uncertified_equal(ref, descent_runs(W0, np.eye(K), certify=certify, workers=workers))


def test_runs_past_the_hand_off_and_runs_without_lanes_end_alike(monkeypatch):
    """The hand-off to the one-run loop and the one-run loop alone (large networks) reach the
    same codes, iterations within one and end points within 1e-8."""
    import dynsys.models.relu._protocol as protocol

    K = 5
    W0 = starts(40, K, K, seed=8)
    lanes = descent_runs(W0, np.eye(K), certify=False, workers=2)
    certified = descent_runs(W0, np.eye(K), workers=2)
    monkeypatch.setattr(protocol, "_LANES_UP_TO", 0)
    alone = descent_runs(W0, np.eye(K), certify=False, workers=2)
    assert np.array_equal(lanes.status.values, alone.status.values)
    assert np.all(np.abs(lanes.iterations.values - alone.iterations.values) <= 1)
    assert np.allclose(lanes.w_final.values, alone.w_final.values, atol=1e-8)
    # with certificates: the same verdicts and families either way
    certified_alone = descent_runs(W0, np.eye(K), workers=2)
    assert np.array_equal(certified.status.values, certified_alone.status.values)
    assert np.array_equal(certified.label.values, certified_alone.label.values)
    assert np.allclose(certified.loss_final.values, certified_alone.loss_final.values, atol=1e-12)
