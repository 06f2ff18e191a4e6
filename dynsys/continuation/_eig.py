"""Eigenvalues with left and right eigenvectors of a small dense real matrix: the values of
``scipy.linalg.eig(A, left=True, right=True)`` without its per-call overhead (private).

``scipy.linalg.eig`` validates its input, looks its LAPACK routines up, queries the workspace
and then calls ``dgeev``: ~28 us for a 3 x 3 matrix, of which ``dgeev`` takes ~3. Here the
routine is scipy's public ``scipy.linalg.lapack.dgeev``, called with the workspace scipy would
use (queried once per size: the workspace decides whether LAPACK back-transforms blocked), and
the real output is turned into complex eigenvalues and eigenvectors as scipy does: the same
values, bit for bit. Anything else (a matrix that is not finite, a failed ``dgeev``) goes to
``scipy.linalg.eig`` itself, which behaves as it always did.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack

__all__ = ["eig_left_right"]

_I = np.array(1j, dtype="F")  # the imaginary unit as scipy.linalg.eig combines wr and wi


@cache
def _workspace(n: int) -> int | None:
    """The ``lwork`` scipy.linalg.eig passes to ``dgeev`` for vectors on both sides (None if
    the query fails: scipy.linalg.eig then runs)."""
    work, info = lapack.dgeev_lwork(n, compute_vl=1, compute_vr=1)
    return int(work.real) if info == 0 else None


def _complex_vectors(w: np.ndarray, vin: np.ndarray) -> np.ndarray:
    """The complex eigenvectors of ``dgeev``'s real output (conjugate pairs in consecutive
    columns), as scipy.linalg.eig builds them."""
    v = np.array(vin, dtype=w.dtype.char)
    pair = w.imag > 0
    pair[:-1] |= w.imag[1:] < 0
    for i in np.flatnonzero(pair):
        v.imag[:, i] = vin[:, i + 1]
        np.conj(v[:, i], v[:, i + 1])
    return v


def eig_left_right(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``scipy.linalg.eig(A, left=True, right=True)`` of a square float64 matrix: eigenvalues,
    left and right eigenvectors (columns), the same values."""
    a = np.asarray(A)
    lwork = _workspace(a.shape[0]) if a.ndim == 2 and a.shape[0] == a.shape[1] else None
    if lwork is None or a.dtype != np.float64 or a.size == 0 or not np.isfinite(a).all():
        return sla.eig(A, left=True, right=True)
    wr, wi, vl, vr, info = lapack.dgeev(a, compute_vl=1, compute_vr=1, lwork=lwork)
    if info != 0:
        return sla.eig(A, left=True, right=True)
    w = wr + _I * wi
    if not np.all(w.imag == 0.0):
        vl = _complex_vectors(w, vl)
        vr = _complex_vectors(w, vr)
    return w, vl, vr
