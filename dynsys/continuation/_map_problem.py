"""Fixed points and cycles of a map ``x -> g(x; p)`` as a continuation problem.

Unknowns ``u = (x_0, ..., x_(k-1), p)``: all ``k`` points of the cycle and the parameter
(multiple shooting), with residuals ``g(x_i) - x_(i+1 mod k)``. Why not the single point ``x_0``
with ``g^k(x_0) - x_0``: the Jacobian of ``g^k`` is a product of ``k`` Jacobians, so for an
unstable cycle its entries grow like ``|mu|^k`` and the corrector's linear systems lose as
many digits, while every block of the multiple-shooting Jacobian is one ``Dg``; it is block
cyclic (stored dense here) and its determinant is ``det(I - M)`` up to sign, with
``M = Dg(x_(k-1)) ... Dg(x_0)``, so the engine's fold (LP) and branch-point (BP) tests keep
their meaning. A period-doubled cycle is again a problem of this kind with ``2k`` points.

Special points, each from a test function that changes sign exactly at its multiplier:

- LP (fold, multiplier +1): the parameter component of the tangent (as for equilibria);
- BP (branch point, multiplier +1): the sign of the determinant of the bordered Jacobian;
- PD (period doubling, multiplier -1): ``mu* + 1`` for the real multiplier ``mu*`` nearest -1,
  where the number of real multipliers below -1 changes (so a pair that collides on the
  negative axis and turns complex does not count);
- NS (Neimark-Sacker, a complex pair crossing the unit circle): ``|mu*| - 1`` for the complex
  multiplier nearest the circle, where the number of complex multipliers outside changes (real
  multipliers, whose product may pass 1, are ignored: a neutral saddle is not NS).

Each sign change is located by the engine (Illinois regula falsi in arclength).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.linalg as sla

from ..stability import classify_multipliers, sort_multipliers
from ._normal_forms import fold_coefficient, jacobian_derivatives
from ._options import ContinuationOptions

__all__ = ["MapCycleProblem", "flip_coefficient"]


class MapCycleProblem:
    """Cycles of period ``period`` (fixed points for 1) of a map, continued in ``param``."""

    kind = "map cycle"

    def __init__(
        self,
        map,
        param: str,
        params: Mapping[str, Any],
        options: ContinuationOptions,
        period: int = 1,
    ) -> None:
        self.map = map
        self.system = map
        self.param = param
        self.base = dict(params)
        self.options = options
        self.period = int(period)
        self.dim = map.n
        self.n = self.period * self.dim
        self.size = self.n + 1
        self.sparse = False
        self.bounds = [(self.n, options.p_min, options.p_max)]
        self._cache: tuple[bytes, np.ndarray, np.ndarray] | None = None

    def with_period(self, period: int) -> MapCycleProblem:
        """The same map and settings for cycles of another period."""
        return MapCycleProblem(self.map, self.param, self.base, self.options, period)

    # ------------------------------------------------------------------ evaluation
    def params_at(self, u: np.ndarray) -> dict[str, Any]:
        return {**self.base, self.param: float(u[self.n])}

    def points(self, u: np.ndarray) -> np.ndarray:
        """The cycle ``(period, n)`` held in ``u``."""
        return np.asarray(u[: self.n], dtype=float).reshape(self.period, self.dim)

    def residual(self, u: np.ndarray) -> np.ndarray:
        X = self.points(u)
        image = np.asarray(self.map.g(X, self.params_at(u)), dtype=float)
        return (image - np.roll(X, -1, axis=0)).ravel()

    def blocks(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Dg(x_i)`` ``(k, n, n)`` and ``dg/dp(x_i)`` ``(k, n)``, cached for the last ``u``."""
        key = u.tobytes()
        if self._cache is None or self._cache[0] != key:
            X, p = self.points(u), self.params_at(u)
            D = np.asarray(self.map.jac_dense(X, p), dtype=float).reshape(-1, self.dim, self.dim)
            dp = np.asarray(self.map.dgdp(X, self.param, p), dtype=float).reshape(-1, self.dim)
            self._cache = (key, D, dp)
        return self._cache[1], self._cache[2]

    def linearization(self, u: np.ndarray):
        """``(M, J)``: the Jacobian of the residual in ``u`` (block cyclic, then ``dg/dp``) and
        its state part."""
        D, dp = self.blocks(u)
        k, d = self.period, self.dim
        M = np.zeros((self.n, self.size))
        for i in range(k):
            rows = slice(i * d, (i + 1) * d)
            M[rows, i * d : (i + 1) * d] += D[i]
            nxt = (i + 1) % k
            M[rows, nxt * d : (nxt + 1) * d] -= np.eye(d)
        M[:, -1] = dp.ravel()
        return M, M[:, :-1]

    def jacobian(self, u: np.ndarray):
        return self.linearization(u)[0]

    def anchor(self, point) -> None:
        """Called before each step from ``point``; nothing to refresh here."""

    def monodromy(self, u: np.ndarray) -> np.ndarray:
        """``M = Dg(x_(k-1)) ... Dg(x_0)``, the Jacobian of ``g^k`` at ``x_0``."""
        D, _ = self.blocks(u)
        M = np.eye(self.dim)
        for block in D:
            M = block @ M
        return M

    def multipliers(self, u: np.ndarray) -> np.ndarray:
        """Eigenvalues of :meth:`monodromy`, sorted by modulus (descending)."""
        M = self.monodromy(u)
        if not np.all(np.isfinite(M)):
            return np.full(self.dim, np.nan + 0j)
        if self.period == 1 and self.map.has_potential:  # I - eta Hess V: symmetric
            return sort_multipliers(np.linalg.eigvalsh(0.5 * (M + M.T)))
        return sort_multipliers(np.linalg.eigvals(M))

    # ------------------------------------------------------------------ monitoring
    def monitor(self, u: np.ndarray, J) -> dict[str, Any]:
        """Multipliers, index, nullity, kind and the test functions of PD and NS."""
        tol = self.options.zero_tol
        mu = self.multipliers(u)
        index, nullity, kind = classify_multipliers(mu, zero_tol=tol)
        finite = mu[np.isfinite(mu)]
        real = finite[np.abs(finite.imag) <= tol].real
        pair = finite[np.abs(finite.imag) > tol]
        pd = float("nan")
        if real.size:
            pd = float(real[np.argmin(np.abs(real + 1.0))] + 1.0)
        ns = float("nan")
        if pair.size:
            modulus = np.abs(pair)
            ns = float(modulus[np.argmin(np.abs(modulus - 1.0))] - 1.0)
        return {
            "eig": mu,
            "index": int(index),
            "nullity": int(nullity),
            "kind": str(kind),
            "complete": True,
            "inertia": False,
            "raw_unstable": int(np.count_nonzero(np.abs(finite) > 1.0)),
            "pd": pd,
            "n_below": int(np.count_nonzero(real < -1.0)),
            "ns": ns,
            "n_pairs_out": int(np.count_nonzero(np.abs(pair) > 1.0)),
        }

    # ------------------------------------------------------------------ special points
    def detectors(self) -> list[dict[str, Any]]:
        """Test functions of LP, BP, PD and NS (see the module docstring)."""
        detect = self.options.detect
        out: list[dict[str, Any]] = []
        if "LP" in detect:
            out.append(
                {
                    "type": "LP",
                    "changed": lambda a, b: a.t[-1] * b.t[-1] < 0,
                    "value": lambda pt: pt.t[-1],
                }
            )
        if "BP" in detect:
            out.append(
                {"type": "BP", "changed": lambda a, b: a.det_sign * b.det_sign < 0, "value": "det"}
            )
        if "PD" in detect:
            out.append(
                {
                    "type": "PD",
                    "changed": lambda a, b: (
                        a.data["n_below"] != b.data["n_below"] and a.data["pd"] * b.data["pd"] < 0
                    ),
                    "value": lambda pt: pt.data["pd"],
                }
            )
        if "NS" in detect:
            out.append(
                {
                    "type": "NS",
                    "changed": lambda a, b: (
                        a.data["n_pairs_out"] != b.data["n_pairs_out"]
                        and a.data["ns"] * b.data["ns"] < 0
                    ),
                    "value": lambda pt: pt.data["ns"],
                }
            )
        return out

    def describe(self, kind: str, point) -> dict[str, float]:
        """Normal-form data of a located special point: the fold coefficient (LP), the flip
        coefficient (PD), the angle of the critical pair (NS)."""
        out = {"fold_a": np.nan, "flip_c": np.nan, "ns_angle": np.nan}
        u = point.u
        if kind == "LP":
            M, J = self.linearization(u)

            def jac(z):
                return self.linearization(np.append(z, u[-1]))[1]

            out["fold_a"] = fold_coefficient(J, jac, u[:-1], M[:, -1], point.t[:-1])
        elif kind == "PD":
            p = self.params_at(u)
            x0 = self.points(u)[0]
            out["flip_c"] = flip_coefficient(
                lambda z: self.map.jac_iterate(z, self.period, p)[1], x0
            )
        elif kind == "NS":
            mu = point.data["eig"]
            pair = mu[np.abs(mu.imag) > self.options.zero_tol]
            if pair.size:
                lam = pair[np.argmin(np.abs(np.abs(pair) - 1.0))]
                out["ns_angle"] = abs(float(np.angle(lam)))
        return out


def flip_coefficient(jac, x: np.ndarray) -> float:
    """Critical coefficient ``c`` of a period doubling (flip) of the map whose Jacobian is
    ``jac`` at its fixed point ``x`` (for a cycle: ``g^k`` at a point of it).

    With ``A q = -q``, ``A^T p = -p``, ``|q| = 1``, ``<p, q> = 1``::

        c = <p, C(q, q, q)> / 6 - <p, B(q, (A - I)^-1 B(q, q))> / 2

    On the centre manifold the map is ``eta -> -(1 + beta) eta + c eta^3``: for ``c > 0`` the
    doubled cycle exists where the cycle is unstable, and is stable along the centre manifold
    (supercritical); for ``c < 0`` it exists where the cycle is stable and is unstable
    (subcritical). NaN when ``A`` has no real multiplier near -1.

    References
    ----------
    Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed. (2004), section 5.4.
    """
    A = np.asarray(jac(x), dtype=float)
    values, left, right = sla.eig(A, left=True, right=True)
    i = int(np.argmin(np.abs(values + 1.0)))
    if abs(values[i] + 1.0) > 1e-3 or abs(values[i].imag) > 1e-12:
        return float("nan")
    q = np.real(right[:, i])
    q = q / np.linalg.norm(q)
    p = np.real(left[:, i])
    if abs(p @ q) == 0.0:
        return float("nan")
    p = p / (p @ q)
    D1, D2 = jacobian_derivatives(jac, x, q, second=True)
    Bqq = D1 @ q
    try:
        h = np.linalg.solve(A - np.eye(A.shape[0]), Bqq)
    except np.linalg.LinAlgError:
        return float("nan")
    return float(p @ (D2 @ q) / 6.0 - p @ (D1 @ h) / 2.0)
