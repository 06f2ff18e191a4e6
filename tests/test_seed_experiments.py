"""The mathematics behind the seed-paper examples, checked at small sizes.

- Tian's L_jj' (examples/tian_fig10_conjecture1.py): Proposition 1, hand-computed values, the link
  to the population gradient of dynsys.models.relu (L is what is left of the off-diagonal normal
  equations once the diagonal ones hold), and no counterexample to Conjecture 1 on a grid.
- Tian's Theorem 6 (examples/tian_theorem6_single_unit.py): the exact P(w0 in Omega) against
  sampling and against the bound (1 - eps)/2; the flow from small balls against the bound.
- Du et al. (examples/du_cnn_spurious_minimum.py): the spurious minimum's loss in closed form,
  and weight-normalised gradient descent reaching both minima, each end point verified.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from dynsys.models import cnn
from dynsys.models.relu import gradient, relu_kernel, small_ball_init, teacher_student

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if str(EXAMPLES) not in sys.path:  # the scripts import their helpers: from _common import ...
    sys.path.insert(0, str(EXAMPLES))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"seed_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fig10 = _load("tian_fig10_conjecture1")
thm6 = _load("tian_theorem6_single_unit")
du = _load("du_cnn_spurious_minimum")

PI = np.pi


def _unit_rows(rng, shape):
    x = rng.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# ---------------------------------------------------------------------------- Tian: L_jj'
@pytest.mark.parametrize(("K", "d"), [(2, 2), (2, 4), (3, 3), (4, 5)])
def test_proposition1_zero_when_teacher_is_a_student_direction(K, d):
    rng = np.random.default_rng(10 * K + d)
    E = _unit_rows(rng, (20, K, d))
    for ell in range(K):
        L = fig10.l_matrix(E, E[:, ell])
        assert np.abs(L).max() < 1e-11, (ell, np.abs(L).max())
    # and not zero for a generic teacher direction (the test above could not pass vacuously)
    L = fig10.l_matrix(E, _unit_rows(rng, (20, d)))
    off = ~np.eye(K, dtype=bool)
    assert np.abs(L[:, off]).min() > 1e-6


@pytest.mark.parametrize(("K", "d"), [(2, 2), (3, 3), (3, 6)])
def test_proposition1_diagonal_always_zero(K, d):
    rng = np.random.default_rng(7 + K + d)
    L = fig10.l_matrix(_unit_rows(rng, (50, K, d)), _unit_rows(rng, (50, d)))
    assert np.abs(np.diagonal(L, axis1=-2, axis2=-1)).max() < 1e-11


@pytest.mark.parametrize(("K", "K_star", "d"), [(2, 1, 2), (2, 2, 2), (3, 2, 3), (3, 3, 4)])
def test_l_is_the_off_diagonal_normal_equation_once_the_diagonal_holds(K, K_star, d):
    """With directions e_j fixed, choose the norms |w_j| so that e_j . grad_{w_j} L = 0 (the
    diagonal equations, solved through the model's gradient, which is affine in the norms). Then
    the model's off-diagonal projections must equal
    2 pi e_j' . grad_{w_j} L = -sum_l |w*_l| L_jj'(e*_l) / det(M_r), M_r = 2 pi kernel(E, E).
    The example's L and dynsys.models.relu.gradient are independent implementations."""
    rng = np.random.default_rng(100 * K + 10 * K_star + d)
    checked = 0
    for _ in range(40):
        E = _unit_rows(rng, (K, d))
        W_star = _unit_rows(rng, (K_star, d)) * rng.uniform(0.5, 2.0, (K_star, 1))

        def diagonal(s, E=E, W_star=W_star):
            g = gradient(s[:, None] * E, W_star).reshape(K, d)
            return np.einsum("jd,jd->j", E, g)

        base = np.ones(K)
        f0 = diagonal(base)
        A = np.stack([diagonal(base + np.eye(K)[k]) - f0 for k in range(K)], axis=1)
        s = np.linalg.solve(A, A @ base - f0)
        if np.any(s <= 0.05):
            continue  # norms must be positive to be a network
        g = gradient(s[:, None] * E, W_star).reshape(K, d)
        assert np.abs(np.einsum("jd,jd->j", E, g)).max() < 1e-10
        projections = 2 * PI * np.einsum("jd,id->ji", g, E)  # [j, j'] = e_j' . grad_j
        det_r = np.linalg.det(2 * PI * relu_kernel(E, E))
        norms_star = np.linalg.norm(W_star, axis=1)
        L = fig10.l_matrix(E[None], W_star)  # (K*, K, K)
        expected = -np.einsum("l,ljk->jk", norms_star, L) / det_r
        np.testing.assert_allclose(projections, expected, atol=1e-9 * (1 + np.abs(expected).max()))
        checked += 1
    assert checked >= 5


def test_plane_closed_form_matches_the_determinant():
    rng = np.random.default_rng(3)
    t, phi = rng.uniform(0, PI, 500), rng.uniform(0, 2 * PI, 500)
    E = np.stack(
        [np.stack([np.ones_like(t), np.zeros_like(t)], -1), np.stack([np.cos(t), np.sin(t)], -1)],
        axis=-2,
    )
    L = fig10.l_matrix(E, np.stack([np.cos(phi), np.sin(phi)], -1))
    L12, L21, rounding = fig10.plane_l(t, phi)
    np.testing.assert_allclose(L12, L[:, 0, 1], atol=1e-12)
    np.testing.assert_allclose(L21, L[:, 1, 0], atol=1e-12)
    assert rounding.max() < 1e-10


def test_l_values_computed_by_hand():
    # theta12 = pi/2, e* = -e1 (a = pi, b = pi/2): h(a) = 0, m*_12 = 0, so L12 = -beta = -pi^2/2
    # and L21 = (pi^2 - 1)(-pi/2) + alpha = -pi (pi^2 - 2) / 2.
    l12, l21, _ = fig10.plane_l(PI / 2, PI)
    assert l12 == pytest.approx(-(PI**2) / 2, rel=1e-13)
    assert l21 == pytest.approx(-PI * (PI**2 - 2) / 2, rel=1e-13)
    # bisector of e1 = (1, 0), e2 = (0, 1): a = b = pi/4, L12 = L21 > 0
    h_quarter = np.sqrt(0.5) * (1 + 3 * PI / 4)
    by_hand = (PI**2 - 1) * 3 * PI * np.sqrt(2) / 8 + (PI / 2 - PI**2 / 2) * h_quarter
    l12, l21, _ = fig10.plane_l(PI / 2, PI / 4)
    assert l12 == pytest.approx(by_hand, rel=1e-13)
    assert l21 == pytest.approx(by_hand, rel=1e-13)
    # e2 = -e1: M_r = pi I and the plug-back cancels exactly, L12 = L21 = 0 for every e*
    phi = np.linspace(0.1, 6.2, 25)
    l12, l21, rounding = fig10.plane_l(PI, phi)
    assert np.all(np.abs(l12) <= rounding) and np.all(np.abs(l21) <= rounding)


def test_signs_follow_the_cone_at_sample_points():
    cases = [  # (theta12, phi, inside)
        (3 * PI / 8, PI / 16, True),
        (3 * PI / 8, PI / 2, False),
        (7 * PI / 8, PI / 2, True),
        (7 * PI / 8, 3 * PI / 2, False),
        (PI / 4, -PI / 8, False),
        (2.0, 1.999, True),
        (2.0, 2.001, False),
    ]
    for t, phi, inside in cases:
        L12, L21, rounding = fig10.plane_l(t, phi)
        assert fig10.cone_side(t, phi) == (1 if inside else -1)
        assert abs(L12) > rounding and abs(L21) > rounding
        assert (L12 > 0) == inside and (L21 > 0) == inside, (t, phi, L12, L21)


def test_reflection_swaps_l12_and_l21():
    # reflecting across the bisector of e1, e2 swaps the units: L21(t, phi) = L12(t, t - phi)
    rng = np.random.default_rng(5)
    t, phi = rng.uniform(0, PI, 200), rng.uniform(0, 2 * PI, 200)
    np.testing.assert_allclose(fig10.plane_l(t, phi)[1], fig10.plane_l(t, t - phi)[0], atol=1e-12)


def test_no_counterexample_on_a_moderate_grid():
    result = fig10.scan(300, 600, band=fig10.BAND)
    assert result.n_points == 180_000
    assert result.n_band < 0.05 * result.n_points
    assert result.n_counterexamples.tolist() == [0, 0]
    assert result.n_unresolved.tolist() == [0, 0]
    assert np.all(result.min_margin > 0)


# ---------------------------------------------------------------------------- Tian: Theorem 6
@pytest.mark.parametrize(("d", "r"), [(1, 0.7), (1, 2.5), (2, 1.3), (3, 0.5), (10, 0.68), (5, 3.0)])
def test_probability_in_omega_matches_sampling(d, r):
    n = 200_000
    x = small_ball_init(1, d, radius=r, rng=d * 1000 + int(10 * r), size=n)
    w_star = np.zeros(d)
    w_star[0] = 1.0
    sampled = float((np.linalg.norm(x - w_star, axis=1) < 1.0).mean())
    exact = thm6.probability_in_omega(r, d)
    se = np.sqrt(max(exact * (1 - exact), 1e-6) / n)
    assert abs(sampled - exact) < 4 * se, (sampled, exact, se)


def test_probability_in_omega_respects_the_bound_of_theorem6():
    eps = np.linspace(0.02, 1.0, 25)
    for d in (1, 2, 3, 5, 10, 50, 200, 1000):
        r = thm6.theorem6_radius(eps, d)
        np.testing.assert_allclose(r * np.sqrt((d + 1) / (2 * PI)), eps, rtol=1e-14)
        exact = np.array([thm6.probability_in_omega(float(ri), d) for ri in r])
        assert np.all(exact >= (1 - eps) / 2 - 1e-12), (d, exact - (1 - eps) / 2)
    # the bound is nearly tight for large d and small eps
    assert thm6.probability_in_omega(float(thm6.theorem6_radius(0.1, 1000)), 1000) < 0.46


@pytest.mark.parametrize(("d", "eps"), [(3, 0.5), (20, 0.9)])
def test_flow_from_small_ball_meets_theorem6(d, eps):
    n = 300
    rng = np.random.default_rng(d)
    w_star = _unit_rows(rng, (d,))
    runs = thm6.run_cell(w_star, float(thm6.theorem6_radius(eps, d)), n, rng)
    fraction = runs.converged.mean()
    bound = (1 - eps) / 2
    assert fraction >= bound - 3 * np.sqrt(bound * (1 - bound) / n)  # stated tolerance: 3 SE
    assert runs.converged[runs.in_omega].all()  # Theorem 5: every start in Omega converges
    # the angle to w* decreases and |w| never reaches 0: only theta0 = pi fails (a null set)
    assert runs.converged.all()


def test_flow_end_point_is_the_teacher_and_critical():
    w_star = np.array([0.6, -0.8, 0.0])
    runs = thm6.run_cell(w_star, 0.05, 20, np.random.default_rng(1))
    assert runs.final_distance.max() < 1e-6
    system = teacher_student(w_star[None, :])
    assert np.abs(system.f(w_star)).max() < 1e-14


# ---------------------------------------------------------------------------- Du et al.
def test_spurious_loss_closed_form_is_the_minimum_over_a_at_the_opposite_filter():
    w_star, a_star = du.teacher()
    closed = du.spurious_loss_closed_form(w_star, a_star)
    result = minimize(
        lambda a: float(cnn.loss(-w_star, a, w_star, a_star)),
        np.zeros(a_star.size),
        method="BFGS",
        options={"gtol": 1e-10},
    )
    assert result.fun == pytest.approx(closed, rel=1e-9)
    x_s = cnn.spurious_minimum(w_star, a_star)
    np.testing.assert_allclose(result.x, x_s[w_star.size :], atol=1e-5)
    system = cnn.conv_teacher_student(w_star, a_star, weight_norm=True)
    assert float(system.potential(x_s)) == pytest.approx(closed, rel=1e-12)
    assert np.abs(system.f(x_s)).max() < 1e-12
    assert float(x_s[w_star.size :] @ a_star) < 0  # the condition for a strict local minimum


def test_descent_reaches_both_minima_and_end_points_check_out():
    w_star, a_star = du.teacher()
    system = cnn.conv_teacher_student(w_star, a_star, weight_norm=True)
    sizes = du.Sizes(n_runs=120, iterations=2000, curve_iterations=5, rhos=(1.0,))
    setting, _ = du.run_setting(system, w_star, a_star, 1.0, sizes, np.random.default_rng(8))
    label = setting.label
    n_global, n_spurious = int((label == du.GLOBAL).sum()), int((label == du.SPURIOUS).sum())
    assert n_global + n_spurious == sizes.n_runs  # every run ends at one of the two minima
    # constant probability for each: observed about 0.63 / 0.37 at larger sizes
    assert 0.1 * sizes.n_runs < n_spurious < 0.9 * sizes.n_runs
    glob = label == du.GLOBAL
    assert setting.grad_norm[glob].max() < 1e-8
    assert setting.loss[glob].max() < 1e-14
    spur = label == du.SPURIOUS
    closed = du.spurious_loss_closed_form(w_star, a_star)
    assert setting.grad_norm[spur].max() < 1e-5
    assert np.abs(setting.loss[spur] - closed).max() < 1e-7
    assert setting.loss[spur].min() > 0.3  # a genuinely worse minimum, not a slow global run


def test_classify_end_rejects_points_near_neither_minimum():
    w_star, a_star = du.teacher()
    p = w_star.size
    x_s = cnn.spurious_minimum(w_star, a_star)
    ends = np.stack(
        [
            np.r_[3 * w_star, a_star],  # global (|v| is free)
            x_s,
            np.r_[-w_star, a_star],  # right filter side, wrong a
            np.r_[_unit_rows(np.random.default_rng(0), (p,)), a_star],  # wrong filter
        ]
    )
    assert du.classify_end(ends, w_star, a_star).tolist() == [0, 1, -1, -1]
