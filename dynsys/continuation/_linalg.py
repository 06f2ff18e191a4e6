"""Linear algebra for continuation, dense or sparse alike: LU with determinant sign, bordered
matrices, null vectors, and eigenvalue monitoring.

Everything here is deterministic: ARPACK gets a fixed start vector, and no random bordering
vector is ever drawn.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = [
    "Factorization",
    "SingularMatrixError",
    "bordered",
    "dense_null_vectors",
    "monitor_eigenvalues",
    "start_vector",
]


class SingularMatrixError(ArithmeticError):
    """An LU factorisation met an exactly zero pivot (or non-finite entries)."""


def _permutation_sign(perm: np.ndarray) -> int:
    """Sign (+1 or -1) of a permutation given as an index array."""
    perm = np.asarray(perm)
    seen = np.zeros(perm.size, dtype=bool)
    cycles = 0
    for start in range(perm.size):
        if seen[start]:
            continue
        cycles += 1
        j = start
        while not seen[j]:
            seen[j] = True
            j = perm[j]
    return -1 if (perm.size - cycles) % 2 else 1


class Factorization:
    """LU factors of a square matrix (``numpy`` array or ``scipy.sparse``), with solves and the
    sign and log-modulus of the determinant."""

    def __init__(self, A) -> None:
        self.sparse = sp.issparse(A)
        if self.sparse:
            A = sp.csc_matrix(A)
            if not np.all(np.isfinite(A.data)):
                raise SingularMatrixError("non-finite matrix entries")
            try:
                self._lu = spla.splu(A)
            except RuntimeError as exc:  # "Factor is exactly singular"
                raise SingularMatrixError(str(exc)) from exc
            diag = self._lu.U.diagonal()
        else:
            A = np.asarray(A, dtype=float)
            if not np.all(np.isfinite(A)):
                raise SingularMatrixError("non-finite matrix entries")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", sla.LinAlgWarning)
                self._lu = sla.lu_factor(A, check_finite=False)
            diag = np.diagonal(self._lu[0])
        if np.any(diag == 0.0):
            raise SingularMatrixError("zero pivot")
        self._diag = diag

    def solve(self, b: np.ndarray, *, transpose: bool = False) -> np.ndarray:
        """Solve ``A x = b`` (or ``A^T x = b``)."""
        if self.sparse:
            return self._lu.solve(np.asarray(b, dtype=float), trans="T" if transpose else "N")
        return sla.lu_solve(self._lu, b, trans=1 if transpose else 0, check_finite=False)

    def det_sign_log(self) -> tuple[int, float]:
        """``(sign, log|det|)`` of the factored matrix."""
        sign = int(np.prod(np.sign(self._diag)))
        if self.sparse:
            sign *= _permutation_sign(self._lu.perm_r) * _permutation_sign(self._lu.perm_c)
        else:
            piv = self._lu[1]
            swaps = int(np.count_nonzero(piv != np.arange(piv.size)))
            sign *= -1 if swaps % 2 else 1
        return sign, float(np.sum(np.log(np.abs(self._diag))))


def bordered(M, row: np.ndarray):
    """The square matrix ``[M; row^T]`` for ``M`` of shape ``(m, m + 1)``."""
    row = np.asarray(row, dtype=float)
    if sp.issparse(M):
        return sp.vstack([M, sp.csr_matrix(row[None, :])], format="csc")
    return np.vstack([M, row[None, :]])


def start_vector(n: int) -> np.ndarray:
    """A fixed, generic unit vector (no zero entries, no symmetry) used wherever a start vector is
    needed: ARPACK, inverse iteration."""
    k = np.arange(n)
    v = 1.0 + 0.5 * np.sin(1.3 * k + 0.7)
    return v / np.linalg.norm(v)


def dense_null_vectors(A: np.ndarray, count: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Right and left singular vectors of the ``count`` smallest singular values of ``A``.

    Returns ``(right, left)`` with shapes ``(count, A.shape[1])`` and ``(count, A.shape[0])``;
    for a wide matrix the right vectors span the null space when ``A`` has full row rank minus
    ``count - (cols - rows)``. Signs are fixed: the largest-modulus component is positive.
    """
    U, _, Vh = np.linalg.svd(np.asarray(A, dtype=float), full_matrices=True)
    right = Vh[-count:][::-1].copy()
    left = U[:, -count:].T[::-1].copy()
    return _fix_signs(right), _fix_signs(left)


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    idx = np.argmax(np.abs(vectors), axis=-1)
    signs = np.sign(vectors[np.arange(vectors.shape[0]), idx])
    return vectors * np.where(signs == 0, 1.0, signs)[:, None]


def _sort_spectrum(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=complex)
    return values[np.lexsort((-values.imag, -values.real))]


def _is_symmetric(J) -> bool:
    if sp.issparse(J):
        diff = abs(J - J.T)
        scale = abs(J).max() if J.nnz else 0.0
        return diff.nnz == 0 or diff.max() <= 1e-14 * max(scale, 1.0)
    return bool(np.allclose(J, J.T, rtol=0.0, atol=1e-14 * max(np.abs(J).max(), 1.0)))


def _symmetric_inertia_positive(J) -> int | None:
    """Number of positive eigenvalues of a sparse symmetric ``J`` from the pivots of an LU
    factorisation with diagonal pivoting (Sylvester's law of inertia); ``None`` when the
    factorisation had to pivot off the diagonal or failed."""
    try:
        lu = spla.splu(
            sp.csc_matrix(J),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError:
        return None
    if not np.array_equal(lu.perm_r, lu.perm_c):
        return None
    return int(np.count_nonzero(lu.U.diagonal() > 0))


def monitor_eigenvalues(J, n_eigen: int) -> tuple[np.ndarray, int | None, bool]:
    """Eigenvalues to monitor along a branch.

    Dense ``J``: all eigenvalues. Sparse ``J``: the ``n_eigen`` of smallest modulus, by
    shift-invert about zero (ARPACK with a fixed start vector). Sorted by real part, then
    imaginary part, both descending.

    Returns
    -------
    eigenvalues : numpy.ndarray of complex
        Length ``n`` (dense) or ``n_eigen`` (sparse; NaN where ARPACK did not converge).
    unstable_count : int or None
        For a sparse symmetric ``J``, the exact number of positive eigenvalues (from the
        inertia); ``None`` otherwise.
    complete : bool
        True when the whole spectrum was computed.
    """
    if not sp.issparse(J):
        J = np.asarray(J, dtype=float)
        if not np.all(np.isfinite(J)):
            return np.full(J.shape[0], np.nan + 0j), None, True
        if _is_symmetric(J):
            return _sort_spectrum(np.linalg.eigvalsh(0.5 * (J + J.T))), None, True
        return _sort_spectrum(np.linalg.eigvals(J)), None, True
    n = J.shape[0]
    if n_eigen >= n - 1:
        return _sort_spectrum(np.linalg.eigvals(J.toarray())), None, True
    symmetric = _is_symmetric(J)
    values = np.full(n_eigen, np.nan + 0j)
    v0 = start_vector(n)
    scale = max(abs(J).max(), 1.0)
    for shift in (0.0, 1e-10 * scale):
        try:
            if symmetric:
                found = spla.eigsh(
                    J, k=n_eigen, sigma=shift, which="LM", v0=v0, return_eigenvectors=False
                )
            else:
                found = spla.eigs(
                    J, k=n_eigen, sigma=shift, which="LM", v0=v0, return_eigenvectors=False
                )
            values = np.asarray(found, dtype=complex)
            break
        except (RuntimeError, spla.ArpackError, spla.ArpackNoConvergence):
            continue
    unstable = _symmetric_inertia_positive(J) if symmetric else None
    return _sort_spectrum(values), unstable, False
