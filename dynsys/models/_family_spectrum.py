"""The full Hessian spectrum at a critical point of the one-odd-unit family ``Δ(S_{k-1} x S_1)``,
for real ``k``, from its isotypic decomposition (private; public face :mod:`.families`).

With ``n = k - 1``, the group ``S_n`` acts on ``k x k`` matrices through ``(V + 1) x (V + 1)``,
``V`` its permutation representation, whose irreducible parts are the trivial ``[n]``, the standard
``[n-1, 1]`` (dimension ``n - 1``), ``[n-2, 2]`` (``n (n - 3) / 2``) and ``[n-2, 1, 1]``
(``(n - 1)(n - 2) / 2``), with multiplicities 5, 5, 1 and 1 (``5 + 5 (n - 1) + n (n - 3) / 2 +
(n - 1)(n - 2) / 2 = k^2``). The Hessian commutes with the group, so it is block diagonal over
the isotypic components, one ``m x m`` block per irreducible (``m`` its multiplicity), each
eigenvalue repeated ``dim`` times. The blocks are found inside ``Fix(S_{n-2})`` (the family with
blocks ``(n - 2, 1, 1, 1)``), where every irreducible has a fixed vector per copy: the trivial
part is ``Fix(S_n)`` (the 5-dimensional family), ``Fix(S_{n-1})`` adds one standard vector per
copy, and the two vectors orthogonal to both copies of ``Fix(S_{n-1})`` (for the two units that
``S_{n-2}`` leaves alone) are ``[n-2, 2]`` (even under swapping those two units) and
``[n-2, 1, 1]`` (odd). All of it is written with the block sizes as real numbers, so the blocks,
and the index of the critical point in the whole space, are analytic in ``k``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["IRREPS", "irrep_dimensions", "isotypic_blocks", "lift_matrix"]

IRREPS = ("[n]", "[n-1,1]", "[n-2,2]", "[n-2,1,1]")


def irrep_dimensions(k):
    """Dimensions of the four irreducibles of ``S_{k-1}`` (real ``k`` allowed)."""
    n = k - 1.0
    return {
        "[n]": 1.0,
        "[n-1,1]": n - 1.0,
        "[n-2,2]": n * (n - 3.0) / 2.0,
        "[n-2,1,1]": (n - 1.0) * (n - 2.0) / 2.0,
    }


def _orbit_sizes(coords, sizes) -> np.ndarray:
    out = []
    for c in coords:
        if c[0] == "D":
            out.append(sizes[c[1]])
        elif c[0] == "O":
            out.append(sizes[c[1]] * (sizes[c[1]] - 1.0))
        else:
            out.append(sizes[c[1]] * sizes[c[2]])
    return np.array(out, dtype=float)


def lift_matrix(child, parent_coords, parent_of) -> np.ndarray:
    """The matrix of the inclusion of a coarser family (``parent_coords``) into a finer one
    (``child``), natural coordinates; ``parent_of[p]`` is the coarse block holding fine block
    ``p``."""
    index = {c: i for i, c in enumerate(parent_coords)}
    J = np.zeros((len(child), len(parent_coords)))
    for row, c in enumerate(child):
        if c[0] == "B" and parent_of[c[1]] == parent_of[c[2]]:
            key = ("O", parent_of[c[1]])
        elif c[0] == "B":
            key = ("B", parent_of[c[1]], parent_of[c[2]])
        else:
            key = (c[0], parent_of[c[1]])
        J[row, index[key]] = 1.0
    return J


def isotypic_blocks(hessian_fine, coords_fine, coords_coarse, coords_mid, k) -> dict:
    """The Hessian blocks per irreducible at a point of ``Fix(Δ(S_{k-1} x S_1))``.

    ``hessian_fine`` is the Hessian (natural coordinates) of the family with blocks ``(k-3, 1,
    1, 1)`` at the lifted point; ``coords_*`` are the coordinates of the families with tails
    ``(1, 1, 1)``, ``(1,)`` and ``(1, 1)``. Returns ``{irrep: symmetric block}`` in orthonormal
    coordinates (the Euclidean metric of ``W``).
    """
    sizes = [k - 3.0, 1.0, 1.0, 1.0]
    root = np.sqrt(_orbit_sizes(coords_fine, sizes))
    H = hessian_fine / np.outer(root, root)  # orthonormal coordinates u = sqrt(M) z
    trivial = root[:, None] * lift_matrix(coords_fine, coords_coarse, (0, 0, 0, 1))
    halves = [
        root[:, None] * lift_matrix(coords_fine, coords_mid, (0, 0, 1, 2)),
        root[:, None] * lift_matrix(coords_fine, coords_mid, (0, 1, 0, 2)),
    ]
    T = scipy.linalg.orth(trivial)
    P_T = np.eye(len(root)) - T @ T.T
    std = scipy.linalg.orth(P_T @ halves[0])  # one standard vector per copy
    both = scipy.linalg.orth(np.concatenate([trivial, *halves], axis=1))
    rest = scipy.linalg.null_space(both.T)  # two vectors: [n-2,2] and [n-2,1,1]
    swap = np.eye(len(root))[[_swap_index(coords_fine, c) for c in coords_fine]]
    S = rest.T @ swap @ rest  # the swap of the two singled-out units, on the rest
    parity, vectors = np.linalg.eigh(0.5 * (S + S.T))
    even, odd = rest @ vectors[:, parity > 0], rest @ vectors[:, parity < 0]
    return {
        "[n]": T.T @ H @ T,
        "[n-1,1]": std.T @ H @ std,
        "[n-2,2]": even.T @ H @ even,
        "[n-2,1,1]": odd.T @ H @ odd,
    }


def _swap_index(coords, c) -> int:
    """Index of the coordinate that ``c`` becomes when fine blocks 1 and 2 trade places."""
    flip = {1: 2, 2: 1}
    image = (c[0], *(flip.get(p, p) for p in c[1:]))
    return coords.index(image)
