"""Tian (2017), Fig. 10 and Conjecture 1: the sign of L12 and L21 for two ReLU units.

For unit weight directions ``e_1, ..., e_K`` and one teacher direction ``e*``, Tian's Eq. 14 defines
``L_jj'`` from the in-plane normal equations. Projecting the population gradient of unit ``j``
(Theorem 1) on ``e_j'`` gives the ``(j, j')`` equation ``sum_k m_jj',k |w_k| = sum_l m*_jj',l
|w*_l|`` with

    m_jj',k = (pi - theta_kj) cos theta_kj' + sin theta_kj cos theta_jj',
    m*_jj'  = (pi - theta*_j) cos theta*_j' + sin theta*_j cos theta_jj',

``theta_kj`` the angle of ``e_k`` and ``e_j`` and ``theta*_j`` that of ``e*`` and ``e_j``. The
diagonal equations read ``M_r |w| = M*_r |w*|`` with ``(M_r)_jk = h(theta_jk)``,
``h(t) = sin t + (pi - t) cos t``, and the column of ``M*_r`` for one teacher unit is
``v = [h(theta*_1), ..., h(theta*_K)]``. Solving the diagonal equations for ``|w|`` and putting the
result back into equation ``(j, j')`` leaves, per teacher unit, the bordered determinant

    L_jj' = det [[M_r, v], [m_jj'^T, m*_jj']] = det(M_r) (m*_jj' - m_jj'^T M_r^{-1} v).

``M_r`` is ``2 pi`` times the Gram matrix of the functions ``relu(e_j . x)``, positive definite for
distinct directions, so ``L_jj'`` has the sign of the Schur complement: the sign, all that
Conjecture 1 speaks of, does not depend on which of the two forms one calls ``L``. Proposition 1
follows from the determinant: if ``e* = e_l`` the last column repeats column ``l``; for ``j = j'``
the last row repeats row ``j``.

Conjecture 1 (``K = 2``, in the plane): ``L12 > 0`` if ``e*`` lies inside ``Cone(e_1, e_2)`` and
``L12 < 0`` outside (and the same for ``L21``). This example evaluates both on the paper's grid
(``theta12`` in ``[0, pi]``, ``e* = (cos phi, sin phi)`` with ``phi`` in ``[0, 2 pi)``; ``10^4 x
10^4`` points at the default size) and counts counterexamples: points whose sign is resolved in
double precision (``|L|`` above an estimate of the rounding error) and disagrees with
inside/outside the cone. Points within ``BAND`` radians of the zero set of ``L`` are excluded: the
edges ``e* = e_1`` and ``e* = e_2``, and the degenerate pairs ``theta12 = 0`` and ``theta12 = pi``
(``e_2 = +-e_1``), where ``L12`` vanishes identically.

Run ``python examples/tian_fig10_conjecture1.py [--out DIR] [--quick]``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 5.3, Section 7.2,
Fig. 10).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import xarray as xr
from _common import new_figure, run_cli, save_outputs
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from dynsys.io import provenance

BAND = 1e-3  # radians excluded around the zero set of L (edges of the cone, theta12 = 0 or pi)
_PI_LONG = np.longdouble("3.14159265358979323846264338327950288")
_ROWS_PER_CHUNK = 64


class Sizes(NamedTuple):
    """Grid sizes of the dense scan, of the stored sign map and of the slices."""

    n_theta: int
    n_phi: int
    map_theta: int
    map_phi: int
    slice_phi: int


DEFAULT = Sizes(n_theta=10_000, n_phi=10_000, map_theta=361, map_phi=721, slice_phi=1441)
QUICK = Sizes(n_theta=400, n_phi=800, map_theta=91, map_phi=181, slice_phi=361)
SLICE_ANGLES = (3 * np.pi / 8, 7 * np.pi / 8)  # the paper's Fig. 10 (a) and (b)


# ---------------------------------------------------------------------------- the function L
def relu_h(t):
    """Return ``h(t) = sin t + (pi - t) cos t`` (``2 pi`` times the ReLU kernel of unit vectors).

    Examples
    --------
    >>> [round(float(relu_h(t)), 12) for t in (0.0, np.pi / 2, np.pi)]
    [3.14159265359, 1.0, 0.0]
    """
    t = np.asarray(t, dtype=float)
    return np.sin(t) + (np.pi - t) * np.cos(t)


def _angles(U, V):
    """Angles between the rows of ``U (..., m, d)`` and ``V (..., n, d)``, shape ``(..., m, n)``."""
    Un = U / np.linalg.norm(U, axis=-1, keepdims=True)
    Vn = V / np.linalg.norm(V, axis=-1, keepdims=True)
    cos = np.clip(np.einsum("...id,...jd->...ij", Un, Vn), -1.0, 1.0)
    return np.arccos(cos)


def l_matrix(E, e_star) -> np.ndarray:
    """Return Tian's ``L_jj'`` for all pairs ``(j, j')`` as bordered determinants (Eq. 14).

    Parameters
    ----------
    E : array_like, shape ``(..., K, d)``
        Student weight directions as rows (nonzero; normalised here).
    e_star : array_like, shape ``(..., d)``
        One teacher direction (nonzero).

    Returns
    -------
    ndarray, shape ``(..., K, K)``
        ``L[..., j, j'] = det [[M_r, v], [m_jj'^T, m*_jj']]`` (see the module notes).

    Examples
    --------
    >>> E = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> L = l_matrix(E, np.array([1.0, 1.0]))  # e* on the bisector: inside the cone
    >>> bool(L[0, 1] > 0 and L[1, 0] > 0), bool(np.abs(np.diag(L)).max() < 1e-12)
    (True, True)
    """
    E = np.asarray(E, dtype=float)
    e_star = np.asarray(e_star, dtype=float)
    if E.ndim < 2 or e_star.shape[-1] != E.shape[-1]:
        raise ValueError(
            f"`E` must have shape (..., K, d) and `e_star` (..., d); got {E.shape} and "
            f"{e_star.shape}."
        )
    K = E.shape[-2]
    theta = _angles(E, E)  # theta[..., k, j]
    theta_star = _angles(e_star[..., None, :], E)[..., 0, :]  # theta*_j
    M_r = relu_h(theta)
    v = relu_h(theta_star)
    # m[..., j, j', k] = (pi - theta_kj) cos theta_kj' + sin theta_kj cos theta_jj'
    t_kj = np.swapaxes(theta, -1, -2)[..., :, None, :]  # indexed [j, ., k]
    t_kjp = np.swapaxes(theta, -1, -2)[..., None, :, :]  # indexed [., j', k]
    m = (np.pi - t_kj) * np.cos(t_kjp) + np.sin(t_kj) * np.cos(theta)[..., :, :, None]
    tj, tjp = theta_star[..., :, None], theta_star[..., None, :]
    m_star = (np.pi - tj) * np.cos(tjp) + np.sin(tj) * np.cos(theta)
    batch = np.broadcast_shapes(M_r.shape[:-2], v.shape[:-1])
    bordered = np.zeros((*batch, K, K, K + 1, K + 1))
    bordered[..., :K, :K] = np.broadcast_to(M_r, (*batch, K, K))[..., None, None, :, :]
    bordered[..., :K, K] = np.broadcast_to(v, (*batch, K))[..., None, None, :]
    bordered[..., K, :K] = m
    bordered[..., K, K] = m_star
    return np.linalg.det(bordered)


def _wrap(x, pi=np.pi):
    """Angle in ``[0, pi]`` between two directions at polar angles differing by ``x``."""
    return np.abs(np.remainder(x + pi, 2 * pi) - pi)


def plane_l(theta12, phi, *, dtype=float):
    """Return ``L12``, ``L21`` and a bound on their rounding errors for ``K = 2`` in the plane.

    ``e_1 = (1, 0)``, ``e_2 = (cos theta12, sin theta12)``, ``e* = (cos phi, sin phi)``. The 3 x 3
    determinant of :func:`l_matrix` is expanded along its last row:
    ``L = (pi^2 - H^2) m* + h(theta*_1) (H m_2 - pi m_1) - h(theta*_2) (pi m_2 - H m_1)``,
    ``H = h(theta12)``, ``(m_1, m_2)`` the row ``m_jj'``.

    Parameters
    ----------
    theta12, phi : array_like
        Angles (broadcast against each other); ``theta12`` in ``[0, pi]``.
    dtype : numpy float type
        Working precision, e.g. ``np.longdouble`` to resolve signs that double cannot.

    Returns
    -------
    (L12, L21, rounding) : tuple of ndarray
        ``rounding`` bounds (generously) the floating-point error of either value, including the
        cancellation in ``pi^2 - H^2`` and in the row terms: the sign is resolved where
        ``|L| > rounding``.

    Examples
    --------
    >>> L12, L21, err = plane_l(np.pi / 2, np.pi / 4)
    >>> bool(L12 > err and abs(L12 - L21) < err)  # bisector: inside, and symmetric
    True
    """
    pi = _PI_LONG.astype(dtype)
    t = np.asarray(theta12).astype(dtype)
    phi = np.asarray(phi).astype(dtype)
    eps = np.finfo(dtype).eps
    a = _wrap(phi, pi)  # theta*_1
    b = _wrap(phi - t, pi)  # theta*_2
    sin_t, cos_t = np.sin(t), np.cos(t)
    H = sin_t + (pi - t) * cos_t
    m_self = pi * cos_t  # m_{jj',k} for k = j
    m_other = pi - t + sin_t * cos_t  # m_{jj',k} for k = j'
    det_r = pi**2 - H**2
    alpha = H * m_other - pi * m_self
    beta = pi * m_other - H * m_self
    h_a = np.sin(a) + (pi - a) * np.cos(a)
    h_b = np.sin(b) + (pi - b) * np.cos(b)
    m12 = (pi - a) * np.cos(b) + np.sin(a) * cos_t
    m21 = (pi - b) * np.cos(a) + np.sin(b) * cos_t
    L12 = det_r * m12 + alpha * h_a - beta * h_b
    L21 = det_r * m21 - beta * h_a + alpha * h_b
    # entries carry absolute errors ~ eps * pi (h, m) and ~ eps * pi^2 (det_r, alpha, beta)
    size_m = np.maximum(np.abs(m12), np.abs(m21)) + np.abs(h_a) + np.abs(h_b)
    size_c = np.abs(det_r) + np.abs(alpha) + np.abs(beta)
    rounding = 16 * eps * (pi**2 * size_m + 2 * pi * size_c + size_c * size_m)
    return L12, L21, rounding


def cone_side(theta12, phi) -> np.ndarray:
    """Return +1 where ``e*`` is inside ``Cone(e_1, e_2)``, -1 outside, 0 on an edge.

    The angles are taken as the exact values of the floating-point numbers given. In particular
    ``theta12 = np.pi`` is a little less than pi, so its cone is a half plane (and ``L`` there is
    tiny but of the predicted sign); ``theta12 = 0`` leaves a cone without interior (-1 off the
    edge).

    Examples
    --------
    >>> cone_side(np.pi / 2, np.array([0.0, 0.3, np.pi / 2, 2.0])).tolist()
    [0, 1, 0, -1]
    """
    t = np.asarray(theta12, dtype=float)
    phi = np.remainder(np.asarray(phi, dtype=float), 2 * np.pi)
    inside = (phi > 0) & (phi < t)
    on_edge = (_wrap(phi) == 0) | (_wrap(phi - t) == 0)
    return np.where(on_edge, 0, np.where(inside, 1, -1))


def zero_set_distance(theta12, phi) -> np.ndarray:
    """Return the angular distance of ``(theta12, phi)`` from the zero set of ``L12`` and ``L21``:
    the edges ``e* = e_1``, ``e* = e_2`` and the lines ``theta12 = 0``, ``theta12 = pi``.

    Examples
    --------
    >>> float(zero_set_distance(np.pi / 2, 0.1).round(12))
    0.1
    """
    t = np.asarray(theta12, dtype=float)
    phi = np.asarray(phi, dtype=float)
    parts = np.broadcast_arrays(_wrap(phi), _wrap(phi - t), t, np.pi - t)
    return np.minimum.reduce(parts)


# ---------------------------------------------------------------------------- the scan
class ScanResult(NamedTuple):
    """Counts of the dense scan; arrays are per function (``L12``, ``L21``)."""

    n_points: int
    n_band: int
    n_extended: int  # points re-evaluated in extended precision
    n_unresolved: np.ndarray  # off the band, |L| <= rounding even in extended precision
    n_counterexamples: np.ndarray  # off the band, sign resolved and against the conjecture
    n_counterexamples_all: np.ndarray  # the same anywhere off the zero set
    min_margin: np.ndarray  # min of cone_side * L off the band
    counterexamples: list  # (function index, theta12, phi, L)


def _signs(t, phi, side):
    """``L12, L21`` and whether their signs are resolved, in double precision, then in
    extended precision where double cannot tell (off the zero set only)."""
    L12, L21, rounding = plane_l(t, phi)
    L = np.stack([L12, L21])
    resolved = np.abs(L) > rounding
    redo = np.any(~resolved, axis=0) & (side != 0)
    if np.any(redo):
        T, P = np.broadcast_arrays(t, phi)
        X12, X21, x_err = plane_l(T[redo], P[redo], dtype=np.longdouble)
        X = np.stack([X12, X21])
        L[:, redo] = X.astype(float)
        resolved[:, redo] = np.abs(X) > x_err
    return L, resolved, int(redo.sum())


def scan(n_theta: int, n_phi: int, *, band: float = BAND) -> ScanResult:
    """Count the counterexamples to Conjecture 1 on an ``n_theta x n_phi`` grid.

    ``theta12`` takes ``n_theta`` values in ``[0, pi]`` (ends included), ``phi`` takes ``n_phi``
    values in ``[0, 2 pi)``. Evaluated in chunks of rows, so memory stays small; signs that double
    precision cannot resolve are recomputed in extended precision (``np.longdouble``).

    Examples
    --------
    >>> res = scan(50, 100)
    >>> res.n_points, res.n_counterexamples.tolist()
    (5000, [0, 0])
    """
    thetas = np.linspace(0.0, np.pi, n_theta)
    phis = np.linspace(0.0, 2 * np.pi, n_phi, endpoint=False)[None, :]
    n_band = n_extended = 0
    unresolved = np.zeros(2, dtype=np.int64)
    wrong = np.zeros(2, dtype=np.int64)
    wrong_all = np.zeros(2, dtype=np.int64)
    margin = np.full(2, np.inf)
    found: list = []
    for start in range(0, n_theta, _ROWS_PER_CHUNK):
        t = thetas[start : start + _ROWS_PER_CHUNK, None]
        side = cone_side(t, phis)
        in_band = zero_set_distance(t, phis) < band
        L, resolved, redone = _signs(t, phis, side)
        n_band += int(in_band.sum())
        n_extended += redone
        for i in range(2):
            bad = resolved[i] & (side != 0) & (np.sign(L[i]) != side)
            wrong_all[i] += int(bad.sum())
            bad &= ~in_band
            wrong[i] += int(bad.sum())
            unresolved[i] += int((~resolved[i] & ~in_band).sum())
            if np.any(~in_band):
                margin[i] = min(margin[i], float((side * L[i])[~in_band].min()))
            for r, c in zip(*np.nonzero(bad), strict=True):
                found.append((i, float(t[r, 0]), float(phis[0, c]), float(L[i, r, c])))
    return ScanResult(
        n_theta * n_phi, n_band, n_extended, unresolved, wrong, wrong_all, margin, found
    )


# ---------------------------------------------------------------------------- dataset and figure
def build_dataset(sizes: Sizes, result: ScanResult, band: float) -> xr.Dataset:
    """Store the sign map on a coarse grid, two slices and the counts of the dense scan."""
    theta = np.linspace(0.0, np.pi, sizes.map_theta)
    phi = np.linspace(0.0, 2 * np.pi, sizes.map_phi, endpoint=False)
    L12, L21, rounding = plane_l(theta[:, None], phi[None, :])
    side = cone_side(theta[:, None], phi[None, :])
    phi_s = np.linspace(0.0, 2 * np.pi, sizes.slice_phi)
    S12, S21, _ = plane_l(np.array(SLICE_ANGLES)[:, None], phi_s[None, :])
    found = np.array(result.counterexamples, dtype=float).reshape(-1, 4)
    grid = ("theta12", "phi")
    rad = {"units": "rad"}
    data = {
        "L12": (grid, L12, {"long_name": "Tian's L12 (bordered determinant, Eq. 14)"}),
        "L21": (grid, L21, {"long_name": "Tian's L21 (bordered determinant, Eq. 14)"}),
        "rounding": (grid, rounding, {"long_name": "estimated rounding error of L"}),
        "cone_side": (
            grid,
            side.astype(np.int8),
            {"long_name": "e* inside (+1) / outside (-1) / on an edge of Cone(e1, e2) (0)"},
        ),
        "L12_slice": (("slice", "phi_slice"), S12, {"long_name": "L12 along phi"}),
        "L21_slice": (("slice", "phi_slice"), S21, {"long_name": "L21 along phi"}),
        "n_counterexamples": (
            "function",
            result.n_counterexamples,
            {"long_name": "points off the band with resolved sign against Conjecture 1"},
        ),
        "n_counterexamples_no_band": (
            "function",
            result.n_counterexamples_all,
            {"long_name": "points off the zero set with resolved sign against Conjecture 1"},
        ),
        "n_unresolved": (
            "function",
            result.n_unresolved,
            {"long_name": "points off the band whose sign even extended precision leaves open"},
        ),
        "min_margin": (
            "function",
            result.min_margin,
            {"long_name": "smallest cone_side * L off the band (positive: no counterexample)"},
        ),
        "counterexample_function": (
            "counterexample",
            found[:, 0].astype(np.int8),
            {"long_name": "function of the counterexample (0: L12, 1: L21)"},
        ),
        "counterexample_theta12": ("counterexample", found[:, 1], {"long_name": "theta12", **rad}),
        "counterexample_phi": ("counterexample", found[:, 2], {"long_name": "phi", **rad}),
        "counterexample_L": ("counterexample", found[:, 3], {"long_name": "value of L"}),
    }
    coords = {
        "theta12": ("theta12", theta, {"long_name": "angle between e1 and e2", **rad}),
        "phi": ("phi", phi, {"long_name": "polar angle of e* (e1 at 0)", **rad}),
        "slice_theta12": ("slice", np.array(SLICE_ANGLES), {"long_name": "theta12", **rad}),
        "phi_slice": ("phi_slice", phi_s, {"long_name": "polar angle of e*", **rad}),
        "function": ("function", ["L12", "L21"]),
    }
    attrs = provenance(
        None,
        experiment="Tian 2017 Fig. 10 / Conjecture 1",
        scan_n_theta12=sizes.n_theta,
        scan_n_phi=sizes.n_phi,
        scan_points=result.n_points,
        scan_points_in_band=result.n_band,
        scan_points_extended_precision=result.n_extended,
        band=band,
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)


def draw(ds: xr.Dataset) -> Figure:
    """Draw the two slices (panels a, b: the paper's Fig. 10 a, b) and the sign maps of L12 and
    L21 (panels c, d: the paper's Fig. 10 c, one map per function)."""
    fig = new_figure((12, 8))
    axes = fig.subplots(2, 2)
    phi_s = ds.phi_slice.values
    for ax, k in zip(axes[0], range(ds.sizes["slice"]), strict=True):
        t = float(ds.slice_theta12[k])
        ax.plot(phi_s, ds.L12_slice[k], label="L12")
        ax.plot(phi_s, ds.L21_slice[k], label="L21", linestyle="--")
        ax.axvspan(0.0, t, color="0.9", label="e* in Cone(e1, e2)")
        ax.axhline(0.0, color="k", linewidth=0.6)
        ax.set(
            xlabel="phi [rad]",
            ylabel="L",
            title=f"({'ab'[k]}) theta12 = {t / np.pi:.3f} pi",
            xlim=(0, 2 * np.pi),
        )
        ax.legend(fontsize="small")
    cmap = ListedColormap(["#d55e00", "#f4f4f4", "#0072b2"])  # Okabe-Ito vermillion, blue
    extent = (0.0, 2 * np.pi, 0.0, np.pi)
    for ax, name, letter in zip(axes[1], ("L12", "L21"), "cd", strict=True):
        L, err = ds[name].values, ds.rounding.values
        sign = np.where(np.abs(L) > err, np.sign(L), 0.0)
        ax.imshow(sign, origin="lower", extent=extent, aspect="auto", cmap=cmap, vmin=-1, vmax=1)
        ax.plot([0, np.pi], [0, np.pi], color="k", linewidth=0.8)
        i = int(np.flatnonzero(ds.function.values == name)[0])
        ax.set(
            xlabel="phi [rad]",
            ylabel="theta12 [rad]",
            title=(
                f"({letter}) sign of {name} (blue +, red -)\n{int(ds.n_counterexamples[i])} "
                f"counterexamples in {ds.attrs['scan_points']:.0e} points"
            ),
        )
    return fig


def summary(ds: xr.Dataset) -> str:
    """A short text report of the numbers found."""
    a = ds.attrs
    head = (
        f"Tian Conjecture 1 on a {a['scan_n_theta12']} x {a['scan_n_phi']} grid "
        f"(theta12 in [0, pi], phi in [0, 2 pi)): {a['scan_points']} points, "
        f"{a['scan_points_in_band']} within {a['band']:g} rad of the zero set excluded, "
        f"{a['scan_points_extended_precision']} re-evaluated in extended precision"
    )
    lines = [head]
    for i, name in enumerate(ds.function.values):
        lines.append(
            f"  {name}: {int(ds.n_counterexamples[i])} counterexamples off the band "
            f"({int(ds.n_counterexamples_no_band[i])} anywhere off the zero set), "
            f"{int(ds.n_unresolved[i])} unresolved signs off the band, "
            f"min side*L off the band {float(ds.min_margin[i]):.3e}"
        )
    lines.append(f"  ({a['seconds']:.1f} s)")
    return "\n".join(lines)


def main(
    out_dir: str | Path = "out/tian_fig10_conjecture1", *, quick: bool = False
) -> dict[str, Path]:
    """Scan the sign of L12 and L21, save the data and figure, print a summary.

    Parameters
    ----------
    out_dir : str or Path
        Directory for ``tian_fig10.nc`` and ``tian_fig10.png`` (created if needed).
    quick : bool
        Small grids (a second).

    Returns
    -------
    dict of Path
        ``data`` and ``figure``.
    """
    sizes = QUICK if quick else DEFAULT
    start = time.perf_counter()
    result = scan(sizes.n_theta, sizes.n_phi, band=BAND)
    ds = build_dataset(sizes, result, BAND)
    ds.attrs["seconds"] = time.perf_counter() - start
    ds.attrs["quick"] = int(quick)
    paths = save_outputs(
        out_dir, {"data": ("tian_fig10.nc", ds)}, {"figure": ("tian_fig10.png", draw(ds))}, dpi=100
    )
    print(summary(ds))
    return paths


if __name__ == "__main__":
    run_cli(main, "out/tian_fig10_conjecture1", __doc__, quick_help="small grids (a second)")
