"""Families of critical points of the teacher-student ReLU network in the width ``k`` as a real
parameter: the loss restricted to the fixed-point subspace of a diagonal Young subgroup.

Teacher ``W* = I_k`` (``k`` orthonormal units, ``d = k``), student ``k`` units, all second-layer
weights one, input ``N(0, I_k)``. Split the units and inputs into consecutive blocks of sizes
``n_1 = k - sum(tail)`` and ``tail = (n_2, ..., n_r)``. The fixed-point subspace of the
diagonal Young subgroup ``H = Δ(S_{n_1} x ... x S_{n_r})`` (the same permutation of units and
inputs, preserving the blocks) holds the matrices

    ``W[i, i] = D_p``, ``W[i, j] = O_p`` (``i != j`` both in block ``p``), ``W[i, j] = B_pq``
    (``i`` in block ``p``, ``j`` in block ``q != p``),

``r^2 + r`` numbers (less one ``O_p`` per block of size 1). ``tail = ()`` is Tian's Theorem 7
plane (``D = x``, ``O = y``); ``tail = (1,)`` is the family of one "odd" unit,
``Δ(S_{k-1} x S_1)``, the isotropy of the spurious minima of Safran and Shamir (2018) (Arjevani
and Field): 5 numbers ``D1, O1, B12, B21, D2`` = ``W_ii, W_ij (i != j < k), W_ik (i < k), W_ki
(i < k), W_kk``.

The loss depends on ``W`` only through the norms of, and angles between, the student units and
the teacher units; on ``Fix(H)`` every unit of block ``p`` is a copy of one vector up to a
permutation, and there are only a few kinds of pairs (two units of one block, units of two
blocks, a unit and its own teacher direction, another direction of its block, a direction of
another block), each kind counted ``n_p (n_p - 1)``, ``n_p n_q``, ``n_p``, ... times. Every
inner product is a quadratic form in the coordinates whose coefficients are polynomials in the
block sizes (e.g. ``|w|^2 = D_p^2 + (n_p - 1) O_p^2 + sum_q n_q B_pq^2``), and the kernel
``E[relu(u.x) relu(v.x)] = (sqrt(|u|^2 |v|^2 - (u.v)^2) + (pi - theta) u.v) / (2 pi)`` is an
analytic function of those. So the restricted loss is analytic in ``k`` (where ``k - sum(tail)
>= 2`` the weights of every quadratic form are non-negative and the formulas are a genuine
weighted Gram geometry, so Cauchy-Schwarz holds), and its critical points can be followed in
real ``k`` by continuation. At integer ``k`` it is the network's loss on ``Fix(H)`` exactly.

The system is the gradient flow of this loss in the coordinates above (``z' = -grad_z L``: the
Euclidean metric of the block values, not that of ``W``). Its equilibria are the critical
points of ``L`` on ``Fix(H)``, which are critical points of the whole network (principle of
symmetric criticality); its Hessian is ``E^T Hess_W L E`` with ``E`` the orbit-indicator basis
(:func:`dynsys.symmetry.fixed_subspace_embedding` with ``orthonormal=False``), so its Morse
index is the index of the critical point inside ``Fix(H)``. The gradient is analytic (chain
rule through the Gram entries: ``dk/d|u|^2 = |v| sin(theta) / (4 pi |u|)``, ``dk/d(u.v) =
(pi - theta) / (2 pi)``); the Hessian and ``d/dk`` are complex-step derivatives of it, exact to
rounding, except where two units (or a unit and a teacher direction) are parallel, such as at
the teacher itself: there the loss is twice but not three times differentiable, the complex
step meets ``0 / 0``, and the Hessian is taken by central differences of the gradient instead
(accurate to about ``1e-7``).

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Theorem 7).
I. Safran and O. Shamir, Spurious local minima are common in two-layer ReLU neural networks,
ICML 2018.
Y. Arjevani and M. Field, On the principle of least symmetry breaking in shallow ReLU models,
2019.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..symmetry import LinearEmbedding, UnitInputSymmetry, young_subgroup
from ..system import GradientSystem, model
from ._family_spectrum import irrep_dimensions, isotypic_blocks, lift_matrix

__all__ = [
    "odd_unit_spectrum",
    "young_family",
    "young_family_coordinates",
    "young_family_embedding",
]

_TWO_PI = 2.0 * np.pi
_STEP = 1e-30  # complex step
_FD_STEP = 1e-7  # central differences where the complex step meets two parallel units


def _tail(tail) -> tuple[int, ...]:
    out = tuple(int(m) for m in tail)
    if any(m < 1 for m in out) or any(m != float(t) for m, t in zip(out, tail, strict=True)):
        raise InputError(f"`tail` must hold positive integer block sizes; got {tail!r}.")
    return out


def young_family_coordinates(tail: Sequence[int] = (1,)) -> list[tuple]:
    """The coordinates of the family, in the order of the orbits' first entry of ``W``.

    Each is ``("D", p)``, ``("O", p)`` or ``("B", p, q)`` with 0-based blocks; block 0 has the
    real size ``k - sum(tail)`` (always an ``O``), tail blocks of size 1 have no ``O``.

    Examples
    --------
    >>> young_family_coordinates((1,))
    [('D', 0), ('O', 0), ('B', 0, 1), ('B', 1, 0), ('D', 1)]
    """
    sizes = (None, *_tail(tail))
    out: list[tuple] = []
    for p in range(len(sizes)):
        for q in range(len(sizes)):
            if q == p:
                out.append(("D", p))
                if p == 0 or sizes[p] >= 2:
                    out.append(("O", p))
            else:
                out.append(("B", p, q))
    return out


def _name(c: tuple) -> str:
    return f"{c[0]}{''.join(str(i + 1) for i in c[1:])}"


def young_family_embedding(k: int, tail: Sequence[int] = (1,)) -> LinearEmbedding:
    """The subspace ``Fix(Δ(S_{k - sum(tail)} x S_tail))`` of the full ``k``-unit state (``W``
    flattened, ``d = k``) in the family's coordinates: the columns are the orbit indicators, so
    ``lift(z)`` is the matrix ``W`` whose entries are the coordinates ``z``.

    Examples
    --------
    >>> young_family_embedding(3, (1,)).lift([1.0, 0.1, 0.2, 0.3, 0.4]).reshape(3, 3).tolist()
    [[1.0, 0.1, 0.2], [0.1, 1.0, 0.2], [0.3, 0.3, 0.4]]
    """
    tail = _tail(tail)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k - sum(tail) < 2:
        raise InputError(
            f"`k` must be an integer with k - sum(tail) >= 2 to build the full state; got {k!r}."
        )
    H = young_subgroup(UnitInputSymmetry(int(k), int(k)), (int(k) - sum(tail), *tail))
    return H.fixed_subspace(orthonormal=False)


class _Geometry:
    """Gram entries of the family as (value, gradient) pairs at states ``z (..., m)`` (real or
    complex) and block sizes ``n`` (block 0 real)."""

    def __init__(self, z, sizes, coords) -> None:
        self.z = z
        self.n = sizes
        self.m = z.shape[-1]
        self.index = {c: i for i, c in enumerate(coords)}

    def var(self, *key):
        """(value, gradient) of one coordinate, zero when absent (``O`` of a block of size 1)."""
        i = self.index.get(key)
        grad = np.zeros((*self.z.shape[:-1], self.m), dtype=self.z.dtype)
        if i is None:
            return np.zeros(self.z.shape[:-1], dtype=self.z.dtype), grad
        grad[..., i] = 1.0
        return self.z[..., i], grad


def _mul(a, b):
    return a[0] * b[0], a[0][..., None] * b[1] + b[0][..., None] * a[1]


def _add(*terms):
    """Sum of ``(coefficient, (value, grad))`` terms."""
    value = sum(c * t[0] for c, t in terms)
    grad = sum(np.asarray(c)[..., None] * t[1] for c, t in terms)
    return value, grad


def _sqrt_nonneg(x):
    if np.iscomplexobj(x):
        return np.sqrt(x)
    scale = np.abs(x).max(initial=0.0) if np.ndim(x) else abs(float(x))
    return np.sqrt(
        np.where(x >= -256 * np.finfo(float).eps * max(scale, 1e-300), np.maximum(x, 0), np.nan)
    )


def _angle(s, p):
    if np.iscomplexobj(s) or np.iscomplexobj(p):
        # complex step: s = 0 (parallel units) gives NaN here, where the Hessian falls back to
        # central differences of the gradient
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.pi / 2 - np.arctan(p / s)
    return np.arctan2(s, p)


def _kernel(u2, v2, uv):
    """Kernel ``E[relu(u.x) relu(v.x)]`` from Gram entries ``(value, grad)``; returns ``(value,
    grad)`` by the chain rule."""
    s = _sqrt_nonneg(u2[0] * v2[0] - uv[0] * uv[0])
    theta = _angle(s, uv[0])
    value = (s + (np.pi - theta) * uv[0]) / _TWO_PI
    grad = (
        (s / (2.0 * _TWO_PI * u2[0]))[..., None] * u2[1]
        + (s / (2.0 * _TWO_PI * v2[0]))[..., None] * v2[1]
        + ((np.pi - theta) / _TWO_PI)[..., None] * uv[1]
    )
    return value, grad


def _loss_and_gradient(z, k, tail, coords):
    """The restricted loss and its gradient at ``z (..., m)`` for width ``k`` (real or complex,
    broadcast)."""
    sizes = [k - sum(tail), *tail]
    r = len(sizes)
    g = _Geometry(z, sizes, coords)
    D = [g.var("D", p) for p in range(r)]
    off = [g.var("O", p) for p in range(r)]
    B = {(p, q): g.var("B", p, q) for p in range(r) for q in range(r) if p != q}
    one = (np.ones(z.shape[:-1]), np.zeros(z.shape))
    n = sizes
    norm2, same = [], []
    for p in range(r):
        others = [(n[q], _mul(B[p, q], B[p, q])) for q in range(r) if q != p]
        norm2.append(_add((1.0, _mul(D[p], D[p])), (n[p] - 1.0, _mul(off[p], off[p])), *others))
        same.append(_add((2.0, _mul(D[p], off[p])), (n[p] - 2.0, _mul(off[p], off[p])), *others))
    total_value = 0.0
    total_grad = 0.0

    def acc(weight, term):
        nonlocal total_value, total_grad
        total_value = total_value + weight * term[0]
        total_grad = total_grad + np.asarray(weight)[..., None] * term[1]

    for p in range(r):
        acc(n[p] / 2.0, norm2[p])  # kernel of a unit with itself: |w|^2 / 2
        acc(n[p] * (n[p] - 1.0), _kernel(norm2[p], norm2[p], same[p]))
        for q in range(r):
            if q == p:
                continue
            cross = _add(
                (1.0, _mul(B[q, p], _add((1.0, D[p]), (n[p] - 1.0, off[p])))),
                (1.0, _mul(B[p, q], _add((1.0, D[q]), (n[q] - 1.0, off[q])))),
                *[(n[s], _mul(B[p, s], B[q, s])) for s in range(r) if s not in (p, q)],
            )
            acc(n[p] * n[q], _kernel(norm2[p], norm2[q], cross))
        acc(-2.0 * n[p], _kernel(norm2[p], one, D[p]))
        acc(-2.0 * n[p] * (n[p] - 1.0), _kernel(norm2[p], one, off[p]))
        for q in range(r):
            if q != p:
                acc(-2.0 * n[p] * n[q], _kernel(norm2[p], one, B[p, q]))
    teacher = k / 2.0 + k * (k - 1.0) / _TWO_PI
    return 0.5 * (total_value + teacher), 0.5 * total_grad


def _split(x, p):
    return np.asarray(x), np.asarray(p["k"], dtype=float)


@model
def young_family(k: float = 6.0, tail: Sequence[int] = (1,)) -> GradientSystem:
    """The teacher-student network of width ``k`` (real) on ``Fix(Δ(S_{k - sum(tail)} x
    S_tail))``: the gradient flow of the restricted loss (see the module docstring).

    Parameters
    ----------
    k : float
        The width ``k = K = K* = d``, a real number with ``k - sum(tail) > 1`` (a real
        geometry for ``k - sum(tail) >= 2``; below, the formulas may leave the real domain and
        give NaN).
    tail : sequence of int
        Sizes of the blocks after the first; ``(1,)`` (default) is the one-odd-unit family
        ``Δ(S_{k-1} x S_1)``, ``()`` Tian's Theorem 7 plane.

    Returns
    -------
    GradientSystem
        States named after :func:`young_family_coordinates` (``D1, O1, B12, B21, D2`` for
        ``tail=(1,)``: ``W_ii``, ``W_ij`` for ``i != j < k``, ``W_ik``, ``W_ki``, ``W_kk``),
        parameter ``k``; potential the loss, analytic gradient, complex-step Hessian and
        ``d/dk``. NaN where a unit is zero or, for ``k - sum(tail) < 2``, outside the real
        domain.

    Raises
    ------
    dynsys.errors.InputError
        If ``tail`` is not a tuple of positive integers or ``k - sum(tail) <= 1``.

    Examples
    --------
    >>> system = young_family(k=5.0)
    >>> system.state_names
    ('D1', 'O1', 'B12', 'B21', 'D2')
    >>> teacher = [1.0, 0.0, 0.0, 0.0, 1.0]
    >>> float(abs(system.potential(teacher))) < 1e-14, float(abs(system.f(teacher)).max()) < 1e-14
    (True, True)
    """
    tail = _tail(tail)
    k = float(k)
    if not np.isfinite(k) or k - sum(tail) <= 1.0:
        raise InputError(
            f"`k` must be finite with k - sum(tail) > 1 (got k = {k!r}, tail = {tail}); the "
            "first block needs more than one unit."
        )
    coords = young_family_coordinates(tail)
    m = len(coords)

    def V(x, p):
        z, kk = _split(x, p)
        return _loss_and_gradient(z.astype(float), kk, tail, coords)[0]

    def grad(x, p):
        z, kk = _split(x, p)
        return _loss_and_gradient(z.astype(float), kk, tail, coords)[1]

    def hess(x, p):
        z, kk = _split(x, p)
        z = z.astype(float)
        zc = z[..., None, :] + 1j * _STEP * np.eye(m)  # (..., m, m): row j perturbs coordinate j
        with np.errstate(divide="ignore", invalid="ignore"):
            g = _loss_and_gradient(zc, kk[..., None] if kk.ndim else kk, tail, coords)[1]
        h = g.imag / _STEP
        bad = ~np.all(np.isfinite(h), axis=(-1, -2))
        if np.any(bad):  # two parallel units (theta = 0): central differences of the gradient
            zb = z[bad] if z.ndim > 1 else z
            kb = kk[bad] if kk.ndim else kk
            step = _FD_STEP * np.maximum(1.0, np.abs(zb).max(axis=-1))[..., None, None]
            plus = _loss_and_gradient(zb[..., None, :] + step * np.eye(m), kb, tail, coords)[1]
            minus = _loss_and_gradient(zb[..., None, :] - step * np.eye(m), kb, tail, coords)[1]
            fd = (plus - minus) / (2.0 * step)
            if z.ndim > 1:
                h[bad] = fd
            else:
                h = fd
        return 0.5 * (h + np.swapaxes(h, -1, -2))

    def dfdp(x, p, name):
        z, kk = _split(x, p)
        g = _loss_and_gradient(z.astype(complex), kk + 1j * _STEP, tail, coords)[1]
        return -g.imag / _STEP

    probe = np.linspace(0.9, -0.3, m) + 0.05 * np.arange(m) ** 2
    return GradientSystem(
        V,
        [_name(c) for c in coords],
        {"k": k},
        grad=grad,
        hess=hess,
        dfdp=dfdp,
        name=f"young_family{tail}",
        probe=probe,
    )


def odd_unit_spectrum(z, k: float) -> dict:
    """The Hessian of the whole ``k``-unit network at a point of the one-odd-unit family, by
    irreducible representation of ``S_{k-1}``, for real ``k > 4``.

    Parameters
    ----------
    z : array_like, shape (5,)
        A point of :func:`young_family` with ``tail=(1,)`` (``D1, O1, B12, B21, D2``), usually a
        critical point.
    k : float
        The width.

    Returns
    -------
    dict
        ``"blocks"``: ``{irrep: eigenvalues}`` for the irreducibles ``[n]``, ``[n-1,1]``,
        ``[n-2,2]``, ``[n-2,1,1]`` of ``S_n``, ``n = k - 1`` (5, 5, 1, 1 eigenvalues: the
        Hessian's eigenvalues in the Euclidean metric of ``W``); ``"dimensions"``: how often
        each eigenvalue of a block repeats in the whole Hessian (``1``, ``n - 1``,
        ``n (n - 3) / 2``, ``(n - 1)(n - 2) / 2``, real for real ``k``); ``"index"``: the number
        of negative eigenvalues of the whole Hessian counted with those multiplicities (the
        Morse index at a critical point; a real number between integers), and
        ``"index_in_subspace"`` (the ``[n]`` block alone). At integer ``k`` the eigenvalues
        with their multiplicities are the ``k^2`` eigenvalues of the network's Hessian.

    Examples
    --------
    >>> out = odd_unit_spectrum([1.0, 0.0, 0.0, 0.0, 1.0], 6.0)  # the teacher: a minimum
    >>> out["index"], sorted(out["blocks"])
    (0.0, ['[n-1,1]', '[n-2,1,1]', '[n-2,2]', '[n]'])
    """
    k = float(k)
    if not k > 4.0:
        raise InputError(f"`k` must be > 4 (the finest family has blocks (k-3, 1, 1, 1)); got {k}.")
    coarse, mid, fine = (young_family_coordinates(t) for t in ((1,), (1, 1), (1, 1, 1)))
    z = np.asarray(z, dtype=float)
    lift = lift_matrix(fine, coarse, (0, 0, 0, 1))
    system = young_family(k=k, tail=(1, 1, 1))
    H = -np.asarray(system.jac_dense(lift @ z))
    blocks = isotypic_blocks(H, fine, coarse, mid, k)
    eig = {name: np.linalg.eigvalsh(b) for name, b in blocks.items()}
    dims = irrep_dimensions(k)
    index = sum(dims[name] * float(np.count_nonzero(e < 0)) for name, e in eig.items())
    return {
        "blocks": eig,
        "dimensions": dims,
        "index": index,
        "index_in_subspace": int(np.count_nonzero(eig["[n]"] < 0)),
    }
