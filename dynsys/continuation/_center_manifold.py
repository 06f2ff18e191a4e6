"""The normal form of a Hopf point to fifth order: first and second Lyapunov coefficients from the
Taylor expansion of the centre manifold, with only evaluations of the vector field.

At an equilibrium ``x0`` with ``A = f_x(x0)``, ``A q = i omega q``, ``A^H p = -i omega p``,
``|q| = 1``, ``p^H q = 1``, the centre manifold is ``x = x0 + w(z, conj z)``, ``w = z q + conj(z q)
+ sum a_jk z^j conj(z)^k`` (``j + k >= 2``, ``a_kj = conj(a_jk)``, ``p^H a_(l+1,l) = 0``), and the
flow on it is the Poincare normal form ``z' = i omega z + c1 z |z|^2 + c2 z |z|^4 + O(|z|^7)``.
Invariance, ``f(x0 + w) = w_z z' + w_zbar conj(z')``, is solved order by order (``N = 2 .. 5``):

    (i omega (j - k) - A) a_jk = [f(x0 + w_<N)]_jk - [w_z z'_nl + w_zbar conj(z'_nl)]_jk - c_l q

where ``[.]_jk`` is the coefficient of ``z^j conj(z)^k`` and the last term is present for
``j - k = 1`` (``N = 2 l + 1``), ``c_l`` chosen so that the right side is orthogonal to ``p``.

The coefficients ``[f(x0 + w_<N)]_jk`` are measured, not derived: ``f`` is sampled on circles
``z = r e^(i theta)``; a discrete Fourier transform in ``theta`` separates the harmonics
``j - k``, and a least-squares polynomial fit in ``r`` separates the degrees ``j + k``. That
needs no derivative of ``f`` beyond the Jacobian, at the price of a truncation and rounding
trade-off in the circle radius: the computation is repeated on radii halved from large to
tiny, and the three successive radii that agree best give the value and an error estimate.

``l1 = Re(c1) / omega`` and ``l2 = Re(c2) / omega`` are the cubic and quintic coefficients of the
amplitude equation ``dr/dtau = (alpha/omega) r + l1 r^3 + l2 r^5`` in the rescaled time
``tau = omega t`` (Kuznetsov's convention for ``l1``; ``l2`` is invariant where ``l1 = 0``).

References
----------
Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed., Springer (2004), sections 3.5
and 8.3; Yu. A. Kuznetsov, Numerical normalization techniques for all codim 2 bifurcations of
equilibria in ODE's, SIAM J. Numer. Anal. 36 (1999) 1104-1124.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from ..errors import DynsysError

__all__ = ["HopfNormalForm", "hopf_normal_form"]

_ANGLES = 32  # samples per circle: harmonics up to 15 are separated without aliasing
_MAX_DEGREE = 15  # degrees in r fitted per harmonic
_RADII = 16  # circles per fit
_LARGEST = 6  # radii tried: R 2^6, R 2^5, ..., R 2^-20 with R = max(1, |x0|_inf)
_RADII_TRIED = 27


@dataclass(frozen=True)
class HopfNormalForm:
    """Normal-form coefficients of a Hopf point.

    ``c1``, ``c2``: cubic and quintic coefficients of ``z' = i omega z + c1 z|z|^2 + c2 z|z|^4``;
    ``l1 = Re(c1)/omega``, ``l2 = Re(c2)/omega``; ``l1_error``, ``l2_error``: the largest
    difference between three successive sampling radii, where they agree best (an error
    estimate); ``radius``: the sampling radius used (in units of ``|z|``). NaN when the
    computation failed.
    """

    c1: complex
    c2: complex
    l1: float
    l2: float
    l1_error: float
    l2_error: float
    radius: float


_FAILED = HopfNormalForm(*(complex("nan"),) * 2, *(float("nan"),) * 5)


def _eigenvectors(A: np.ndarray, omega: float) -> tuple[np.ndarray, np.ndarray]:
    """``q`` (``A q = i omega q``, ``|q| = 1``), ``p`` (``A^H p = -i omega p``, ``p^H q = 1``)."""
    values, left, right = sla.eig(A, left=True, right=True)
    i = int(np.argmin(np.abs(values - 1j * omega)))
    q = right[:, i] / np.linalg.norm(right[:, i])
    scale = np.vdot(left[:, i], q)
    return q, left[:, i] / np.conj(scale)


def _evaluate(coeffs: dict, z: np.ndarray) -> np.ndarray:
    """The real vector ``sum a_jk z^j conj(z)^k`` at the complex points ``z``; shape ``(*z, n)``."""
    zb = np.conj(z)
    total = sum(z[..., None] ** j * zb[..., None] ** k * a for (j, k), a in coeffs.items())
    return np.real(total)


def _reduced_terms(coeffs: dict, c: dict, order: int) -> dict:
    """Order ``order`` coefficients of ``w_z z'_nl + w_zbar conj(z'_nl)`` from the known terms of
    ``w`` of degree >= 2 and the known ``c_l`` (``z'_nl = sum c_l z^(l+1) conj(z)^l``)."""
    out: dict = {}
    for (j, k), a in coeffs.items():
        if j + k < 2:
            continue
        for l_, cl in c.items():
            if j + k + 2 * l_ != order:
                continue
            if j:  # j a_jk z^(j-1) zbar^k * c_l z^(l+1) zbar^l
                key = (j + l_, k + l_)
                out[key] = out.get(key, 0) + j * cl * a
            if k:  # k a_jk z^j zbar^(k-1) * conj(c_l) z^l zbar^(l+1)
                key = (j + l_, k + l_)
                out[key] = out.get(key, 0) + k * np.conj(cl) * a
    return out


def _circle_coefficients(field, x0, coeffs, radius: float, order: int) -> dict | None:
    """Taylor coefficients ``[f(x0 + w)]_jk`` with ``j + k = order``, ``j >= k``, by sampling on
    circles of radius up to ``radius``; None if ``f`` is not finite there."""
    rho = 0.5 * (1.0 + np.cos(np.pi * (np.arange(_RADII) + 0.5) / _RADII))  # in (0, 1)
    rho = 0.05 + 0.95 * rho
    theta = 2.0 * np.pi * np.arange(_ANGLES) / _ANGLES
    z = radius * rho[:, None] * np.exp(1j * theta)[None, :]
    values = np.asarray(field(x0 + _evaluate(coeffs, z)), dtype=float)  # (radii, angles, n)
    if not np.all(np.isfinite(values)):
        return None
    harmonics = np.fft.fft(values, axis=1) / _ANGLES
    out = {}
    for m in range(order % 2, order + 1, 2):
        degrees = np.arange(m, _MAX_DEGREE + 1, 2)
        basis = rho[:, None] ** degrees[None, :]
        fit = np.linalg.lstsq(basis, harmonics[:, m, :], rcond=None)[0]
        d = (order - m) // 2
        out[((order + m) // 2, (order - m) // 2)] = fit[d] / radius**order
    return out


def _expand(field, x0, A, omega, q, p, radius: float):
    """``(c1, c2)`` from samples on circles up to ``radius``, or None."""
    n = A.shape[0]
    eye = np.eye(n)
    border = np.block([[1j * omega * eye - A, q[:, None]], [np.conj(p)[None, :], np.zeros((1, 1))]])
    coeffs: dict = {(1, 0): q, (0, 1): np.conj(q)}
    c: dict = {}
    for order in range(2, 6):
        measured = _circle_coefficients(field, x0, coeffs, radius, order)
        if measured is None:
            return None
        known = _reduced_terms(coeffs, c, order)
        for (j, k), g in measured.items():
            rhs = g - known.get((j, k), 0)
            m = j - k
            if m == 1:
                l_ = k
                c[l_] = complex(np.vdot(p, rhs))
                if order == 5:  # c2 is all that is needed at fifth order
                    continue
                rhs = rhs - c[l_] * q
                a = np.linalg.solve(border, np.append(rhs, 0.0))[:n]
            else:
                a = np.linalg.solve(1j * omega * m * eye - A, rhs)
            coeffs[(j, k)] = a
            coeffs[(k, j)] = np.conj(a)
    return c[1], c[2]


def hopf_normal_form(
    field: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    A: np.ndarray,
    omega: float,
    *,
    scale: float | None = None,
) -> HopfNormalForm:
    """First and second Lyapunov coefficients of a Hopf point (dense ``A``).

    ``field`` is the batched vector field at the point's parameters (``(..., n) -> (..., n)``),
    ``x0`` the equilibrium, ``A`` its Jacobian with eigenvalues ``+-i omega``. The sampling
    radius runs from ``2^6 R`` down to ``2^-20 R`` (``R = scale``, default ``max(1, |x0|_inf)``);
    the value comes from the three successive radii that agree best, and the error estimate is
    their largest difference.

    Examples
    --------
    >>> import numpy as np
    >>> def bautin(s):  # z' = i z + b |z|^2 z - |z|^4 z with b = 0.3
    ...     z = s[..., 0] + 1j * s[..., 1]
    ...     dz = 1j * z + 0.3 * abs(z) ** 2 * z - abs(z) ** 4 * z
    ...     return np.stack([dz.real, dz.imag], -1)
    >>> nf = hopf_normal_form(bautin, np.zeros(2), np.array([[0.0, -1.0], [1.0, 0.0]]), 1.0)
    >>> round(nf.l1, 8), round(nf.l2, 8)  # 2 b and -4 for |q| = 1
    (0.6, -4.0)
    """
    A = np.asarray(A, dtype=float)
    x0 = np.asarray(x0, dtype=float)
    if not (np.isfinite(omega) and omega > 0):
        return _FAILED
    try:
        q, p = _eigenvectors(A, omega)
    except (np.linalg.LinAlgError, ValueError):
        return _FAILED
    reference = max(1.0, float(np.max(np.abs(x0)))) if scale is None else float(scale)
    results = []
    for k in range(_LARGEST, _LARGEST - _RADII_TRIED, -1):
        radius = reference * 2.0**k
        try:
            with np.errstate(all="ignore"):
                found = _expand(field, x0, A, omega, q, p, radius)
        except (np.linalg.LinAlgError, ArithmeticError, DynsysError):
            found = None
        if found is not None and not np.all(np.isfinite(found)):
            found = None
        results.append((radius, found))
    best = None  # three successive radii whose values agree best
    for (_, a), (r_b, b), (_, c) in zip(results, results[1:], results[2:], strict=False):
        if a is None or b is None or c is None:
            continue
        l2_err = max(abs(b[1].real - a[1].real), abs(c[1].real - b[1].real)) / omega
        l1_err = max(abs(b[0].real - a[0].real), abs(c[0].real - b[0].real)) / omega
        if best is None or l2_err < best[0]:
            best = (l2_err, l1_err, r_b, b)
    if best is None:
        return _FAILED
    l2_err, l1_err, r_b, (c1, c2) = best
    return HopfNormalForm(
        complex(c1), complex(c2), c1.real / omega, c2.real / omega, l1_err, l2_err, r_b
    )
