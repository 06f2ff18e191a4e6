"""Sparse continuation at scale: no dense n x n array anywhere on the sparse path, the 2-D Bratu
model against its mathematics, and the sparse path against the dense one."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse._base import _spbase

from dynsys import System
from dynsys.continuation import ContinuationOptions, continue_branch
from dynsys.continuation._linalg import Factorization, _permutation_sign, bordered
from dynsys.errors import InvalidSystemError
from dynsys.models import bratu, bratu_2d

BRATU_1D_FOLD = 3.513830719  # continuum 1-D Bratu: 8 s^2 / cosh(s)^2 with s tanh(s) = 1
BRATU_2D_FOLD = 6.808124423  # continuum 2-D Bratu on the unit square


def _all_sparse_classes():
    todo, seen = [_spbase], []
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


@pytest.fixture
def no_densify(monkeypatch):
    """Every way scipy.sparse turns a matrix dense raises for the duration of the test."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"a {type(self).__name__} of shape {self.shape} was densified")

    for cls in _all_sparse_classes():
        for name in ("toarray", "todense"):
            if name in vars(cls):
                monkeypatch.setattr(cls, name, refuse)


def _fold_options(scale: float, **extra) -> ContinuationOptions:
    """Steps proportional to sqrt(n) (the norm of a grid function grows so), which keeps the
    number of points to the fold about the same for every grid."""
    return ContinuationOptions(ds=0.1 * scale, ds_max=0.5 * scale, **extra)


# ---------------------------------------------------------------- no densification
def test_no_dense_matrix_when_continuing_a_system_too_large_to_densify(no_densify):
    # n = 2e5: one dense n x n array would take 8 n^2 = 320 GB
    n = 200_000
    with pytest.raises(AssertionError, match="densified"):
        sp.identity(3, format="csr").toarray()  # the fixture is in force
    tracemalloc.start()
    try:
        system = bratu(n, lam=0.0, sparse=True)  # construction checks the sparse Jacobian
        assert system.jacobian_is_sparse
        options = _fold_options(np.sqrt(n), max_points=3)  # every detector on (the default)
        branch = continue_branch(system, np.zeros(n), "lam", options=options, direction=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert branch.sizes["step"] == 3
    assert np.all(np.diff(branch.param.values) > 0)  # the lower branch, before the fold
    # J is negative definite there: the exact inertia gives index 0, the six monitored
    # eigenvalues are real and negative
    assert branch.attrs["index_method"].startswith("inertia")
    assert np.all(branch.index.values == 0)
    assert np.all(branch.eigenvalue_real.values < 0)
    assert np.all(branch.eigenvalue_imag.values == 0)
    # linear in n: a few kilobytes per unknown (the sparse LU, a few vectors per point)
    assert peak < 4_000 * n, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.slow
def test_sparse_fold_of_a_system_too_large_to_densify(no_densify):
    # n = 1e5 (80 GB dense): through the fold with location, fold coefficient and stability
    n = 100_000
    tracemalloc.start()
    try:
        system = bratu(n, lam=0.0, sparse=True)
        options = _fold_options(np.sqrt(n), max_points=8, x_max=6.0)
        branch = continue_branch(system, np.zeros(n), "lam", options=options, direction=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    folds = branch.special_param.values[branch.special_type.values == "LP"]
    # the discrete fold differs from the continuum one by O(h^2) = O(1e-10)
    assert folds.size == 1 and folds[0] == pytest.approx(BRATU_1D_FOLD, abs=2e-9)
    # the fold coefficient is positive: the two equilibria exist below the fold
    assert branch.special_fold_a.values[0] > 0
    step = int(branch.special_step.values[0])
    index = branch.index.values
    assert np.all(index[: step + 1] == 0) and np.all(index[step + 1 :] == 1)
    assert peak < 4_000 * n, f"peak {peak / 1e6:.0f} MB"


def test_a_wrong_sparse_jacobian_is_caught_without_densifying(no_densify):
    n = 100_000
    good = bratu(n, sparse=True)
    lap = good.jac(np.zeros(n)) - sp.diags(np.full(n, good.params["lam"]))

    def wrong_jac(u, p):  # one off-diagonal entry with the wrong sign
        J = (lap + sp.diags(p["lam"] * np.exp(u))).tolil()
        J[n // 2, n // 2 + 1] *= -1.0
        return J.tocsr()

    with pytest.raises(InvalidSystemError, match=rf"\(sparse\).*row {n // 2} of J v"):
        System(good._f, n, {"lam": 1.0}, jac=wrong_jac, probe=np.full(n, 0.1))
    # the right one passes, and check_jacobian=False skips the comparison
    System(good._f, n, {"lam": 1.0}, jac=good._jac, probe=np.full(n, 0.1))
    System(good._f, n, {"lam": 1.0}, jac=wrong_jac, probe=np.full(n, 0.1), check_jacobian=False)


def test_a_non_finite_sparse_jacobian_is_named():
    def jac(x, p):
        return sp.diags(np.full(3, np.nan)).tocsr()

    with pytest.raises(InvalidSystemError, match="`jac` is not finite"):
        System(lambda x, p: -x, 3, jac=jac)


def test_sparse_factorization_with_ordering_keeps_solves_and_determinant():
    # a bordered 2-D Laplacian large enough for the cached fill-reducing ordering; its
    # determinant against the closed form of the Laplacian's eigenvalues (Schur complement:
    # det [L b; c^T d] = det(L) (d - c^T L^-1 b))
    m = 48
    L = -bratu_2d(m, lam=0.0).jac(np.zeros(m * m))
    k = np.arange(1, m + 1)
    one_d = 4.0 * (m + 1) ** 2 * np.sin(k * np.pi / (2 * (m + 1))) ** 2
    log_det_L = float(np.sum(np.log(one_d[:, None] + one_d[None, :])))
    b = np.cos(np.arange(m * m))
    c = np.sin(np.arange(m * m + 1))
    M = sp.hstack([L, sp.csr_matrix(b[:, None])], format="csr")
    F = Factorization(bordered(M, c))
    assert F._perm is not None  # the ordered path is the one under test
    schur = c[-1] - c[:-1] @ Factorization(L).solve(b)
    sign, log = F.det_sign_log()
    assert sign == np.sign(schur)
    assert log == pytest.approx(log_det_L + np.log(abs(schur)), rel=1e-12)
    B = bordered(M, c)
    rhs = np.sin(np.arange(m * m + 1) + 0.3)
    np.testing.assert_allclose(B @ F.solve(rhs), rhs, atol=1e-9)
    np.testing.assert_allclose(B.T @ F.solve(rhs, transpose=True), rhs, atol=1e-9)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 64, 301])
def test_permutation_sign_matches_the_parity_of_inversions(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        perm = rng.permutation(n)
        inversions = sum(int(np.count_nonzero(perm[i + 1 :] < perm[i])) for i in range(n))
        assert _permutation_sign(perm) == (-1) ** inversions


# ---------------------------------------------------------------- the 2-D Bratu model
def test_bratu_2d_laplacian_has_the_closed_form_eigenvalue():
    # sin(pi x) sin(pi y) on the grid is an eigenvector of the 5-point Laplacian with
    # eigenvalue -(8 / h^2) sin^2(pi h / 2)
    m = 20
    h = 1.0 / (m + 1)
    grid = np.arange(1, m + 1) * h
    u = np.outer(np.sin(np.pi * grid), np.sin(np.pi * grid)).ravel()
    system = bratu_2d(m, lam=0.0)
    expected = -(8.0 / h**2) * np.sin(np.pi * h / 2) ** 2 * u
    np.testing.assert_allclose(system.f(u), expected, atol=1e-10)
    np.testing.assert_allclose(system.jac(u) @ u, expected, atol=1e-10)
    # lam exp(u) term, and the sparse and dense Jacobians agree, one state and a batch
    dense = bratu_2d(m, lam=2.0, sparse=False)
    sparse = bratu_2d(m, lam=2.0)
    np.testing.assert_allclose(sparse.f(u) - system.f(u), 2.0 * np.exp(u), atol=1e-10)
    assert sparse.jacobian_is_sparse and not dense.jacobian_is_sparse
    assert sparse.jac(u).nnz == 5 * m * m - 4 * m
    np.testing.assert_allclose(
        sparse.jac_dense(np.stack([u, 2 * u])), dense.jac(np.stack([u, 2 * u]))
    )


def test_bratu_2d_rejects_an_empty_grid():
    from dynsys.errors import InputError

    with pytest.raises(InputError, match="`m` must be a positive"):
        bratu_2d(0)


def _fold_2d(m: int, sparse: bool = True) -> float:
    system = bratu_2d(m, lam=0.0, sparse=sparse)
    options = _fold_options(m, max_points=40, x_max=3.0, detect=("LP",))
    branch = continue_branch(system, np.zeros(m * m), "lam", options=options, direction=1)
    folds = branch.special_param.values[branch.special_type.values == "LP"]
    assert folds.size == 1
    return float(folds[0])


def test_bratu_2d_fold_converges_at_second_order_to_the_continuum_value():
    ms = (15, 31, 63)  # h = 1/16, 1/32, 1/64
    folds = np.array([_fold_2d(m) for m in ms])
    errors = BRATU_2D_FOLD - folds
    assert np.all(errors > 0)  # the discrete fold lies below the continuum one
    ratios = errors[:-1] / errors[1:]
    np.testing.assert_allclose(ratios, 4.0, rtol=0.05)  # O(h^2)
    richardson = (4.0 * folds[-1] - folds[-2]) / 3.0
    assert richardson == pytest.approx(BRATU_2D_FOLD, abs=1e-5)


def test_bratu_2d_fold_is_the_same_on_the_sparse_and_dense_paths():
    assert _fold_2d(10, sparse=True) == pytest.approx(_fold_2d(10, sparse=False), abs=1e-10)
