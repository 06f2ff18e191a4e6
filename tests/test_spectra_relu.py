"""Hessian-vector products of the teacher-student ReLU network against the dense closed-form
Hessian and central differences of the gradient; spectra at the global minimum ``W = W*``
against the dense computation."""

import numpy as np
import pytest

from dynsys.errors import InputError
from dynsys.models.relu import (
    NotDifferentiableError,
    gradient,
    hessian,
    hessian_vector_product,
    teacher_student,
)
from dynsys.spectra import extreme_eigenvalues, hessian_operator, spectral_density


def central_difference_hvp(W, W_star, a, a_star, v, train_a):
    x = np.concatenate([W.ravel(), a]) if train_a else W.ravel()
    K, d = W.shape
    h = np.finfo(float).eps ** (1 / 3) * max(1.0, np.abs(x).max())

    def g(z):
        Wz = z[: K * d].reshape(K, d)
        az = z[K * d :] if train_a else a
        return gradient(Wz, W_star, az, a_star, train_a=train_a)

    return (g(x + h * v) - g(x - h * v)) / (2 * h)


@pytest.mark.parametrize(
    ("K", "K_star", "d", "train_a", "seed"),
    [
        (3, 3, 4, False, 0),
        (4, 2, 3, True, 1),
        (5, 5, 5, False, 2),
        (6, 4, 8, True, 3),
        (2, 5, 3, False, 4),
    ],
)
def test_hvp_equals_the_dense_hessian_and_central_differences(K, K_star, d, train_a, seed):
    rng = np.random.default_rng(seed)
    W, W_star = rng.standard_normal((K, d)), rng.standard_normal((K_star, d))
    a, a_star = rng.uniform(0.5, 1.5, K), rng.uniform(-1.0, 1.5, K_star)
    H = hessian(W, W_star, a, a_star, train_a=train_a)
    V = rng.standard_normal((4, H.shape[0]))
    HV = hessian_vector_product(W, W_star, V, a, a_star, train_a=train_a)
    assert HV.shape == V.shape
    np.testing.assert_allclose(HV, V @ H.T, rtol=0, atol=1e-10 * np.abs(H).max())
    for v, hv in zip(V, HV, strict=True):
        fd = central_difference_hvp(W, W_star, a, a_star, v, train_a)
        assert np.linalg.norm(hv - fd) <= 1e-6 * np.linalg.norm(hv)


def test_hvp_at_parallel_and_antiparallel_units_equals_the_dense_hessian():
    W = np.eye(4)
    W[1] = 2 * W[0]  # parallel to unit 1 and to teacher unit 1
    W[2] = -W[3]  # anti-parallel to unit 4
    V = np.random.default_rng(0).standard_normal((3, 16))
    H = hessian(W, np.eye(4))
    np.testing.assert_allclose(hessian_vector_product(W, np.eye(4), V), V @ H.T, atol=1e-12)


def test_hessian_action_of_the_system_and_its_errors():
    system = teacher_student(np.eye(3), K=4, train_a=True)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(12), rng.uniform(0.5, 1.5, 4)])
    act = system.hessian_action(x)
    np.testing.assert_allclose(act(np.eye(16)), system.hessian(x), atol=1e-12)
    assert act(np.ones((2, 3, 16))).shape == (2, 3, 16)
    with pytest.raises(InputError, match="expected"):
        act(np.ones(15))
    with pytest.raises(InputError, match="one state"):
        system.hessian_action(np.ones((2, 16)))
    x[:3] = 0.0  # unit 1 is zero: the loss is not differentiable there
    with pytest.raises(NotDifferentiableError, match="unit"):
        system.hessian_action(x)
    with pytest.raises(InputError, match="one network"):
        hessian_vector_product(np.ones((2, 3, 3)), np.eye(3), np.ones(9))


@pytest.mark.parametrize("kd", [3, 6])
def test_global_minimum_spectrum_is_psd_and_matches_the_dense_computation(kd):
    system = teacher_student(np.eye(kd))
    x = np.eye(kd).ravel()  # W = W*: the global minimum
    H = hessian_operator(system, x)
    assert H.attrs["method"] == "analytic"
    dense = np.linalg.eigvalsh(system.hessian(x))
    assert dense.min() > 0
    k = 2
    ds = extreme_eigenvalues(H, k=k)
    np.testing.assert_allclose(
        ds["eigenvalue"].values, np.r_[dense[:k], dense[::-1][:k]], rtol=0, atol=1e-8
    )
    slq = spectral_density(H, n_vectors=12, lanczos_steps=30, seed=1, thresholds=[0.0, 0.2])
    assert slq["count_below"].sel(threshold=0.0).item() == 0.0  # PSD: no node below 0
    truth = (dense < 0.2).sum()
    assert abs(slq["count_below"].sel(threshold=0.2).item() - truth) <= 4 * max(
        slq["count_below_se"].sel(threshold=0.2).item(), 1e-9
    )


def test_fd_operator_agrees_with_the_analytic_one_away_from_kinks():
    system = teacher_student(np.eye(4), K=4)
    x = np.eye(4).ravel() + 0.2 * np.random.default_rng(2).standard_normal(16)
    exact = hessian_operator(system, x, method="analytic") @ np.eye(16)
    fd = hessian_operator(system, x, method="fd") @ np.eye(16)
    assert np.abs(fd - exact).max() <= 1e-6 * np.abs(exact).max()


def test_thirty_by_thirty_extreme_eigenvalues_match_dense():
    kd = 30  # 900 parameters: dense eigvalsh is the reference
    rng = np.random.default_rng(3)
    W = np.eye(kd) + 0.3 * rng.standard_normal((kd, kd)) / np.sqrt(kd)
    system = teacher_student(np.eye(kd))
    dense = np.linalg.eigvalsh(hessian(W, np.eye(kd)))
    H = hessian_operator(system, W.ravel())
    ds = extreme_eigenvalues(H, k=3)
    np.testing.assert_allclose(
        ds["eigenvalue"].values, np.r_[dense[:3], dense[::-1][:3]], rtol=0, atol=1e-8
    )
    slq = spectral_density(H, n_vectors=10, lanczos_steps=40, seed=0, thresholds=[1.0])
    truth = (dense < 1.0).sum()
    assert abs(slq["count_below"].item() - truth) <= 4 * slq["count_below_se"].item()


def test_slq_moments_are_the_traces_of_powers_of_the_hessian():
    """Gauss quadrature with m Lanczos steps is exact for polynomials of degree up to 2m - 1, so
    ``n sum_k w_k node_k^p`` of one probe is Hutchinson's unbiased estimate of ``tr(H^p)``: their
    mean over probes must lie within 4 standard errors of the dense trace (k = d = 20, 400
    parameters), and the density, divided by n, integrates to one."""
    kd = 20
    rng = np.random.default_rng(5)
    W = np.eye(kd) + 0.3 * rng.standard_normal((kd, kd)) / np.sqrt(kd)
    dense = np.linalg.eigvalsh(hessian(W, np.eye(kd)))
    H = hessian_operator(teacher_student(np.eye(kd)), W.ravel())
    slq = spectral_density(H, n_vectors=30, lanczos_steps=30, seed=1)
    n = kd * kd
    nodes, weights = np.nan_to_num(slq["node"].values), slq["weight"].values
    for p in range(1, 5):
        per_probe = n * (weights * nodes**p).sum(axis=1)
        se = per_probe.std(ddof=1) / np.sqrt(per_probe.size)
        assert abs(per_probe.mean() - (dense**p).sum()) <= 4 * se + 1e-9 * (dense**p).sum(), p
    grid = slq["grid"].values
    assert np.trapezoid(slq["density"].values, grid) / n == pytest.approx(1.0, abs=1e-6)


def test_ten_by_ten_extreme_eigenvalues_match_dense():
    kd = 10
    W = np.eye(kd) + 0.3 * np.random.default_rng(6).standard_normal((kd, kd)) / np.sqrt(kd)
    dense = np.linalg.eigvalsh(hessian(W, np.eye(kd)))
    ds = extreme_eigenvalues(hessian_operator(teacher_student(np.eye(kd)), W.ravel()), k=4)
    np.testing.assert_allclose(
        ds["eigenvalue"].values, np.r_[dense[:4], dense[::-1][:4]], rtol=0, atol=1e-8
    )
