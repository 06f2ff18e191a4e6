"""Tian's Theorem 7 system: against the theorem (the saddle's closed form, convergence to the
teacher), against the full K-unit network restricted to the symmetric subspace, and against
finite differences of its own loss."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dynsys._fd import fd_derivative_scalar, fd_gradient, fd_jacobian
from dynsys.fixedpoints import find_fixed_points
from dynsys.models.reduced import theorem7, theorem7_embedding, theorem7_loss, theorem7_saddle
from dynsys.models.relu import loss as relu_loss
from dynsys.models.relu import teacher_student
from dynsys.symmetry import restrict_to_subspace

RNG = np.random.default_rng(7)
K_VALUES = [*range(2, 21), 2.5, 7.3]


def subspace_points(m=40):
    """Points (x, y) of the subspace away from the origin, including x = y and y = 0."""
    z = RNG.uniform(-1.0, 1.5, (m, 2))
    z = z[np.linalg.norm(z, axis=1) > 0.1]
    return np.vstack([z, [[0.4, 0.4], [1.0, 0.0], [0.3, 0.0], [0.0, 0.6]]])


# ---------------------------------------------------------------------------- the saddle
def test_saddle_closed_form_values():
    # K = 2: (1 - pi/4 + pi) / (2 pi) = 3/8 + 1/(2 pi); K = 4: (sqrt 3 - pi/3 + pi) / (4 pi)
    assert theorem7_saddle(2) == pytest.approx(3 / 8 + 1 / (2 * np.pi), abs=1e-15)
    expected_4 = (np.sqrt(3.0) + 2 * np.pi / 3) / (4 * np.pi)
    np.testing.assert_allclose(theorem7_saddle(np.array([2.0, 4.0]))[1], expected_4, rtol=1e-15)


@pytest.mark.parametrize("K", K_VALUES)
def test_fixed_point_finder_returns_tians_saddle(K):
    system = theorem7(K)
    s = theorem7_saddle(K)
    seeds = np.vstack([np.outer(np.linspace(0.3, 1.5, 6) * s, [1.0, 1.0]), [[0.9, 0.1]]])
    ds = find_fixed_points(system, seeds)
    x = ds["x"].values
    on_diagonal = np.abs(x[:, 0] - x[:, 1]) < 1e-8
    assert on_diagonal.sum() == 1
    np.testing.assert_allclose(x[on_diagonal][0], [s, s], rtol=0, atol=1e-10)
    assert ds["kind"].values[on_diagonal][0] == "saddle"
    eig = np.linalg.eigvals(system.jac([s, s]))
    assert np.all(np.abs(eig.imag) < 1e-12) and eig.real.min() < 0 < eig.real.max()
    # the teacher is the other equilibrium: a sink with zero loss
    teacher = x[~on_diagonal]
    np.testing.assert_allclose(teacher, [[1.0, 0.0]], atol=1e-10)
    assert np.all(np.linalg.eigvals(system.jac([1.0, 0.0])).real < 0)
    assert abs(float(system.potential([1.0, 0.0]))) < 1e-13
    assert float(system.potential([s, s])) > 0


@pytest.mark.parametrize("K", [2, 3, 5, 8])
def test_full_network_restricted_to_the_subspace_has_the_same_saddle(K):
    """Newton on the full network restricted to the invariant subspace finds Tian's saddle. (On
    the unrestricted network Newton may slide off: see the next test.)"""
    full = teacher_student(np.eye(K))
    emb = theorem7_embedding(K)
    restricted = restrict_to_subspace(full, emb, state_names=["x", "y"])
    s = theorem7_saddle(K)
    ds = find_fixed_points(restricted, np.outer([0.8, 1.2], [s, s]))
    assert ds.sizes["point"] == 1
    np.testing.assert_allclose(ds["x"].values[0], [s, s], rtol=0, atol=1e-10)
    assert ds["kind"].values[0] == "saddle"
    assert np.abs(full.f(emb.lift([s, s]))).max() < 1e-14


@pytest.mark.parametrize("K", [2, 3, 5])
def test_the_saddle_of_the_full_network_lies_on_a_manifold_of_critical_points(K):
    """At the saddle all units equal s 1 (parallel); parallel units add their norms, so units
    alpha_j 1 with sum alpha_j = K s are critical too: a (K-1)-manifold whose tangents
    (delta_j 1, sum delta_j = 0) the Hessian annihilates."""
    full = teacher_student(np.eye(K))
    s = theorem7_saddle(K)
    alphas = s * (1.0 + 0.3 * np.linspace(-1.0, 1.0, K))
    alphas *= K * s / alphas.sum()
    point = np.outer(alphas, np.ones(K)).ravel()
    assert np.abs(full.f(point)).max() < 1e-14
    saddle = theorem7_embedding(K).lift([s, s])
    assert np.abs(full.f(saddle)).max() < 1e-14
    deltas = np.eye(K) - 1.0 / K  # rows sum to zero
    tangents = np.stack([np.outer(delta, np.ones(K)).ravel() for delta in deltas])
    H = full.hessian(saddle)
    assert np.abs(tangents @ H).max() < 1e-12
    eig = np.linalg.eigvalsh(H)
    assert np.sum(np.abs(eig) < 1e-10) >= K - 1 and eig.min() < 0


# ---------------------------------------------------------------------------- the full network
@pytest.mark.parametrize("K", range(2, 9))
def test_field_equals_the_restriction_of_the_full_field(K):
    full = teacher_student(np.eye(K))
    emb = theorem7_embedding(K)
    z = subspace_points()
    W_dot = full.f(emb.lift(z)).reshape(-1, K, K)
    reduced = theorem7(K).f(z)
    # x' is the e_1 component of w_1', y' its e_2 component; every unit agrees by symmetry
    np.testing.assert_allclose(reduced[:, 0], W_dot[:, 0, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(reduced[:, 1], W_dot[:, 0, 1], rtol=0, atol=1e-12)
    restricted = restrict_to_subspace(full, emb, state_names=["x", "y"])
    np.testing.assert_allclose(restricted.f(z), reduced, rtol=0, atol=1e-12)
    np.testing.assert_allclose(restricted.jac(z), theorem7(K).jac(z), rtol=0, atol=1e-11)
    assert restricted.invariance_defect(z).max() < 1e-12


@pytest.mark.parametrize("K", range(2, 9))
def test_loss_equals_the_full_loss_on_the_subspace(K):
    z = subspace_points()
    W = theorem7_embedding(K).lift(z).reshape(-1, K, K)
    np.testing.assert_allclose(theorem7_loss(z, K), relu_loss(W, np.eye(K)), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("K", [2.0, 3.0, 4.5, 12.0])
def test_field_is_the_metric_gradient_of_the_loss(K):
    z = subspace_points()
    grad = fd_gradient(lambda s: theorem7_loss(s, K), z)
    np.testing.assert_allclose(theorem7(K).f(z), -grad / [K, K * (K - 1.0)], rtol=0, atol=1e-9)


@pytest.mark.parametrize("K", [2.0, 3.0, 4.5, 12.0])
def test_jacobian_and_parameter_derivative_are_analytic(K):
    system = theorem7(K)
    generic = RNG.uniform(0.05, 1.2, (30, 2))
    generic = generic[np.abs(generic[:, 0] - generic[:, 1]) > 0.05]
    J_fd = fd_jacobian(lambda s: system.f(s), generic)
    np.testing.assert_allclose(system.jac(generic), J_fd, rtol=1e-8, atol=1e-9)
    if K > 2:  # d/dK by central differences needs K away from the integer subspace edge
        dK_fd = fd_derivative_scalar(lambda k: system.f(generic, {"K": k}), K)
        np.testing.assert_allclose(system.dfdp(generic, "K"), dK_fd, rtol=1e-8, atol=1e-9)
    # where units coincide (x = y) or meet the teacher (y = 0) the field is C^1 but not C^2:
    # central differences converge only linearly in h there, so compare with a small step
    kinks = np.array([[0.4, 0.4], [theorem7_saddle(K)] * 2, [1.0, 0.0], [0.3, 0.0]])
    h = 1e-8
    J_small = np.stack(
        [(system.f(kinks + h * e) - system.f(kinks - h * e)) / (2 * h) for e in np.eye(2)], -1
    )
    np.testing.assert_allclose(system.jac(kinks), J_small, rtol=0, atol=1e-6)


def test_field_is_analytic_in_real_K():
    """Non-integer K interpolates smoothly between the integer systems."""
    z = np.array([[0.7, 0.2], [0.3, 0.5]])
    Ks = np.linspace(2.0, 6.0, 41)
    values = np.stack([theorem7(K).f(z) for K in Ks])
    second = values[2:] - 2 * values[1:-1] + values[:-2]
    assert np.abs(second).max() < 1e-2 * np.abs(values).max()


# ---------------------------------------------------------------------------- the flow
def integrate(field, z0, t_end=200.0):
    sol = solve_ivp(lambda t, z: field(z), (0.0, t_end), z0, method="LSODA", rtol=1e-10, atol=1e-12)
    assert sol.success
    return sol


@pytest.mark.parametrize("K", [2, 5, 10])
def test_flow_from_omega_reaches_the_teacher_and_the_loss_decreases(K):
    """Theorem 7 (1): from 1 >= x0 > y0 >= 0 the flow converges to the teacher (1, 0)."""
    system = theorem7(K)
    starts = [[1e-3, 0.0], [0.5, 0.49], [1.0, 0.99], [0.3, 0.0], [1.0, 0.5]]
    starts += [sorted(pair, reverse=True) for pair in RNG.uniform(0, 1, (4, 2))]
    for z0 in starts:
        sol = integrate(system.f, z0)
        np.testing.assert_allclose(sol.y[:, -1], [1.0, 0.0], atol=1e-7)
        losses = system.potential(sol.y.T)
        assert np.all(np.diff(losses) <= 1e-13)
        assert losses[-1] < 1e-12


@pytest.mark.parametrize("K", [2, 5, 10, 4.5])
def test_flow_on_the_diagonal_reaches_the_saddle(K):
    """Theorem 7 (2): x0 = y0 in (0, 1] converges to the symmetric saddle. The diagonal is
    invariant (x' = y' there) but unstable, so the flow is integrated on it, in one dimension."""
    system = theorem7(K)
    s = theorem7_saddle(K)
    t = np.linspace(0.01, 1.5, 50)
    field = system.f(np.stack([t, t], axis=-1))
    np.testing.assert_allclose(field[:, 0], field[:, 1], rtol=0, atol=1e-14)
    for x0 in (0.05, 0.5, 1.0):
        sol = integrate(lambda x: system.f([x[0], x[0]])[:1], [x0], t_end=100.0)
        assert sol.y[0, -1] == pytest.approx(s, abs=1e-8)


def test_bad_K_is_rejected():
    with pytest.raises(ValueError, match="> 1"):
        theorem7(1.0)
    with pytest.raises(ValueError, match="integer >= 2"):
        theorem7_embedding(2.5)
