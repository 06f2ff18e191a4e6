"""Continuous symmetries (circle actions ``exp(t A)``) next to the finite groups of signed
permutations: the O(2) action on ``C = R^2`` through a finite stand-in, and the test whether two
kernel directions lie on one orbit of the circle (so that their axial subgroups are conjugate in
the group the circle generates together with the finite one).

The finite groups of this package are enumerated element by element; O(2) is not finite. On a
representation where O(2) acts by ``z -> e^{i t} z`` and ``z -> conj z``, its finite subgroup
``D_4`` (rotation by ``pi/2``, ``(x, y) -> (-y, x)``, and the reflection ``(x, y) -> (x, -y)``:
signed permutations) has the same kinds of isotropy subgroups: the reflections, whose fixed lines
are the branches of the equivariant branching lemma. ``D_4`` has two conjugacy classes of them
(the axes and the diagonals); in O(2) they are conjugate (a rotation by ``pi/4`` maps one line
to the other), so passing the rotation generator merges them into O(2)'s single class
``Z_2 = <z -> conj z>``, whose branch is a circle of equilibria (the group orbit of one point).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.optimize

from ..errors import InputError
from ._explicit import ExplicitGroup

__all__ = ["O2Action", "check_rotations", "o2_action", "rotation_related"]

_GRID = 2048
_REL_TOL = 1e-8


class O2Action(NamedTuple):
    """O(2) acting on planes of the state space, as a finite stand-in plus its rotation.

    Attributes
    ----------
    group : ExplicitGroup
        ``D_4``: the rotation by ``pi/2`` in every plane at once and the reflection that flips
        the second coordinate of every plane (``z -> conj z``).
    rotation : numpy.ndarray
        The generator ``A`` (``n x n``, skew) of the rotations ``exp(t A)``, ``t`` in
        ``[0, 2 pi)``: pass it as ``rotations=[rotation]`` to
        :func:`dynsys.symmetry.equivariant_branches` or :func:`axial_subgroups`.
    """

    group: ExplicitGroup
    rotation: np.ndarray


def o2_action(n: int = 2, planes: Sequence[tuple[int, int]] = ((0, 1),)) -> O2Action:
    """O(2) acting by ``z_k -> e^{i t} z_k`` and ``z_k -> conj z_k`` on complex coordinates
    ``z_k = x[i_k] + i x[j_k]`` (the other coordinates fixed), as ``D_4`` plus its rotation.

    Parameters
    ----------
    n : int
        State dimension.
    planes : sequence of (int, int)
        Disjoint coordinate pairs ``(i, j)``: real and imaginary parts of each ``z_k``.

    Returns
    -------
    O2Action

    Raises
    ------
    dynsys.errors.InputError
        If the planes are not disjoint pairs of coordinates in ``0..n-1``.

    Examples
    --------
    >>> o2 = o2_action()
    >>> o2.group.order, o2.rotation.tolist()
    (8, [[0.0, -1.0], [1.0, 0.0]])
    """
    used = [int(i) for pair in planes for i in pair]
    if (
        any(len(pair) != 2 for pair in planes)
        or len(set(used)) != len(used)
        or any(i < 0 or i >= n for i in used)
        or not used
    ):
        raise InputError(
            f"`planes` must be disjoint pairs (i, j) of coordinates in 0..{n - 1}; got {planes}."
        )
    rot, flip = np.arange(n), np.arange(n)
    A = np.zeros((n, n))
    for i, j in planes:
        rot[i], rot[j] = ~j, i  # (x_i, x_j) -> (-x_j, x_i): multiplication by i
        flip[j] = ~j
        A[i, j], A[j, i] = -1.0, 1.0
    return O2Action(ExplicitGroup(np.stack([rot, flip])), A)


def check_rotations(rotations, n: int) -> list[np.ndarray]:
    """Validate circle generators: ``(n, n)``, skew-symmetric, ``exp(2 pi A) = I``."""
    if rotations is None:
        return []
    mats = [np.asarray(A, dtype=float) for A in rotations]
    for A in mats:
        if A.shape != (n, n) or not np.all(np.isfinite(A)):
            raise InputError(f"each rotation generator must be a finite ({n}, {n}) matrix.")
        if np.abs(A + A.T).max() > 1e-12:
            raise InputError("a rotation generator must be skew-symmetric (A^T = -A).")
        if np.abs(scipy.linalg.expm(2.0 * np.pi * A) - np.eye(n)).max() > 1e-8:
            raise InputError(
                "a rotation generator must generate a circle: exp(2 pi A) = I (integer "
                "frequencies); rescale it."
            )
    return mats


def rotation_related(A: np.ndarray, u, v, *, tol: float = _REL_TOL) -> bool:
    """Whether the unit vectors ``u`` and ``+-v`` lie on one orbit of ``t -> exp(t A)``.

    ``A`` is restricted to an invariant subspace in practice (the kernel), so small; the orbit
    is sampled on a grid of ``t`` in ``[0, 2 pi)`` and the best sample refined.

    Examples
    --------
    >>> A = np.array([[0.0, -1.0], [1.0, 0.0]])
    >>> rotation_related(A, [1.0, 0.0], np.array([1.0, 1.0]) / np.sqrt(2))
    True
    """
    A = np.asarray(A, dtype=float)
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    T, Z = scipy.linalg.schur(A.astype(complex), output="complex")  # A normal: T diagonal
    w, V = np.diag(T), Z
    cu = Z.conj().T @ u

    def dist(t):
        image = (V @ (np.exp(np.multiply.outer(t, w)) * cu).T).real.T
        return np.minimum(np.linalg.norm(image - v, axis=-1), np.linalg.norm(image + v, axis=-1))

    ts = np.linspace(0.0, 2.0 * np.pi, _GRID, endpoint=False)
    d = dist(ts)
    k = int(np.argmin(d))
    if d[k] <= tol:
        return True
    h = ts[1] - ts[0]
    res = scipy.optimize.minimize_scalar(
        lambda t: float(dist(np.array([t]))[0]),
        bounds=(ts[k] - h, ts[k] + h),
        method="bounded",
        options={"xatol": 1e-13},
    )
    return bool(res.fun <= tol)
