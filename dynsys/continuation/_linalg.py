"""Linear algebra for continuation, dense or sparse alike: LU with determinant sign, bordered
matrices, null vectors, and eigenvalue monitoring.

Everything here is deterministic: ARPACK gets a fixed start vector, and no random bordering
vector is ever drawn.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dgetrf as _getrf
from scipy.linalg.lapack import dgetrs as _getrs
from threadpoolctl import threadpool_limits

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
    """Sign (+1 or -1) of a permutation given as an index array: ``(-1)^(n - cycles)``, the
    cycles counted by labelling each index with the smallest index of its cycle (pointer
    doubling, ``O(n log n)`` vectorised)."""
    perm = np.asarray(perm, dtype=np.intp)
    label = np.arange(perm.size)
    jump = perm.copy()
    for _ in range(max(int(perm.size).bit_length(), 1)):
        label = np.minimum(label, label[jump])
        jump = jump[jump]
    cycles = int(np.count_nonzero(label == np.arange(perm.size)))
    return -1 if (perm.size - cycles) % 2 else 1


_ORDER_MIN_SIZE = 2000  # below this, SuperLU's own COLAMD ordering is as good and cheaper
_ORDER_CACHE_SIZE = 8
_order_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()


def _dense_lines(A: sp.csc_matrix) -> np.ndarray:
    """Indices whose row or column is dense (a bordering row, a parameter-derivative column)."""
    limit = max(64, int(10 * np.sqrt(A.shape[0])))
    cols = np.diff(A.indptr)
    rows = np.bincount(A.indices, minlength=A.shape[0])
    return np.flatnonzero((cols > limit) | (rows > limit))


def _compute_ordering(A: sp.csc_matrix) -> np.ndarray | None:
    """A symmetric fill-reducing permutation of ``A``: minimum degree on ``A + A^T`` of its sparse
    core (from one SuperLU factorisation of that core), with the dense rows and columns last.
    Minimum degree is fast on the core, slow with the dense border in it; COLAMD on the whole
    bordered matrix fills about twice as much on a 2-D grid."""
    dense = _dense_lines(A)
    core = np.setdiff1d(np.arange(A.shape[0]), dense)
    C = abs(A[core][:, core])
    k = C.shape[0]
    # the ordering depends on the pattern of C + C^T only: factor a diagonally dominant matrix
    # of that pattern, so that no pivot is ever zero and the pivots stay on the diagonal
    S = (C + C.T + sp.identity(k)).tocsc()
    S.data[:] = -1.0
    S = (S + sp.diags(np.diff(S.indptr) + 1.0)).tocsc()
    try:
        lu = spla.splu(
            S, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
        )
    except RuntimeError:
        return None
    return np.concatenate([core[np.argsort(lu.perm_c)], dense])


def _ordering(A: sp.csc_matrix) -> np.ndarray | None:
    """The cached ordering of ``A``'s sparsity pattern (continuation factors many matrices of
    one pattern); ``None`` for small matrices."""
    if A.shape[0] < _ORDER_MIN_SIZE:
        return None
    key = (
        A.shape,
        A.nnz,
        hashlib.blake2b(A.indptr.tobytes(), digest_size=16).digest(),
        hashlib.blake2b(A.indices.tobytes(), digest_size=16).digest(),
    )
    if key in _order_cache:
        _order_cache.move_to_end(key)
        return _order_cache[key]
    perm = _compute_ordering(A)
    _order_cache[key] = perm
    while len(_order_cache) > _ORDER_CACHE_SIZE:
        _order_cache.popitem(last=False)
    return perm


class Factorization:
    """LU factors of a square matrix (``numpy`` array or ``scipy.sparse``), with solves and the
    sign and log-modulus of the determinant.

    A large sparse matrix is permuted symmetrically by a fill-reducing ordering of its pattern
    (computed once per pattern and cached; dense border rows and columns go last) and factored in
    that order: memory ``O(nnz(L + U))``, never ``O(n^2)``. A symmetric permutation leaves the
    determinant unchanged."""

    def __init__(self, A) -> None:
        self.sparse = sp.issparse(A)
        self._perm = None
        if self.sparse:
            A = sp.csc_matrix(A)
            if not np.all(np.isfinite(A.data)):
                raise SingularMatrixError("non-finite matrix entries")
            A.sort_indices()
            perm = _ordering(A)
            try:
                if perm is None:
                    self._lu = spla.splu(A)
                else:
                    self._lu = spla.splu(A[perm][:, perm].tocsc(), permc_spec="NATURAL")
                    self._perm = perm
            except RuntimeError as exc:  # "Factor is exactly singular"
                raise SingularMatrixError(str(exc)) from exc
            diag = self._lu.U.diagonal()
        else:
            A = np.asarray(A, dtype=float)
            if not np.isfinite(A).all():
                raise SingularMatrixError("non-finite matrix entries")
            # LAPACK directly: scipy.linalg.lu_factor/lu_solve add ~30 us of checks per call,
            # more than the factorization of the small bordered matrices of most branches
            lu, piv, _ = _getrf(A)  # info > 0 (an exact zero pivot) is caught below
            self._lu = (lu, piv)
            diag = np.diagonal(lu)
        if np.any(diag == 0.0):
            raise SingularMatrixError("zero pivot")
        self._diag = diag

    def solve(self, b: np.ndarray, *, transpose: bool = False) -> np.ndarray:
        """Solve ``A x = b`` (or ``A^T x = b``)."""
        if self.sparse:
            b = np.asarray(b, dtype=float)
            trans = "T" if transpose else "N"
            if self._perm is None:
                return self._lu.solve(b, trans=trans)
            x = np.empty_like(b)
            x[self._perm] = self._lu.solve(b[self._perm], trans=trans)
            return x
        if np.iscomplexobj(b):
            return sla.lu_solve(self._lu, b, trans=1 if transpose else 0, check_finite=False)
        return _getrs(*self._lu, b, trans=1 if transpose else 0)[0]

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
    out = np.empty((M.shape[0] + 1, M.shape[1]))
    out[:-1] = M
    out[-1] = row
    return out


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
    return bool(np.abs(J - J.T).max() <= 1e-14 * max(np.abs(J).max(), 1.0))


def _symmetric_inertia(J):
    """``(positive, lu)``: the number of positive eigenvalues of a sparse symmetric ``J`` from the
    pivots of an LU factorisation with diagonal pivoting (Sylvester's law of inertia), and that
    factorisation; ``(None, None)`` when it had to pivot off the diagonal or failed."""
    try:
        lu = spla.splu(
            sp.csc_matrix(J),
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
    except RuntimeError:
        return None, None
    if not np.array_equal(lu.perm_r, lu.perm_c):
        return None, None
    return int(np.count_nonzero(lu.U.diagonal() > 0)), lu


def _shift_invert_eigs(
    J, n_eigen: int, symmetric: bool, v0: np.ndarray, solve
) -> np.ndarray | None:
    """The ``n_eigen`` eigenvalues of smallest modulus by ARPACK in shift-invert mode about 0,
    with ``solve`` applying ``J^-1``; ``None`` when their residuals ``|J v - lambda v|`` show an
    inaccurate solve."""
    n = J.shape[0]
    op = spla.LinearOperator((n, n), matvec=solve, dtype=float)
    if symmetric:
        values, vectors = spla.eigsh(J, k=n_eigen, sigma=0.0, which="LM", v0=v0, OPinv=op)
    else:
        values, vectors = spla.eigs(J, k=n_eigen, sigma=0.0, which="LM", v0=v0, OPinv=op)
    scale = float(abs(J).max()) if J.nnz else 1.0
    residual = np.abs(J @ vectors - vectors * values).max(axis=0)
    if not np.all(residual <= 1e-8 * max(scale, 1.0) * np.abs(vectors).max(axis=0) + 1e-300):
        return None  # an inaccurate solve: the caller falls back
    return np.asarray(values, dtype=complex)


def dense_spectra(J: np.ndarray) -> np.ndarray:
    """All eigenvalues of each finite dense matrix of a stack ``(N, n, n)``, sorted as by
    :func:`monitor_eigenvalues`, in one LAPACK call per kind (symmetric or not): ``(N, n)``."""
    J = np.asarray(J, dtype=float)
    out = np.empty(J.shape[:2], dtype=complex)
    asym = np.abs(J - J.swapaxes(-1, -2)).max(axis=(-2, -1), initial=0.0)
    scale = np.maximum(np.abs(J).max(axis=(-2, -1), initial=0.0), 1.0)
    symmetric = asym <= 1e-14 * scale
    if symmetric.any():
        S = J[symmetric]
        out[symmetric] = np.linalg.eigvalsh(0.5 * (S + S.swapaxes(-1, -2)))
    if not symmetric.all():
        out[~symmetric] = np.linalg.eigvals(J[~symmetric])
    order = np.lexsort((-out.imag, -out.real), axis=-1)
    return np.take_along_axis(out, order, axis=-1)


def dense_spectrum(J: np.ndarray, *, ordered: bool = True) -> np.ndarray:
    """:func:`dense_spectra` of one finite dense matrix ``(n, n)``: the same values, with fewer
    numpy calls (location calls it at every trial point); ``ordered=False`` leaves them in
    LAPACK's order (for what does not depend on the order)."""
    J = np.asarray(J, dtype=float)
    asym = np.abs(J - J.T).max(initial=0.0)
    scale = max(np.abs(J).max(initial=0.0), 1.0)
    if asym <= 1e-14 * scale:
        values = np.linalg.eigvalsh(0.5 * (J + J.T)).astype(complex)
    else:
        values = np.linalg.eigvals(J).astype(complex)
    if not ordered:
        return values
    return values[np.lexsort((-values.imag, -values.real))]


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
        return dense_spectrum(J), None, True
    n = J.shape[0]
    if n_eigen >= n - 1:
        return _sort_spectrum(np.linalg.eigvals(J.toarray())), None, True
    # ARPACK's vector work is memory-bound BLAS-2 on (n, ncv) blocks: threads gain little there
    # and, on a loaded machine, oversubscribed BLAS threads made it ~15x slower (n = 5e4)
    with threadpool_limits(limits=1, user_api="blas"):
        return _monitor_sparse(J, n, n_eigen)


def _monitor_sparse(J, n: int, n_eigen: int) -> tuple[np.ndarray, int | None, bool]:
    symmetric = _is_symmetric(J)
    values = np.full(n_eigen, np.nan + 0j)
    v0 = start_vector(n)
    unstable, lu = _symmetric_inertia(J) if symmetric else (None, None)
    # First try: shift-invert about 0 with a factorisation already at hand (the inertia LU of a
    # symmetric J, or the cached-ordering LU), so that ARPACK does not factor J again.
    try:
        solve = lu.solve if lu is not None else Factorization(J).solve
        found = _shift_invert_eigs(J, n_eigen, symmetric, v0, solve)
        if found is not None:
            return _sort_spectrum(found), unstable, False
    except (SingularMatrixError, RuntimeError, spla.ArpackError, spla.ArpackNoConvergence):
        pass
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
    return _sort_spectrum(values), unstable, False
