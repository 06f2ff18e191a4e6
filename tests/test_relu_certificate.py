"""The certified end of gradient descent on the teacher-student ReLU loss.

Checked against mathematics: the Hessian blocks against Gaussian expectations in closed form,
the closed-form Hessian and finite differences of the gradient; the Lipschitz bound against the
Hessian's actual variation (random and adversarial pairs); the certificates against the
spectrum computed by LAPACK and against gradient descent orbits, which must contract as the
theorem says.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dynsys.errors import InputError
from dynsys.models.relu import gradient, hessian, loss, xavier_init
from dynsys.models.relu._certificate import certify_descent, refine_critical_point
from dynsys.models.relu._fixed import FixedTeacherGradient
from dynsys.models.relu._hessian_variation import (
    C_A,
    C_AV,
    C_B,
    HessianVariation,
    kernel_hessian_blocks,
)

ETA = 0.1


def assembled_hessian(W, T, a, b):
    """The Hessian from the pair blocks: H_ii = a_i^2 I/2 + sum a_i a_l A - sum a_i b_m A,
    H_il = a_i a_l B."""
    K, d = W.shape
    H = np.zeros((K, d, K, d))
    for i in range(K):
        H[i, :, i, :] += 0.5 * a[i] ** 2 * np.eye(d)
        for k in range(K):
            if k != i:
                Huu, Huv = kernel_hessian_blocks(W[i], W[k])
                H[i, :, i, :] += a[i] * a[k] * Huu
                H[i, :, k, :] = a[i] * a[k] * Huv
        for m in range(len(T)):
            H[i, :, i, :] -= a[i] * b[m] * kernel_hessian_blocks(W[i], T[m])[0]
    return H.reshape(K * d, K * d)


def rotated(u, angle, rng):
    """A vector of norm |u| at the given angle from u, in a random plane through u."""
    e = u / np.linalg.norm(u)
    w = rng.standard_normal(u.size)
    w -= (w @ e) * e
    w /= np.linalg.norm(w)
    return np.linalg.norm(u) * (math.cos(angle) * e + math.sin(angle) * w)


def adversarial_network(rng, K=4, d=3):
    """Units nearly parallel, nearly antiparallel, of small and of large norm."""
    W = rng.standard_normal((K, d))
    W[1] = 1.7 * rotated(W[0], 1e-7, rng)  # nearly parallel to unit 0
    W[2] = 0.05 * rotated(-W[0], 1e-6, rng)  # small and nearly antiparallel
    W[3] *= 3.0
    T = np.vstack([W[0] * 0.8, rotated(W[3], math.pi - 1e-5, rng)])  # teacher near students
    return W, T


def in_ball(center, radius, rng, surface=False):
    x = rng.standard_normal(center.shape)
    x *= radius / np.linalg.norm(x)
    if not surface:
        x *= rng.uniform() ** (1.0 / center.size)
    return center + x


def spectral_norm(M):
    return float(np.linalg.norm(M, 2))


# ---------------------------------------------------------------------------- (a) the blocks
def test_blocks_are_the_gaussian_expectations_at_orthogonal_units():
    # d2 phi/du2 = E[delta(u.x) relu(v.x) x x^T], d2 phi/du dv = E[1(u.x>0) 1(v.x>0) x x^T];
    # for u = e1, v = e2 in R^4 these are diag(0, 2, 1, 1)/(2 pi) and
    # diag(1/4, 1/4, 1/4, 1/4) + (e1 e2^T + e2 e1^T)/(2 pi)
    e = np.eye(4)
    Huu, Huv = kernel_hessian_blocks(e[0], e[1])
    np.testing.assert_allclose(Huu, np.diag([0.0, 2.0, 1.0, 1.0]) / (2 * np.pi), atol=1e-15)
    expected = 0.25 * np.eye(4)
    expected[0, 1] = expected[1, 0] = 1 / (2 * np.pi)
    np.testing.assert_allclose(Huv, expected, atol=1e-15)


@pytest.mark.parametrize("angle", [1e-9, 1e-5, 0.3, 1.5, math.pi - 1e-5, math.pi - 1e-9])
def test_blocks_assemble_the_closed_form_hessian(angle):
    rng = np.random.default_rng(int(angle * 1e6) % 1000)
    W = rng.standard_normal((3, 4))
    W[1] = 0.7 * rotated(W[0], angle, rng)
    T = np.vstack([rotated(W[2], angle, rng), rng.standard_normal(4)])
    a, b = rng.uniform(-1.5, 1.5, 3), rng.uniform(-1.5, 1.5, 2)
    # near 0 and pi both sides lose digits in the cancellation of e_v n_v^T + e_u n_u^T
    # (of size sin(theta)): a few 1e-12
    np.testing.assert_allclose(assembled_hessian(W, T, a, b), hessian(W, T, a, b), atol=1e-10)


def test_blocks_match_finite_differences_of_the_gradient():
    rng = np.random.default_rng(3)
    W, T = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    a, b = rng.uniform(0.5, 1.5, 3), rng.uniform(0.5, 1.5, 2)
    h = 1e-6
    fd = np.empty((12, 12))
    for k in range(12):
        dW = np.zeros(12)
        dW[k] = h
        plus = gradient(W + dW.reshape(3, 4), T, a, b)
        minus = gradient(W - dW.reshape(3, 4), T, a, b)
        fd[:, k] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(assembled_hessian(W, T, a, b), fd, atol=1e-7)


# ---------------------------------------------------------------------------- (b) the bound
def _pair_samples(rng, n):
    """Pairs (u, v) with angles spread over [0, pi] and crowded at 0 and pi."""
    for _ in range(n):
        u = rng.standard_normal(4) * rng.uniform(0.2, 3.0)
        angle = rng.choice([rng.uniform(0, 1e-4), rng.uniform(0, math.pi), math.pi - 1e-4])
        yield u, rotated(u, angle, rng) * rng.uniform(0.2, 3.0) / np.linalg.norm(u)


def test_pair_constants_hold_for_small_and_large_moves():
    rng = np.random.default_rng(11)
    worst = 0.0
    for u, v in _pair_samples(rng, 3000):
        scale = rng.choice([1e-7, 1e-3, 0.3]) * min(np.linalg.norm(u), np.linalg.norm(v))
        du, dv = rng.standard_normal(4), rng.standard_normal(4)
        du *= scale * rng.uniform() / np.linalg.norm(du)
        dv *= scale * rng.uniform() / np.linalg.norm(dv)
        A0, B0 = kernel_hessian_blocks(u, v)
        A1, B1 = kernel_hessian_blocks(u + du, v + dv)
        rho_u = np.linalg.norm(u) - np.linalg.norm(du)
        rho_v = np.linalg.norm(v) - np.linalg.norm(dv)
        V = np.linalg.norm(v) + np.linalg.norm(dv)
        nu, nv = np.linalg.norm(du), np.linalg.norm(dv)
        bound_A = (C_A * V * nu / rho_u**2 + C_AV * nv / rho_u) / (2 * np.pi)
        bound_B = C_B * (nu / rho_u + nv / rho_v) / (2 * np.pi)
        worst = max(worst, spectral_norm(A1 - A0) / bound_A, spectral_norm(B1 - B0) / bound_B)
    assert worst <= 1.0
    assert worst > 0.5  # the constants are not loose by a large factor


def _lipschitz_ratio(W, T, a, b, radius, rng, n_pairs):
    variation = HessianVariation(W, T, a, b)
    M = float(variation.lipschitz(radius))
    worst = 0.0
    for _ in range(n_pairs):
        y = in_ball(W, radius, rng)
        if rng.uniform() < 0.5:  # move one unit only: the bound's most concentrated case
            y2 = y.copy()
            i = rng.integers(len(W))
            step = rng.standard_normal(W.shape[1])
            y2[i] += step * rng.uniform(0, 0.5) * radius / np.linalg.norm(step)
            if np.linalg.norm(y2 - W) > radius:
                continue
        else:
            y2 = in_ball(W, radius, rng)
        dH = hessian(y, T, a, b) - hessian(y2, T, a, b)
        worst = max(worst, spectral_norm(dH) / (M * np.linalg.norm(y - y2)))
    return worst


@pytest.mark.parametrize("seed", range(4))
def test_lipschitz_bound_holds_in_adversarial_configurations(seed):
    rng = np.random.default_rng(100 + seed)
    W, T = adversarial_network(rng)
    a, b = rng.uniform(-2, 2, len(W)), rng.uniform(-2, 2, len(T))
    r_cap = np.linalg.norm(W, axis=1).min()
    for fraction in (1e-6, 0.1, 0.5, 0.95):
        assert _lipschitz_ratio(W, T, a, b, fraction * r_cap, rng, 60) <= 1.0


def _one_unit_moves(W, radius, rng):
    """Two networks in the ball around W that differ in one unit only, and that unit."""
    i = int(rng.integers(len(W)))
    base = rng.standard_normal(W.shape)
    base *= rng.uniform(0, 0.7) * radius / np.linalg.norm(base)
    room = math.sqrt(radius**2 - np.linalg.norm(base) ** 2 + base[i] @ base[i])
    y1, y2 = W + base, W + base
    for y in (y1, y2):
        v = rng.standard_normal(W.shape[1])
        y[i] = W[i] + v * rng.uniform() * room / np.linalg.norm(v)
    return y1, y2, i


@pytest.mark.parametrize("kind", ["teacher", "near_parallel", "shared_directions", "random"])
def test_own_unit_rate_holds(kind):
    # |H_ii(y) - H_ii(y')| <= p_i |w_i - w_i'| when only unit i moves: the residual-form bound
    # (sharper than the triangle inequality over the kernels) is the delicate one
    rng = np.random.default_rng(len(kind))
    worst = 0.0
    for _ in range(40):
        K, d = int(rng.integers(2, 6)), int(rng.integers(2, 6))
        W, T = rng.standard_normal((K, d)), rng.standard_normal((int(rng.integers(1, 5)), d))
        if kind == "teacher":
            T = np.linalg.qr(rng.standard_normal((d, d)))[0][: min(K, d)]
            W = T.copy() if d >= K else np.vstack([T, rng.standard_normal((K - d, d))])
            W = W + rng.standard_normal(W.shape) * rng.choice([0.0, 1e-6, 1e-2])
        elif kind == "near_parallel":
            W[-1] = rotated(W[0], float(rng.choice([1e-8, 1e-4, 1e-2])), rng) * 1.5
            T[0] = rotated(W[0], float(rng.choice([0.0, 1e-7, 1e-3, math.pi - 1e-4])), rng)
        elif kind == "shared_directions":
            T = np.vstack([W[0], -0.5 * W[-1], T])
        a, b = rng.uniform(-2, 2, K), rng.uniform(-2, 2, len(T))
        variation = HessianVariation(W, T, a, b)
        for _ in range(5):
            radius = float(rng.choice([1e-4, 1e-2, 0.1, 0.5, 0.9])) * variation.min_norm
            y1, y2, i = _one_unit_moves(W, radius, rng)
            dH = (hessian(y1, T, a, b) - hessian(y2, T, a, b)).reshape(K, d, K, d)[i, :, i, :]
            rate = variation.own_rates(radius)[i]
            worst = max(worst, spectral_norm(dH) / (rate * np.linalg.norm(y1[i] - y2[i])))
    assert worst <= 1.0


def test_residual_form_sharpens_the_bound_near_a_minimum():
    # at the teacher the u-derivatives of the 2K - 1 kernels cancel but one: the residual form
    # must give a much smaller rate than the triangle inequality over the kernels
    T = np.eye(10)
    variation = HessianVariation(T, T, np.ones(10), np.ones(10))
    crude = variation.p_const / (1 - 1e-3) ** 2
    assert np.all(variation.own_rates(1e-3) < 0.2 * crude)


def test_lipschitz_bound_holds_across_parallel_and_antiparallel_units():
    # segments on which a unit passes exactly through the direction of another (theta = 0)
    # and through the opposite one (theta = pi)
    rng = np.random.default_rng(7)
    u = np.array([1.0, 0.0, 0.0])
    W = np.array([u, [0.0, 1.0, 0.0], [0.3, 0.2, 0.9]])
    T = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    a, b = np.ones(3), np.ones(2)
    r = 0.5
    M = float(HessianVariation(W, T, a, b).lipschitz(r))
    for _ in range(200):
        kick = rng.standard_normal(3)
        kick[0] = 0.0
        kick *= rng.uniform(0, 0.2) / np.linalg.norm(kick)
        y, y2 = W.copy(), W.copy()
        y[0] = u + kick  # unit 0 swings through the direction of the teacher's unit 0
        y2[0] = u - kick
        y[1] = W[1] + kick[::-1]
        y2[1] = W[1] - kick[::-1]  # unit 1 through minus the teacher's unit 1
        dH = hessian(y, T, a, b) - hessian(y2, T, a, b)
        assert spectral_norm(dH) <= M * np.linalg.norm(y - y2)


# ---------------------------------------------------------------------------- (c) certificates
@pytest.fixture(scope="module")
def spurious_minimum():
    """A spurious minimum at K = d = 6, reached by plain gradient descent (eta = 0.1) from a
    Glorot initialisation, stopped when |grad| < 1e-8."""
    T = np.eye(6)
    grad = FixedTeacherGradient(T, np.ones(6), np.ones(6))
    x = xavier_init(6, 6, rng=142)
    for _ in range(60_000):
        g = grad(x)
        if np.linalg.norm(g) < 1e-8:
            break
        x = x - ETA * g
    return x.reshape(6, 6)


def _check_certificate_against_spectrum(cert, T):
    eig = np.linalg.eigvalsh(hessian(cert.center, T))
    assert cert.valid, cert.reason
    assert cert.radius > 0 and cert.reason == ""
    assert 0 < cert.mu_lower <= eig[0] and cert.L_upper >= eig[-1]
    assert cert.mu_lower > 0.9 * eig[0]  # the Cholesky-proved bound is tight
    assert np.linalg.norm(gradient(cert.center, T)) == pytest.approx(cert.residual, abs=1e-15)
    D = cert.hessian_variation
    assert cert.radius * cert.hessian_lipschitz == pytest.approx(D)
    q = max(1 - ETA * (cert.mu_lower - D), ETA * (cert.L_upper + D) - 1)
    assert cert.contraction == pytest.approx(q) and q < 1
    assert ETA * cert.residual <= (1 - q) * cert.radius  # condition (ii)
    # the smallest certified ball satisfies (ii) too, and holds the minimum
    s = cert.minimum_within
    q_s = cert.contraction_within(s)
    assert 0 < s < cert.radius and ETA * cert.residual <= (1 - q_s) * s


def _check_lipschitz_in_ball(cert, T, rng):
    ones_K, ones_T = np.ones(len(cert.center)), np.ones(len(T))
    ratio = _lipschitz_ratio(cert.center, T, ones_K, ones_T, cert.radius, rng, 30)
    assert ratio <= 1.0


def _check_condition_i(cert, T, rng, n=20):
    # (i) directly: every Hessian in the ball has |I - eta H| <= q
    for surface in (False, True):
        for _ in range(n // 2):
            y = in_ball(cert.center, cert.radius, rng, surface)
            eig = np.linalg.eigvalsh(hessian(y, T))
            assert np.abs(1 - ETA * eig).max() <= cert.contraction


def _check_orbits(cert, T, rng, n_orbits=12, steps=3000):
    """Descent from inside the ball and from its surface stays in the ball, contracts at the
    certified rate and converges to the center."""
    K, d = cert.center.shape
    grad = FixedTeacherGradient(T, np.ones(K), np.ones(d))
    shift = cert.minimum_within  # |x* - center| <= shift
    starts = [in_ball(cert.center, cert.radius, rng, surface=i % 2 == 1) for i in range(n_orbits)]
    x = np.stack(starts).reshape(n_orbits, K * d)
    c = cert.center.ravel()
    s0 = np.linalg.norm(x - c, axis=1)
    q = np.array([cert.contraction_within(min(s + 2 * shift, cert.radius)) for s in s0])
    dist = s0 + shift  # bounds |x_k - x*| from above
    step_prev = None
    for _ in range(steps):
        x_new = x - ETA * grad(x)
        assert np.all(np.linalg.norm(x_new - c, axis=1) <= cert.radius)
        step_now = np.linalg.norm(x_new - x, axis=1)
        if step_prev is not None:  # G is a q-contraction: successive steps shrink by q
            assert np.all(step_now <= q * step_prev + 1e-15)
        dist = q * dist
        assert np.all(np.linalg.norm(x_new - c, axis=1) <= dist + shift + 1e-14)
        x, step_prev = x_new, step_now
    return np.linalg.norm(x - c, axis=1)


def test_teacher_minimum_is_certified_and_descent_converges_there():
    rng = np.random.default_rng(1)
    T = np.eye(6)
    cert = certify_descent(T + 1e-5 * rng.standard_normal((6, 6)), T, ETA)
    _check_certificate_against_spectrum(cert, T)
    np.testing.assert_allclose(cert.center, T, atol=1e-12)
    assert cert.loss < 1e-12
    _check_lipschitz_in_ball(cert, T, rng)
    _check_condition_i(cert, T, rng)
    final = _check_orbits(cert, T, rng)
    # ball of radius ~1e-2, contraction ~1 - eta mu = 0.991 near the center: converged
    assert final.max() < 1e-8


def test_spurious_minimum_is_certified_and_descent_converges_there(spurious_minimum):
    rng = np.random.default_rng(2)
    T = np.eye(6)
    assert float(loss(spurious_minimum, T)) > 1e-3  # spurious
    cert = certify_descent(spurious_minimum, T, ETA)
    _check_certificate_against_spectrum(cert, T)
    assert cert.contains(spurious_minimum)
    assert 1e-3 < cert.loss < 0.1
    _check_lipschitz_in_ball(cert, T, rng)
    _check_condition_i(cert, T, rng)
    start = np.linalg.norm(spurious_minimum - cert.center)
    final = _check_orbits(cert, T, rng, n_orbits=8, steps=20_000)
    assert final.max() < 1e-3 * cert.radius  # slow (eta mu ~ 5e-4) but on its way
    assert start < cert.radius


def test_refinement_reaches_the_critical_point_quadratically():
    T = np.eye(4)
    ref = refine_critical_point(T + 1e-3 * np.arange(16).reshape(4, 4) / 16, T, tol=1e-13)
    assert ref.converged and ref.gradient_norm <= 1e-13 and ref.iterations <= 5
    np.testing.assert_allclose(ref.point, T, atol=1e-12)


def test_saddle_is_refused():
    # networks alpha I + beta (J - I) are fixed by permuting units and coordinates together,
    # which fixes the teacher I: Newton stays in this plane, and from (-0.6, 0.4) converges to a
    # critical point with loss ~0.048 and one slightly negative Hessian eigenvalue: a saddle
    T, J = np.eye(5), np.ones((5, 5))
    ref = refine_critical_point(-0.6 * T + 0.4 * (J - T), T)
    assert ref.converged
    W = ref.point
    alpha, beta = W[0, 0], W[0, 1]
    np.testing.assert_allclose(W, alpha * T + beta * (J - T), atol=1e-12)
    eig = np.linalg.eigvalsh(hessian(W, T))
    assert eig[0] < -1e-3 and eig[-1] > 0  # indeed a saddle
    cert = certify_descent(W, T, ETA)
    assert not cert.valid and cert.radius == 0
    assert "not positive definite" in cert.reason
    assert not cert.contains(W)


def test_point_far_from_any_minimum_is_refused():
    T = np.eye(6)
    for seed in range(3):
        W = xavier_init(6, 6, rng=seed).reshape(6, 6)
        assert np.linalg.norm(gradient(W, T)) > 0.1  # far from critical
        cert = certify_descent(W, T, ETA)
        assert not cert.valid and cert.reason
        assert not cert.contains(W)


def test_degenerate_minimum_of_an_overparameterised_student_is_refused():
    # K = d + 1: the teacher with one unit split in two, w and w, is a minimum on a line of
    # minima (lambda w, (1 - lambda) w): the Hessian is singular, no contraction is certified
    T = np.eye(3)
    W = np.vstack([T, T[0]])
    W[0] *= 0.5
    W[3] *= 0.5
    assert float(loss(W, T)) < 1e-12
    cert = certify_descent(W, T, ETA)
    assert not cert.valid
    assert "positive" in cert.reason


def test_too_large_a_step_is_refused():
    T = np.eye(4)
    L = np.linalg.eigvalsh(hessian(T, T))[-1]
    cert = certify_descent(T, T, step=2.5 / L)
    assert not cert.valid and "learning rate" in cert.reason


def test_iterate_outside_the_ball_is_not_decided():
    # Newton converges from a network farther from the teacher than the certified radius (0.03)
    T = np.eye(3)
    W = T + 0.1 * np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    cert = certify_descent(W, T, ETA)
    assert not cert.valid and "outside the certified ball" in cert.reason
    assert cert.radius > 0 and cert.contains(T) and not cert.contains(W)


# ---------------------------------------------------------------------------- (d) bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"W": np.ones(5)}, "`W` has shape"),
        ({"W": np.ones((1, 2, 2))}, "`W` has shape"),
        ({"teacher": np.ones((2, 3))}, "`teacher` has shape"),
        ({"a": np.ones(3)}, "`a` has shape"),
        ({"b": np.ones((2, 1))}, "`b` has shape"),
        ({"W": np.array([[1.0, np.nan], [0.0, 1.0]])}, "`W` contains NaN"),
        ({"teacher": np.array([[np.inf, 0.0], [0.0, 1.0]])}, "`teacher` contains NaN"),
        ({"step": 0.0}, "`step` must be a positive"),
        ({"step": -0.1}, "`step` must be a positive"),
        ({"step": math.nan}, "`step` must be a positive"),
        ({"tol": 0.0}, "`tol` must be a positive"),
        ({"max_iter": 1.5}, "`max_iter` must be a nonnegative integer"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, message):
    args = {"W": np.eye(2), "teacher": np.eye(2), "step": ETA} | kwargs
    with pytest.raises(InputError, match=message):
        certify_descent(**args)


def test_flattened_state_is_accepted():
    T = np.eye(3)
    W = T + 1e-4
    flat, matrix = certify_descent(W.ravel(), T, ETA), certify_descent(W, T, ETA)
    assert flat.valid and flat.center.shape == (3, 3) and flat.radius == matrix.radius


def test_bad_input_to_refinement_and_contains():
    with pytest.raises(InputError, match="`W` has shape"):
        refine_critical_point(np.ones(5), np.eye(2))
    cert = certify_descent(np.eye(2), np.eye(2), ETA)
    with pytest.raises(InputError, match="entries"):
        cert.contains(np.ones(5))


def test_zero_unit_is_reported_not_raised():
    W = np.array([[1.0, 0.0], [0.0, 0.0]])
    ref = refine_critical_point(W, np.eye(2))
    assert not ref.converged and math.isnan(ref.gradient_norm)
    cert = certify_descent(W, np.eye(2), ETA)
    assert not cert.valid and "Newton" in cert.reason
