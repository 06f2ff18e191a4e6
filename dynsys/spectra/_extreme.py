"""Extreme eigenvalues of a symmetric operator by implicitly restarted Lanczos (ARPACK)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

from .._dataset import provenance, status_variable
from .._status import Status
from ..errors import InputError
from ._operator import as_operator

__all__ = ["extreme_eigenvalues"]

_WHICH = {"largest": ("largest",), "smallest": ("smallest",), "both": ("smallest", "largest")}
_ARPACK = {"largest": "LA", "smallest": "SA"}


def extreme_eigenvalues(
    op,
    k: int = 6,
    which: str = "both",
    *,
    tol: float = 0.0,
    maxiter: int | None = None,
    ncv: int | None = None,
    seed: int = 0,
    return_vectors: bool = False,
) -> xr.Dataset:
    """Return the ``k`` largest and/or smallest eigenvalues of a symmetric operator.

    Implicitly restarted Lanczos (ARPACK through :func:`scipy.sparse.linalg.eigsh`,
    ``which="LA"`` / ``"SA"``) needs only products ``op @ v``; no shift-invert (a solve with a
    matrix-free Hessian would cost a Krylov solve per step). Small problems (``n <= 2 k + 1``)
    are solved densely. Every returned eigenpair ``(lambda, v)`` comes with its residual
    ``|op v - lambda v|`` (``|v| = 1``), computed afresh: for a symmetric operator some
    eigenvalue lies within the residual of ``lambda``, so the residual is a rigorous error bound.
    Eigenvalues that did not converge are NaN with a status and a reason; nothing is raised
    for a numerical failure.

    Parameters
    ----------
    op : LinearOperator, ndarray or sparse matrix
        Real symmetric ``n x n`` (e.g. from :func:`hessian_operator`).
    k : int
        Number of eigenvalues at each end.
    which : {"both", "largest", "smallest"}
        Which end(s) of the spectrum.
    tol : float
        ARPACK's relative tolerance (0: machine precision).
    maxiter : int, optional
        ARPACK's limit on restarts (``10 n`` by default).
    ncv : int, optional
        Number of Lanczos vectors kept between restarts (``max(2 k + 1, 20)`` by default);
        more converges faster for clustered spectra at more memory.
    seed : int
        Seed of the start vector (results are deterministic for a given seed).
    return_vectors : bool
        Also return the eigenvectors (``eigenvector(mode, state)``).

    Returns
    -------
    xarray.Dataset
        Dimension ``mode`` (the smallest in increasing order, then the largest in decreasing
        order), variables ``eigenvalue``, ``residual``, ``status`` (``dynsys.Status``:
        converged, max_iter, nonfinite), ``reason`` (why an eigenvalue is unknown; empty when
        converged), ``end`` ("smallest"/"largest"), ``rank`` (1 for the most extreme); attrs:
        ``n``, ``k``, ``solver_<end>``, ``n_products`` (operator applications used), the
        operator's ``attrs`` and provenance.

    Raises
    ------
    InputError
        If ``k < 1`` or ``which`` is unknown.

    Examples
    --------
    >>> ds = extreme_eigenvalues(np.diag(np.arange(1.0, 101.0)), k=2)
    >>> ds["eigenvalue"].values.round(10).tolist(), ds["end"].values.tolist()
    ([1.0, 2.0, 100.0, 99.0], ['smallest', 'smallest', 'largest', 'largest'])
    >>> bool(ds["residual"].max() < 1e-10)
    True
    """
    if which not in _WHICH:
        raise InputError(f"`which` must be one of {sorted(_WHICH)}; got {which!r}.")
    if int(k) != k or k < 1:
        raise InputError(f"`k` must be a positive integer; got {k!r}.")
    k = int(k)
    A = as_operator(op)
    n = A.shape[0]
    if k > n:
        raise InputError(f"`k` = {k} exceeds the dimension n = {n}; ask for at most n.")
    counter = getattr(op, "n_products", None)
    ends = _WHICH[which]
    dense = n <= 2 * k + 1
    parts, attrs = [], {}
    if dense:
        matrix = A @ np.eye(n)
        matrix = 0.5 * (matrix + matrix.T)
        values, vectors = np.linalg.eigh(matrix)
    for end in ends:
        if dense:
            idx = np.arange(k) if end == "smallest" else np.arange(n - 1, n - 1 - k, -1)
            out = (values[idx], vectors[:, idx], np.zeros(k, dtype=int), [""] * k)
            attrs[f"solver_{end}"] = "dense (numpy.linalg.eigh)"
        else:
            out = _arpack(A, k, end, tol=tol, maxiter=maxiter, ncv=ncv, seed=seed)
            attrs[f"solver_{end}"] = f"ARPACK eigsh which={_ARPACK[end]}"
        parts.append((end, *out))
    lam = np.concatenate([p[1] for p in parts])
    vec = np.concatenate([p[2] for p in parts], axis=1)
    status = np.concatenate([p[3] for p in parts])
    reason = [r for p in parts for r in p[4]]
    residual = _residuals(A, lam, vec)
    bad = (status == Status.CONVERGED) & ~np.isfinite(residual)
    status[bad] = Status.NONFINITE
    for i in np.flatnonzero(bad):
        reason[i] = "the operator returned non-finite values"
    ds = xr.Dataset(
        {
            "eigenvalue": ("mode", lam, {"long_name": "eigenvalue (NaN where unknown)"}),
            "residual": (
                "mode",
                residual,
                {"long_name": "|op v - lambda v| for the unit eigenvector v: an error bound"},
            ),
            "status": status_variable(status, "mode"),
            "reason": ("mode", np.array(reason, dtype=object)),
            "end": ("mode", np.array([p[0] for p in parts for _ in range(k)], dtype=object)),
            "rank": ("mode", np.tile(np.arange(1, k + 1), len(parts))),
        },
        attrs=provenance(
            n=n,
            k=k,
            which=which,
            tol=tol,
            maxiter=maxiter,
            ncv=ncv,
            seed=seed,
            **attrs,
            **_operator_attrs(op),
        ),
    )
    if return_vectors:
        ds["eigenvector"] = (("mode", "state"), vec.T)
    if counter is not None:
        ds.attrs["n_products"] = int(op.n_products - counter)
    return ds


def _arpack(A, k: int, end: str, *, tol, maxiter, ncv, seed):
    n = A.shape[0]
    v0 = np.random.default_rng(seed).standard_normal(n)
    ncv = min(n, max(2 * k + 1, 20)) if ncv is None else int(ncv)
    values = np.full(k, np.nan)
    vectors = np.full((n, k), np.nan)
    status = np.zeros(k, dtype=int)
    reason = [""] * k
    try:
        lam, vec = eigsh(A, k=k, which=_ARPACK[end], tol=tol, maxiter=maxiter, ncv=ncv, v0=v0)
    except ArpackNoConvergence as exc:
        lam, vec = np.asarray(exc.eigenvalues), np.asarray(exc.eigenvectors)
        status[:] = Status.MAX_ITER
        message = (
            f"ARPACK did not converge within maxiter={maxiter or 10 * n} restarts "
            f"({lam.size} of {k} converged); raise maxiter or ncv"
        )
        reason = [message] * k
    except (ArpackError, ValueError, np.linalg.LinAlgError) as exc:
        status[:] = Status.MAX_ITER
        return values, vectors, status, [f"ARPACK failed: {exc}"] * k
    order = np.argsort(lam) if end == "smallest" else np.argsort(-lam)
    m = lam.size
    values[:m], vectors[:, :m] = lam[order], vec[:, order]
    status[:m] = Status.CONVERGED
    for i in range(m):
        reason[i] = ""
    nonfinite = ~np.isfinite(values[:m])
    if np.any(nonfinite):
        status[:m][nonfinite] = Status.NONFINITE
        for i in np.flatnonzero(nonfinite):
            reason[i] = "the operator returned non-finite values"
    return values, vectors, status, reason


def _residuals(A, lam: np.ndarray, vec: np.ndarray) -> np.ndarray:
    out = np.full(lam.size, np.nan)
    ok = np.isfinite(lam) & np.all(np.isfinite(vec), axis=0)
    if np.any(ok):
        V = vec[:, ok] / np.linalg.norm(vec[:, ok], axis=0)
        out[ok] = np.linalg.norm(A.matmat(V) - V * lam[ok], axis=0)
    return out


def _operator_attrs(op) -> dict:
    attrs = getattr(op, "attrs", None)
    return {f"operator_{k}": v for k, v in attrs.items()} if isinstance(attrs, dict) else {}
