"""The CNN of Du et al. (2017): closed forms against calculus and sampling; the spurious minimum."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from dynsys._fd import fd_gradient, fd_jacobian
from dynsys.models import cnn
from dynsys.models.relu import NotDifferentiableError

P, K = 3, 5  # filter size, number of patches


def teacher(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(P), rng.standard_normal(K)


def state_functions(w_star, a_star, weight_norm):
    def L(x):
        return cnn.loss(x[..., :P], x[..., P:], w_star, a_star, weight_norm=weight_norm)

    def g(x):
        return cnn.gradient(x[..., :P], x[..., P:], w_star, a_star, weight_norm=weight_norm)

    return L, g


@pytest.mark.parametrize("weight_norm", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_gradient_and_hessian_equal_finite_differences(weight_norm, seed):
    w_star, a_star = teacher(seed)
    x = np.random.default_rng(seed + 10).standard_normal(P + K)
    L, g = state_functions(w_star, a_star, weight_norm)
    grad = g(x)
    assert np.abs(grad - fd_gradient(L, x)).max() <= 1e-7 * np.abs(grad).max()
    H = cnn.hessian(x[:P], x[P:], w_star, a_star, weight_norm=weight_norm)
    assert np.abs(H - fd_jacobian(g, x)).max() <= 1e-6 * np.abs(H).max()
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-14)


@pytest.mark.parametrize("weight_norm", [False, True])
def test_loss_and_gradient_agree_with_monte_carlo(weight_norm):
    w_star, a_star = teacher(3)
    rng = np.random.default_rng(4)
    w, a = rng.standard_normal(P), rng.standard_normal(K)
    est = cnn.monte_carlo(w, a, w_star, a_star, n_samples=1_000_000, rng=5, weight_norm=weight_norm)
    exact = cnn.loss(w, a, w_star, a_star, weight_norm=weight_norm)
    grad = cnn.gradient(w, a, w_star, a_star, weight_norm=weight_norm)
    assert abs(est.loss - exact) < 4 * est.loss_se
    assert np.all(np.abs(est.gradient - grad) < 4 * est.gradient_se)
    assert np.all(est.gradient_se < 0.02 * (1 + np.abs(grad)))


def test_cross_patch_terms_factor():
    # a single patch (k = 1) and the cross-patch expectation |u||v|/(2 pi) give, for a* = 0 ...
    # E[f^2]/2 with f = sum_j a_j relu(w.Z_j): (|w|^2/(4 pi)) ((pi - 1)|a|^2 + (1.a)^2)
    w, a = np.array([0.6, -0.8, 0.0]), np.array([1.0, 2.0, -1.0, 0.5, 0.0])
    w_star = np.array([1.0, 0.0, 0.0])
    expected = ((math.pi - 1) * (a @ a) + a.sum() ** 2) / (4 * math.pi)
    assert cnn.loss(w, a, w_star, np.zeros(K)) == pytest.approx(expected, rel=1e-14)


def test_global_minimum_in_both_parameterisations():
    w_star, a_star = teacher(6)
    r = np.linalg.norm(w_star)
    tol = 1e-14 * cnn.loss(w_star, np.zeros(K), w_star, a_star)  # relative to E[f*^2] / 2
    assert abs(cnn.loss(w_star, a_star, w_star, a_star)) < tol
    assert abs(cnn.loss(2.5 * w_star, a_star / 2.5, w_star, a_star)) < tol  # homogeneity
    for scale in (0.3, 1.0, 7.0):  # the weight-normalised loss ignores |v|
        x = np.concatenate([scale * w_star, r * a_star])
        assert abs(cnn.loss(x[:P], x[P:], w_star, a_star, weight_norm=True)) < tol
        assert np.abs(cnn.gradient(x[:P], x[P:], w_star, a_star, weight_norm=True)).max() < 1e-12


def test_weight_normalised_gradient_is_orthogonal_to_v():
    w_star, a_star = teacher(7)
    x = np.random.default_rng(8).standard_normal((20, P + K))
    grad = cnn.gradient(x[:, :P], x[:, P:], w_star, a_star, weight_norm=True)
    assert np.abs(np.einsum("ij,ij->i", grad[:, :P], x[:, :P])).max() < 1e-14


# ---------------------------------------------------------------------------- spurious minimum
@pytest.mark.parametrize("seed", [0, 11, 12])
def test_spurious_minimum_is_critical_with_positive_loss_and_pd_hessian_in_a(seed):
    w_star, a_star = teacher(seed)
    x = cnn.spurious_minimum(w_star, a_star)
    v, a = x[:P], x[P:]
    np.testing.assert_allclose(v, -w_star / np.linalg.norm(w_star), rtol=1e-15)
    assert np.abs(cnn.gradient(v, a, w_star, a_star, weight_norm=True)).max() < 1e-12
    assert cnn.loss(v, a, w_star, a_star, weight_norm=True) > 0.05  # global minimum is 0
    H = cnn.hessian(v, a, w_star, a_star, weight_norm=True)
    # in a: exactly ((pi - 1) I + 1 1^T) / (2 pi), eigenvalues (pi - 1) and (pi - 1 + k) over 2 pi
    eig_a = np.linalg.eigvalsh(H[P:, P:])
    np.testing.assert_allclose(
        eig_a[[0, -1]],
        [(math.pi - 1) / (2 * math.pi), (math.pi - 1 + K) / (2 * math.pi)],
        rtol=1e-12,
    )
    # in v: zero (scale invariance radially, cubic growth in the angle)
    assert np.abs(H[:P, :]).max() < 1e-12


def test_spurious_minimum_grows_cubically_in_the_angle():
    w_star, a_star = teacher(0)
    x = cnn.spurious_minimum(w_star, a_star)
    v, a = x[:P], x[P:]
    base = cnn.loss(v, a, w_star, a_star, weight_norm=True)
    tangent = np.linalg.svd(v[None])[2][1]  # a unit vector orthogonal to v
    predicted_coef = -np.linalg.norm(w_star) * (a @ a_star) / (6 * math.pi)
    assert predicted_coef > 0
    for eps in (1e-2, 3e-3):
        turned = math.cos(eps) * v + math.sin(eps) * tangent
        rise = cnn.loss(turned, a, w_star, a_star, weight_norm=True) - base
        # h(pi - eps) = eps^3/3 - eps^5/30 + ...: relative correction eps^2/10
        assert rise / (predicted_coef * eps**3) == pytest.approx(1.0, abs=2e-5)


def test_scipy_local_minimisation_from_nearby_starts_returns_to_the_spurious_minimum():
    w_star, a_star = teacher(0)
    x_s = cnn.spurious_minimum(w_star, a_star)
    L, g = state_functions(w_star, a_star, True)
    rng = np.random.default_rng(1)
    for _ in range(4):
        start = x_s + 0.05 * rng.standard_normal(P + K)
        assert L(start) > L(x_s)  # a strict local minimum (up to the scale of v)
        res = minimize(lambda z: float(L(z)), start, jac=g, method="BFGS", options={"gtol": 1e-12})
        v = res.x[:P] / np.linalg.norm(res.x[:P])
        assert math.acos(min(1.0, float(v @ x_s[:P]))) < 1e-3
        np.testing.assert_allclose(res.x[P:], x_s[P:], atol=1e-6)
        assert float(L(res.x)) == pytest.approx(float(L(x_s)), rel=1e-9)


def test_teacher_without_spurious_minimum_is_refused_and_the_point_is_a_saddle():
    w_star, a_star = np.array([1.0, 0.0, 0.0]), np.ones(K)
    with pytest.raises(ValueError, match="saddle"):
        cnn.spurious_minimum(w_star, a_star)
    # check the claim: at (-w*, a_s) turning the filter lowers the loss
    a_s = np.linalg.solve((math.pi - 1) * np.eye(K) + 1.0, a_star.sum() - a_star)
    v = -w_star
    base = cnn.loss(v, a_s, w_star, a_star, weight_norm=True)
    turned = np.array([-math.cos(0.05), math.sin(0.05), 0.0])
    assert cnn.loss(turned, a_s, w_star, a_star, weight_norm=True) < base


# ---------------------------------------------------------------------------- system and errors
@pytest.mark.parametrize("weight_norm", [False, True])
def test_system_is_the_negative_gradient_with_nan_at_a_zero_filter(weight_norm):
    w_star, a_star = teacher(9)
    system = cnn.conv_teacher_student(w_star, a_star, weight_norm=weight_norm)
    x = np.random.default_rng(2).standard_normal((3, P + K))
    x[1, :P] = 0.0
    f = system.f(x)
    assert np.all(np.isnan(f[1])) and np.all(np.isfinite(f[[0, 2]]))
    np.testing.assert_array_equal(
        f[0], -cnn.gradient(x[0, :P], x[0, P:], w_star, a_star, weight_norm=weight_norm)
    )
    np.testing.assert_array_equal(
        system.jac(x[2]), -cnn.hessian(x[2, :P], x[2, P:], w_star, a_star, weight_norm=weight_norm)
    )
    assert cnn.singular_mask(x, p=P).tolist() == [False, True, False]
    with pytest.raises(NotDifferentiableError, match="filter is zero"):
        cnn.gradient(x[:, :P], x[:, P:], w_star, a_star, weight_norm=weight_norm)


def test_bad_inputs():
    with pytest.raises(ValueError, match="same sizes"):
        cnn.loss(np.ones(3), np.ones(2), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="nonzero"):
        cnn.conv_teacher_student(np.zeros(3), np.ones(2))


def test_random_start_distribution():
    x = cnn.random_start(P, K, rng=0, a_radius=0.2, size=4000)
    np.testing.assert_allclose(np.linalg.norm(x[:, :P], axis=1), 1.0, rtol=1e-14)
    r = np.linalg.norm(x[:, P:], axis=1)
    assert r.max() <= 0.2
    # uniform in the 5-ball: P(r < 0.1) = 2^-5; 4000 draws give s.e. 0.0028
    assert abs((r < 0.1).mean() - 2.0**-K) < 4 * math.sqrt(2.0**-K * (1 - 2.0**-K) / 4000)
