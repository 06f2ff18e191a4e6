"""Matrix-free spectra against mathematics: operators with known spectra (diagonal, the 1-D
Laplacian ``2 - 2 cos(k pi/(n + 1))``, a random orthogonal conjugation of a known diagonal),
Hutchinson/Gauss-quadrature identities, and statistical tolerances of 4 standard errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import ortho_group

from dynsys import Status
from dynsys.errors import InputError, InputTypeError
from dynsys.spectra import (
    FD_REL_STEP,
    extreme_eigenvalues,
    fraction_below,
    hessian_operator,
    spectral_density,
)
from dynsys.system import GradientSystem, System


def laplacian(n: int):
    return sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tocsr()


def laplacian_eigenvalues(n: int) -> np.ndarray:
    return 2 - 2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))


def conjugated(eigenvalues, seed: int = 0) -> np.ndarray:
    Q = ortho_group.rvs(len(eigenvalues), random_state=seed)
    return (Q * np.asarray(eigenvalues)) @ Q.T


# ---------------------------------------------------------------------------- extreme eigenvalues
def test_extreme_eigenvalues_of_a_diagonal_operator():
    lam = np.linspace(-3.0, 7.0, 400) ** 3
    ds = extreme_eigenvalues(sp.diags(lam), k=3)
    expected = np.r_[np.sort(lam)[:3], np.sort(lam)[::-1][:3]]
    np.testing.assert_allclose(ds["eigenvalue"].values, expected, rtol=0, atol=1e-8)
    assert np.all(ds["status"].values == Status.CONVERGED)
    assert ds["residual"].max() < 1e-9 * np.abs(lam).max()
    assert ds["end"].values.tolist() == ["smallest"] * 3 + ["largest"] * 3
    assert ds["rank"].values.tolist() == [1, 2, 3, 1, 2, 3]


def test_extreme_eigenvalues_of_the_1d_laplacian():
    n = 300
    exact = laplacian_eigenvalues(n)
    ds = extreme_eigenvalues(laplacian(n), k=4, ncv=40)
    expected = np.r_[exact[:4], exact[::-1][:4]]
    np.testing.assert_allclose(ds["eigenvalue"].values, expected, rtol=0, atol=1e-8)
    assert np.all(ds["status"].values == Status.CONVERGED)
    # the residual bounds the distance to the nearest eigenvalue (Krylov-Bogoliubov)
    err = np.abs(ds["eigenvalue"].values - expected)
    assert np.all(err <= ds["residual"].values + 1e-14)


def test_extreme_eigenvalues_of_a_random_orthogonal_conjugation():
    lam = np.r_[-2.0, -1.5, -1.0, np.linspace(0.0, 1.0, 194), 3.0, 4.0, 5.0]
    A = conjugated(lam, seed=1)
    ds = extreme_eigenvalues(A, k=3, which="both", return_vectors=True)
    np.testing.assert_allclose(ds["eigenvalue"].values, [-2, -1.5, -1, 5, 4, 3], atol=1e-8)
    V = ds["eigenvector"].values
    np.testing.assert_allclose(np.abs(V @ V.T), np.eye(6), atol=1e-8)  # orthonormal
    one_end = extreme_eigenvalues(A, k=2, which="largest")
    np.testing.assert_allclose(one_end["eigenvalue"].values, [5, 4], atol=1e-8)


def test_small_problems_are_solved_densely():
    lam = np.array([3.0, -1.0, 2.0, 0.5])
    ds = extreme_eigenvalues(conjugated(lam), k=2)
    np.testing.assert_allclose(ds["eigenvalue"].values, [-1, 0.5, 3, 2], atol=1e-12)
    assert ds.attrs["solver_smallest"].startswith("dense")


def test_non_convergence_is_reported_per_eigenvalue_not_raised():
    ds = extreme_eigenvalues(laplacian(400), k=3, which="smallest", maxiter=1, ncv=8)
    assert np.all(ds["status"].values == Status.MAX_ITER)
    assert all("maxiter" in r for r in ds["reason"].values)
    assert np.isnan(ds["eigenvalue"].values).sum() >= 1


def test_a_non_finite_operator_is_reported_not_raised():
    from scipy.sparse.linalg import LinearOperator

    op = LinearOperator((50, 50), matvec=lambda v: np.full(50, np.nan), dtype=float)
    ds = extreme_eigenvalues(op, k=2, which="largest")
    assert np.all(ds["status"].values != Status.CONVERGED)
    assert all(r for r in ds["reason"].values)
    assert np.all(np.isnan(ds["eigenvalue"].values))


def test_bad_inputs_name_the_problem():
    with pytest.raises(InputError, match="which"):
        extreme_eigenvalues(np.eye(5), k=1, which="middle")
    with pytest.raises(InputError, match="k"):
        extreme_eigenvalues(np.eye(5), k=0)
    with pytest.raises(InputError, match="square"):
        extreme_eigenvalues(np.ones((3, 4)), k=1)
    with pytest.raises(InputTypeError, match="LinearOperator"):
        spectral_density("not an operator")
    with pytest.raises(InputError, match="lanczos_steps"):
        spectral_density(np.eye(4), lanczos_steps=0)
    with pytest.raises(InputError, match="sigma"):
        spectral_density(np.eye(4), sigma=-1.0)
    with pytest.raises(InputError, match="confidence"):
        fraction_below(spectral_density(np.eye(4), n_vectors=2, lanczos_steps=2), 0.5, confidence=2)
    with pytest.raises(InputError, match="spectral_density"):
        fraction_below(extreme_eigenvalues(np.eye(4), k=1), 0.5)


# ---------------------------------------------------------------------------- SLQ
def test_rademacher_probes_count_a_diagonal_spectrum_exactly():
    # v_i^2 = 1: v^T f(D) v = tr f(D) for every probe, and the Lanczos process terminates after
    # as many steps as there are distinct eigenvalues, so the quadrature is exact too
    lam = np.repeat([-1.0, 0.2, 1.0, 4.0], [10, 60, 25, 5])
    ds = spectral_density(sp.diags(lam), n_vectors=5, lanczos_steps=30, thresholds=[0, 0.5, 2, 9])
    np.testing.assert_allclose(ds["count_below"].values, [10, 70, 95, 100], atol=1e-9)
    np.testing.assert_allclose(ds["count_below_se"].values, 0.0, atol=1e-9)
    assert ds["length"].values.tolist() == [4] * 5
    np.testing.assert_allclose(ds["weight"].sum("node").values, 1.0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slq_counts_of_a_conjugated_spectrum_within_four_standard_errors(seed):
    lam = np.repeat([-1.0, 0.01, 2.0, 10.0], [30, 200, 60, 10])
    A = conjugated(lam, seed=10 + seed)
    ds = spectral_density(A, n_vectors=30, lanczos_steps=10, seed=seed, thresholds=[0, 1, 5])
    assert ds["length"].values.max() == 4  # exact quadrature: only probe variance remains
    truth = np.array([30, 230, 290])
    se = ds["count_below_se"].values
    assert np.all(se > 0)
    assert np.all(np.abs(ds["count_below"].values - truth) <= 4 * se)


def test_slq_counts_of_the_laplacian_within_four_standard_errors():
    n = 200
    exact = laplacian_eigenvalues(n)
    thresholds = np.array([0.5, 1.0, 2.0, 3.0, 3.9])
    ds = spectral_density(
        laplacian(n), n_vectors=40, lanczos_steps=60, seed=5, thresholds=thresholds
    )
    truth = (exact[None, :] < thresholds[:, None]).sum(axis=1)
    assert np.all(np.abs(ds["count_below"].values - truth) <= 4 * ds["count_below_se"].values)


def test_density_integrates_to_n_and_its_mean_is_the_trace():
    lam = np.linspace(-1.0, 3.0, 150) ** 2
    ds = spectral_density(sp.diags(lam), n_vectors=6, lanczos_steps=40, seed=3)
    x, rho = ds["grid"].values, ds["density"].values
    assert np.trapezoid(rho, x) == pytest.approx(150, rel=1e-6)
    # Gauss quadrature is exact for degree 1 and Rademacher probes see a diagonal exactly
    assert np.trapezoid(x * rho, x) == pytest.approx(lam.sum(), rel=1e-6)
    assert ds["histogram"].sum() == pytest.approx(150, rel=1e-12)
    assert ds.attrs["sigma"] > 0 and ds["density"].attrs["sigma"] == ds.attrs["sigma"]


def test_nodes_lie_in_the_spectral_interval():
    lam = np.linspace(0.5, 2.0, 120)
    ds = spectral_density(conjugated(lam, 4), n_vectors=8, lanczos_steps=25, seed=2)
    nodes = ds["node"].values[np.isfinite(ds["node"].values)]
    assert nodes.min() >= 0.5 - 1e-10 and nodes.max() <= 2.0 + 1e-10
    assert ds["count_below"].sel(threshold=0.0).item() == 0.0


def test_slq_is_deterministic_for_a_seed():
    A = conjugated(np.linspace(-1, 1, 80), 7)
    one = spectral_density(A, n_vectors=4, lanczos_steps=12, seed=11)
    two = spectral_density(A, n_vectors=4, lanczos_steps=12, seed=11)
    other = spectral_density(A, n_vectors=4, lanczos_steps=12, seed=12)
    np.testing.assert_array_equal(one["node"].values, two["node"].values)
    np.testing.assert_array_equal(one["density"].values, two["density"].values)
    assert not np.allclose(one["node"].values, other["node"].values)


def test_fraction_below_interval_covers_the_truth_at_its_level():
    lam = np.repeat([0.0, 1.0, 3.0], [100, 60, 40])
    A = conjugated(lam, 3)
    covered = 0
    for seed in range(20):
        ds = spectral_density(A, n_vectors=10, lanczos_steps=6, seed=seed)
        est = fraction_below(ds, 0.5, confidence=0.95)
        assert est.low <= est.fraction <= est.high
        assert est.count == pytest.approx(est.fraction * 200)
        covered += est.low <= 0.5 <= est.high
    # 95% intervals: 20 draws cover at least 15 times with probability > 0.999
    assert covered >= 15
    assert fraction_below(ds, 10.0).fraction == pytest.approx(1.0)


# ---------------------------------------------------------------------------- Hessian operator
def quartic_system(n: int = 6) -> tuple[GradientSystem, np.ndarray]:
    B = conjugated(np.linspace(0.5, 2.0, n), 5)

    def V(x, p):
        return 0.25 * (x**4).sum(-1) + 0.5 * np.einsum("...i,ij,...j->...", x, B, x)

    def grad(x, p):
        return x**3 + x @ B

    return GradientSystem(V, n, grad=grad, name="quartic"), B


def test_fd_hessian_of_a_smooth_potential_matches_the_closed_form():
    system, B = quartic_system()
    x = np.linspace(-1.5, 2.0, 6)
    H = hessian_operator(system, x)
    assert H.attrs["method"] == "fd"
    assert H.attrs["fd_step"] == pytest.approx(FD_REL_STEP * 2.0)
    exact = 3 * np.diag(x**2) + B
    np.testing.assert_allclose(H @ np.eye(6), exact, rtol=0, atol=1e-7 * np.abs(exact).max())
    np.testing.assert_allclose(H @ np.zeros(6), 0.0)


def test_the_operator_is_plus_the_hessian_minus_the_jacobian_of_the_field():
    system, _ = quartic_system()
    x = np.full(6, 0.3)
    H = hessian_operator(system, x) @ np.eye(6)
    np.testing.assert_allclose(H, -system.jac(x), atol=1e-7)


def test_sparse_analytic_hessian_is_applied_without_densifying():
    n = 50
    L = laplacian(n)

    def V(x, p):
        return 0.5 * np.einsum("...i,...i->...", x, (L @ x.reshape(-1, n).T).T.reshape(x.shape))

    system = GradientSystem(
        V, n, grad=lambda x, p: (L @ x.reshape(-1, n).T).T.reshape(x.shape), hess=lambda x, p: L
    )
    H = hessian_operator(system, np.zeros(n))
    assert H.attrs["method"] == "jacobian"
    ds = extreme_eigenvalues(H, k=2, which="largest")
    np.testing.assert_allclose(ds["eigenvalue"], laplacian_eigenvalues(n)[::-1][:2], atol=1e-10)


def test_hessian_operator_bad_inputs():
    system, _ = quartic_system()
    with pytest.raises(InputTypeError, match="GradientSystem"):
        hessian_operator(System(lambda x, p: -x, 2), np.zeros(2))
    with pytest.raises(InputError, match="shape"):
        hessian_operator(system, np.zeros(5))
    with pytest.raises(InputError, match="finite"):
        hessian_operator(system, np.full(6, np.nan))
    with pytest.raises(InputError, match="hessian_action"):
        hessian_operator(system, np.zeros(6), method="analytic")
    with pytest.raises(InputError, match="sparse"):
        hessian_operator(system, np.zeros(6), method="jacobian")
    with pytest.raises(InputError, match="method"):
        hessian_operator(system, np.zeros(6), method="magic")
