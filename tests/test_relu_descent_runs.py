"""Compiled, certified gradient-descent runs of the teacher-student network
(:func:`dynsys.models.relu.descent_runs`), checked against the closed forms and against the full
protocol: a certified run must end where the uncertified run of the same start ends."""

from __future__ import annotations

import numpy as np
import pytest

from dynsys import InputError, Status
from dynsys.integrate import FlowOptions, flow
from dynsys.models.relu import descent_runs, gradient, loss, random_teacher, teacher_student
from dynsys.models.relu._protocol_kernels import acos_array, gradient_into, workspace
from dynsys.symmetry import PermutationSymmetry, UnitInputSymmetry

TOL = 1e-9 / (2 * np.pi)


def starts(K: int, runs: int, seed: int, d: int | None = None) -> np.ndarray:
    d = K if d is None else d
    return np.random.default_rng(seed).normal(size=(runs, K, d)) / np.sqrt(d)


def test_polynomial_arccos_within_two_ulp_of_numpy():
    c = np.concatenate(
        [np.linspace(-1.0, 1.0, 400_001), [-1.0, -0.5, 0.5, 1.0], np.nextafter([0.5, -0.5], 0)]
    )
    out = np.empty_like(c)
    acos_array(c, out)
    ref = np.arccos(c)
    assert np.all(np.abs(out - ref) <= 2 * np.spacing(np.maximum(ref, 1e-300)))


@pytest.mark.parametrize("identity", [True, False])
def test_compiled_gradient_equals_closed_form(identity):
    rng = np.random.default_rng(3)
    K, d = 5, 4
    W_star = np.eye(d) if identity else random_teacher(3, d, rng=rng)
    a = np.ones(K) if identity else rng.uniform(0.5, 1.5, K)
    a_star = np.ones(len(W_star)) if identity else rng.uniform(0.5, 1.5, len(W_star))
    norms = np.linalg.norm(W_star, axis=1)
    args = (a, W_star, W_star / norms[:, None], -a_star, -a_star * norms, identity)
    for W in rng.normal(size=(20, K, d)):
        g = np.empty((K, d))
        assert gradient_into(W, *args, workspace(K, d, len(W_star), args[2]), g)
        ref = gradient(W, W_star, a=a, a_star=a_star).reshape(K, d)
        assert np.allclose(g, ref, rtol=1e-13, atol=1e-14)


def test_runs_follow_the_rules_of_flow():
    """Uncertified, the compiled loop takes the same iterations as dynsys.integrate.flow with
    the protocol's rule, and ends at the same point."""
    K = 5
    W0 = starts(K, 6, seed=1)
    ds = descent_runs(W0, np.eye(K), certify=False, workers=1)
    options = FlowOptions(
        method="gradient_descent",
        learning_rate=0.1,
        converge_tol=TOL,
        converge_block=K,
        t_max=np.inf,
        max_steps=10**6,
    )
    ref = flow(teacher_student(np.eye(K)), W0.reshape(6, -1), options=options)
    assert np.all(ds.status.values == Status.CONVERGED)
    assert np.all(np.abs(ds.iterations.values - ref.n_steps.values) <= 1)
    assert np.allclose(ds.w_final.values.reshape(6, -1), ref.x_final.values, atol=1e-8)


@pytest.mark.parametrize("K, runs", [(6, 300), (8, 250), (10, 200)])
def test_certified_runs_end_where_the_full_protocol_ends(K, runs):
    W0 = starts(K, runs, seed=100 + K)
    full = descent_runs(W0, np.eye(K), certify=False)
    fast = descent_runs(W0, np.eye(K), certify=True)
    certified = fast.status.values == Status.CERTIFIED
    assert np.all(full.status.values == Status.CONVERGED)
    assert certified.mean() > 0.9
    assert np.all((fast.status.values == Status.CONVERGED) | certified)
    # the certified minimum is the limit of the same trajectory: the full run stops next to it
    gap = np.linalg.norm((full.w_final - fast.w_limit).values.reshape(runs, -1), axis=1)
    mu = fast.certificate_mu.values[certified]
    assert np.all(gap[certified] <= 10 * TOL * np.sqrt(K) / mu)
    # the same verdicts and the same families (numbered by loss in both)
    spurious_full = full.loss_final.values >= 1e-3
    assert np.array_equal(spurious_full, fast.loss_final.values >= 1e-3)
    assert np.array_equal(full.label.values, fast.label.values)
    assert np.allclose(full.family_loss.values, fast.family_loss.values, rtol=1e-7, atol=1e-12)
    # the certificate is issued before the convergence test would stop the run
    it_fast, it_full = fast.iterations.values, full.iterations.values
    assert np.all(it_fast[certified] < it_full[certified])
    assert np.array_equal(fast.certified_at.values[certified], it_fast[certified])
    assert np.all(fast.certified_at.values[~certified] == -1)
    # the recorded certificate: the iterate in the ball, a contraction, positive curvature
    assert np.all(fast.certificate_distance.values[certified] <= fast.certificate_radius[certified])
    assert np.all(fast.certificate_contraction.values[certified] < 1)
    assert np.all(fast.certificate_mu.values[certified] > 0)
    assert np.all(0.1 * fast.certificate_lambda_max.values[certified] < 2)


def test_teacher_family_and_spurious_family_are_told_apart():
    K = 6
    ds = descent_runs(starts(K, 200, seed=7), np.eye(K), workers=2)
    losses = ds.family_loss.values
    assert losses[0] < 1e-12  # the teacher, numbered first
    assert int(ds.family_runs.sum()) == int((ds.label >= 0).sum())
    # every member of a family is an image of its representative: equal loss
    for f, J in enumerate(losses):
        members = ds.loss_final.values[ds.label.values == f]
        assert np.allclose(members, J, rtol=1e-6, atol=1e-12)
    # the teacher's family: the end points are permutation matrices
    teacher = ds.w_limit.values[ds.label.values == 0]
    assert np.allclose(np.sort(teacher, axis=2)[:, :, -1], 1.0, atol=1e-8)
    assert np.allclose(loss(teacher, np.eye(K)), 0.0, atol=1e-12)


def test_one_thread_repeats_bit_for_bit_and_threads_give_the_same_outcomes():
    W0 = starts(5, 40, seed=11)
    one = descent_runs(W0, np.eye(5), workers=1)
    again = descent_runs(W0, np.eye(5), workers=1)
    two = descent_runs(W0, np.eye(5), workers=2)
    assert one.drop_attrs().equals(again.drop_attrs())
    assert np.array_equal(one.label.values, two.label.values)
    assert np.allclose(one.w_limit.values, two.w_limit.values, atol=1e-10)


def test_general_teacher_without_input_symmetry():
    rng = np.random.default_rng(5)
    W_star = random_teacher(3, 4, rng=rng)
    ds = descent_runs(starts(3, 12, seed=2, d=4), W_star, workers=1)
    assert ds.attrs["symmetry"] == "PermutationSymmetry"
    done = np.isin(ds.status.values, [Status.CONVERGED, Status.CERTIFIED])
    assert done.all()
    g = gradient(ds.w_limit.values, W_star).reshape(12, 3, 4)
    assert np.linalg.norm(g, axis=2).max() <= 1e-8


def test_bad_input_is_refused_with_the_fix():
    W0 = starts(3, 2, seed=0)
    with pytest.raises(InputError, match="expected \\(runs, K, d\\)"):
        descent_runs(W0[0], np.eye(3))
    with pytest.raises(InputError, match="finite"):
        descent_runs(np.where(W0 > 0, np.nan, W0), np.eye(3))
    with pytest.raises(InputError, match="to match the students' 3 inputs"):
        descent_runs(W0, np.eye(4))
    with pytest.raises(InputError, match="`step` must be a positive"):
        descent_runs(W0, np.eye(3), step=0.0)
    with pytest.raises(InputError, match="not a symmetry of this loss"):
        descent_runs(W0, random_teacher(3, 3, rng=1), symmetry=UnitInputSymmetry(3, 3))
    with pytest.raises(InputError, match="acts on networks with K = 4"):
        descent_runs(W0, np.eye(3), symmetry=PermutationSymmetry(4, 3))
    with pytest.raises(InputError, match="`workers` must be at least 1"):
        descent_runs(W0, np.eye(3), workers=-1)


def test_zero_hidden_unit_at_the_start_is_reported_per_run():
    W0 = starts(3, 3, seed=4)
    W0[1, 2] = 0.0
    ds = descent_runs(W0, np.eye(3), workers=1)
    assert ds.status.values[1] == Status.NOT_DIFFERENTIABLE
    assert ds.label.values[1] == -1
    assert np.isin(ds.status.values[[0, 2]], [Status.CONVERGED, Status.CERTIFIED]).all()
