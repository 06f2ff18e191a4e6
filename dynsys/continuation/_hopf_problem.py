"""The Hopf curve as a problem for the continuation engine: the minimally augmented system
``f(x; p1, p2) = 0``, ``g(x, p1, p2, kappa) = 0`` in the unknowns ``u = (x, p1, kappa, p2)``.

``M = J^2 + kappa I`` has eigenvalues ``lambda^2 + kappa``; at a Hopf point (eigenvalues
``+-i omega``, ``kappa = omega^2``) zero is a double eigenvalue of ``M`` with a two-dimensional
null space ``span(Re q, Im q)``. Bordered with two columns ``B`` and two rows ``C^T`` (the
previous point's left and right null spaces),

    [M  B] [V]   [0]
    [C^T 0] [G] = [I2],

``G`` (2 x 2) vanishes exactly where ``M`` has rank ``n - 2``; two of its four entries, chosen
where they are best conditioned, close the system (``n + 2`` equations, ``n + 3`` unknowns). The
derivatives are ``G_z = -W^T M_z V`` with ``W`` from the transposed system. The same equations
hold on the neutral-saddle part of the curve (real eigenvalues ``+-sqrt(-kappa)``, ``kappa < 0``),
and the system stays regular through the Bogdanov-Takens point where ``kappa`` changes sign.

Codimension-two points: Bogdanov-Takens (BT, ``kappa = 0``), generalised Hopf (GH, the first
Lyapunov coefficient ``l1 = 0``; the second, ``l2``, from the centre manifold), zero-Hopf (ZH, an
eigenvalue other than the Hopf pair crosses zero: ``det J / kappa``, the product of the other
eigenvalues, changes sign), double Hopf (HH, another complex pair crosses the imaginary axis).

References
----------
W. J. F. Govaerts, Numerical Methods for Bifurcations of Dynamical Equilibria, SIAM (2000),
sections 4.4 and 6.1; Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed. (2004),
section 10.2.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._center_manifold import hopf_normal_form
from ._linalg import Factorization, SingularMatrixError, monitor_eigenvalues, start_vector
from ._normal_forms import jacobian_derivatives, lyapunov_coefficient

__all__ = ["ENTRIES", "HopfProblem", "null_spaces"]

ENTRIES = ((0, 0), (0, 1), (1, 0), (1, 1))  # the entries of G, in row order
_SWITCH_GAIN = 2.0  # change the pair of entries only when another is this much better
_REL_STEP = 2e-3  # finite-difference step in a parameter (as for the Jacobian derivatives)
_MAX_LOG = 700.0


def _orthonormal(X: np.ndarray) -> np.ndarray:
    return np.linalg.qr(X)[0]


def _solve_columns(factor: Factorization, rhs: np.ndarray, *, transpose: bool = False):
    """Solve for each column of ``rhs`` (one right-hand side at a time: much faster than a 2-D
    right-hand side in scipy's small dense LU solve)."""
    return np.column_stack([factor.solve(col, transpose=transpose) for col in rhs.T])


def _shifted(J, kappa: float):
    """``J^2 + kappa I``, dense or sparse."""
    if sp.issparse(J):
        J = sp.csr_matrix(J)
        return (J @ J + kappa * sp.identity(J.shape[0], format="csr")).tocsc()
    J = np.asarray(J, dtype=float)
    return J @ J + kappa * np.eye(J.shape[0])


def null_spaces(J, kappa: float, steps: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases ``(V, W)`` (``n x 2``) of the approximate right and left null spaces of
    ``J^2 + kappa I``, by block inverse iteration from a fixed start (dense or sparse)."""
    M = _shifted(J, kappa)
    n = M.shape[0]
    try:
        factor = Factorization(M)
    except SingularMatrixError:
        scale = float(abs(M).max()) if sp.issparse(M) else float(np.max(np.abs(M)))
        shift = 1e-12 * max(scale, 1.0)
        factor = Factorization(M + shift * (sp.identity(n) if sp.issparse(M) else np.eye(n)))
    start = np.column_stack([start_vector(n), start_vector(n)[::-1] * np.cos(np.arange(n))])
    bases = []
    for transpose in (False, True):
        X = _orthonormal(start)
        for _ in range(steps):
            X = _orthonormal(_solve_columns(factor, X, transpose=transpose))
        bases.append(X)
    return bases[0], bases[1]


class HopfProblem:
    """Unknowns ``u = (x, p1, kappa, p2)``; equations ``f = 0`` and two entries of ``G``."""

    kind = "hopf"

    def __init__(self, system, param1, param2, params, options, range1, V, W) -> None:
        self.system = system
        self.param, self.param2 = param1, param2
        self.base = dict(params)
        self.options = options
        self.n = system.n
        self.size = self.n + 3
        self.sparse = bool(system.jacobian_is_sparse)
        self.bounds = [(self.n + 2, options.p_min, options.p_max), (self.n, *range1)]
        self.C, self.B = _orthonormal(V), _orthonormal(W)
        self.pair = (0, 3)  # G[0, 0] and G[1, 1]
        self._cache: tuple[bytes, dict] | None = None
        self._rows_cache: tuple[bytes, tuple] | None = None
        self._zh_reference: float | None = None

    # ------------------------------------------------------------------ evaluation
    def params_at(self, u: np.ndarray) -> dict[str, Any]:
        return {**self.base, self.param: float(u[self.n]), self.param2: float(u[self.n + 2])}

    def _jac(self, p):
        return lambda z: self.system.jac(z, p)

    def _parts(self, u: np.ndarray) -> dict:
        key = u.tobytes() + self.B.tobytes() + self.C.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        n = self.n
        x, p, kappa = u[:n], self.params_at(u), float(u[n + 1])
        J = self.system.jac(x, p)
        M = _shifted(J, kappa)
        if sp.issparse(M):
            bordered = sp.bmat(
                [[M, sp.csc_matrix(self.B)], [sp.csc_matrix(self.C.T), None]], format="csc"
            )
        else:
            bordered = np.block([[M, self.B], [self.C.T, np.zeros((2, 2))]])
        factor = Factorization(bordered)
        rhs = np.zeros((n + 2, 2))
        rhs[n:] = np.eye(2)
        VG = _solve_columns(factor, rhs)
        WH = _solve_columns(factor, rhs, transpose=True)
        parts = {"x": x, "p": p, "J": J, "V": VG[:n], "G": VG[n:], "W": WH[:n]}
        self._cache = (key, parts)
        return parts

    def residual(self, u: np.ndarray) -> np.ndarray:
        parts = self._parts(u)
        G = parts["G"].ravel()
        return np.concatenate([self.system.f(parts["x"], parts["p"]), G[list(self.pair)]])

    def _param_jacobian(self, x: np.ndarray, p: dict, name: str):
        """``dJ/dp`` by fourth-order central differences in the parameter."""
        h = _REL_STEP * max(1.0, abs(p[name]))
        Js = [self.system.jac(x, {**p, name: p[name] + k * h}) for k in (-2.0, -1.0, 1.0, 2.0)]
        return (Js[0] - 8.0 * Js[1] + 8.0 * Js[2] - Js[3]) / (12.0 * h)

    def _rows(self, u: np.ndarray) -> tuple[Any, np.ndarray]:
        """The state Jacobian ``J``, the rows ``[J, f_p1, 0, f_p2]`` of ``f``, and the gradients
        of the four entries of ``G`` in ``u`` (``4 x (n + 3)``, in :data:`ENTRIES` order)."""
        key = u.tobytes() + self.B.tobytes() + self.C.tobytes()
        if self._rows_cache is not None and self._rows_cache[0] == key:
            return self._rows_cache[1]
        parts = self._parts(u)
        x, p, J, V, W = parts["x"], parts["p"], parts["J"], parts["V"], parts["W"]
        jac = self._jac(p)
        JV = J @ V
        JtW = J.T @ W
        D_v = [jacobian_derivatives(jac, x, V[:, j]) for j in range(2)]
        D_Jv = [jacobian_derivatives(jac, x, JV[:, j]) for j in range(2)]
        J_p = [self._param_jacobian(x, p, name) for name in (self.param, self.param2)]
        grads = np.empty((4, self.size))
        for row, (i, j) in enumerate(ENTRIES):
            w, wt = W[:, i], JtW[:, i]
            grads[row, : self.n] = -(D_Jv[j].T @ w + D_v[j].T @ wt)
            d1, d2 = (-(w @ (Jp @ JV[:, j]) + wt @ (Jp @ V[:, j])) for Jp in J_p)
            grads[row, self.n :] = [d1, -(w @ V[:, j]), d2]
        fp = [np.asarray(self.system.dfdp(x, name, p), float) for name in (self.param, self.param2)]
        zero = np.zeros(self.n)
        if sp.issparse(J):
            F = sp.hstack([J, sp.csr_matrix(np.column_stack([fp[0], zero, fp[1]]))], format="csr")
        else:
            F = np.hstack([np.asarray(J, float), np.column_stack([fp[0], zero, fp[1]])])
        self._rows_cache = (key, (J, F, grads))
        return J, F, grads

    def linearization(self, u: np.ndarray):
        J, F, grads = self._rows(u)
        rows = grads[list(self.pair)]
        M = (
            sp.vstack([F, sp.csr_matrix(rows)], format="csr")
            if sp.issparse(F)
            else np.vstack([F, rows])
        )
        return M, J

    def jacobian(self, u: np.ndarray):
        return self.linearization(u)[0]

    # ------------------------------------------------------------------ bordering and pair
    def choose_pair(self, u: np.ndarray, border: np.ndarray) -> None:
        """Choose the pair of entries of ``G`` at ``u`` (see :meth:`_select_pair`)."""
        _, F, grads = self._rows(u)
        self._select_pair(F, grads, border)

    def _select_pair(self, F, grads: np.ndarray, border: np.ndarray) -> None:
        """Use the two entries of ``G`` whose gradients are the most independent on the null
        space of ``[f_u; border^T]`` (two-dimensional: it holds the directions the two entries
        must fix). Ratios of ``det [f_u; border^T; grad g_a; grad g_b]`` compare all pairs with
        one factorisation; the pair changes only for a gain of :data:`_SWITCH_GAIN`."""
        stack = sp.vstack if sp.issparse(F) else np.vstack
        wrap = sp.csr_matrix if sp.issparse(F) else np.asarray
        pairs = list(itertools.combinations(range(4), 2))
        for reference in [self.pair, *[c for c in pairs if c != self.pair]]:
            try:
                factor = Factorization(
                    stack([F, wrap(border[None, :]), wrap(grads[list(reference)])])
                )
            except SingularMatrixError:
                continue
            rhs = np.zeros((self.size, 2))
            rhs[-2:] = np.eye(2)
            R = grads @ _solve_columns(factor, rhs)  # (4, 2); rows `reference` are the identity
            dets = {c: abs(float(np.linalg.det(R[list(c)]))) for c in pairs}
            best = max(dets, key=dets.get)
            changed = reference != self.pair or dets[best] > _SWITCH_GAIN
            self.pair = best if changed else reference
            return

    def anchor(self, point) -> None:
        """New borders from the null spaces at ``point``, then the best pair of entries.

        With ``V = Q_v R_v``, ``W = Q_w R_w`` the new borders are ``C = Q_v``, ``B = Q_w``; at a
        solution the new null bases are ``V R_v^-1`` and ``W R_w^-1``, so the gradients of the
        new ``G`` are ``R_w^-T G_z R_v^-1``: no new Jacobian is needed to choose the pair."""
        parts = self._parts(point.u)
        _, F, grads = self._rows(point.u)
        (Qv, Rv), (Qw, Rw) = np.linalg.qr(parts["V"]), np.linalg.qr(parts["W"])
        self.C, self.B = Qv, Qw
        try:
            left, right = np.linalg.inv(Rw).T, np.linalg.inv(Rv)
        except np.linalg.LinAlgError:
            self.choose_pair(point.u, point.t)
            return
        G_z = np.einsum("ai,ijs,jb->abs", left, grads.reshape(2, 2, self.size), right)
        self._select_pair(F, G_z.reshape(4, self.size), point.t)

    # ------------------------------------------------------------------ monitoring
    def _zh_test(self, J, kappa: float) -> float:
        """``det J / kappa`` (the product of the eigenvalues other than the Hopf pair), scaled by
        a constant fixed at the first call."""
        try:
            sign, log = Factorization(J).det_sign_log()
        except SingularMatrixError:
            return 0.0
        if kappa == 0.0:
            return float("nan")
        log -= np.log(abs(kappa))
        if self._zh_reference is None:
            self._zh_reference = log
        return (
            sign
            * np.sign(kappa)
            * float(np.exp(np.clip(log - self._zh_reference, -_MAX_LOG, _MAX_LOG)))
        )

    def _other_eigenvalues(self, eig: np.ndarray, omega: float) -> np.ndarray:
        """The monitored eigenvalues without the Hopf pair ``+-i omega``."""
        finite = eig[np.isfinite(eig)]
        if not np.isfinite(omega) or finite.size < 2:
            return finite
        i = int(np.argmin(np.abs(finite - 1j * omega)))
        j = int(
            np.argmin(
                np.abs(finite + 1j * omega) + np.where(np.arange(finite.size) == i, np.inf, 0)
            )
        )
        return np.delete(finite, [i, j])

    def _hh_test(self, eig: np.ndarray, omega: float) -> tuple[float, int]:
        """Double-Hopf test: ``sign(prod Re) * min |Re|`` over the other complex pairs (one of
        each), NaN without one; and the number of other eigenvalues with positive real part."""
        others = self._other_eigenvalues(eig, omega)
        scale = max(1.0, float(np.max(np.abs(others), initial=0.0)))
        re = others.real[others.imag > self.options.zero_tol * scale]
        test = float(np.prod(np.sign(re)) * np.min(np.abs(re))) if re.size else float("nan")
        return test, int(np.count_nonzero(others.real > 0))

    def monitor(self, u: np.ndarray, J) -> dict[str, Any]:
        kappa = float(u[self.n + 1])
        eig, _, complete = monitor_eigenvalues(J, self.options.n_eigen)
        omega = float(np.sqrt(kappa)) if kappa > 0 else float("nan")
        l1 = float("nan")
        if kappa > 0 and self.options.lyapunov and not self.sparse:
            x, p = u[: self.n], self.params_at(u)
            l1 = lyapunov_coefficient(np.asarray(J, dtype=float), self._jac(p), x, omega)
        hh, other_unstable = self._hh_test(eig, omega)
        return {
            "eig": eig,
            "complete": complete,
            "kappa": kappa,
            "omega": omega,
            "lyapunov": l1,
            "zh": self._zh_test(J, kappa) if self.n > 2 else 1.0,
            "hh": hh,
            "other_unstable": other_unstable,
        }

    def detectors(self) -> list[dict[str, Any]]:
        def hopf_side(a, b) -> bool:
            return a.data["kappa"] > 0 and b.data["kappa"] > 0

        return [
            {
                "type": "BT",
                "changed": lambda a, b: a.data["kappa"] * b.data["kappa"] < 0,
                "value": lambda pt: pt.data["kappa"],
            },
            {
                "type": "ZH",
                "changed": lambda a, b: hopf_side(a, b) and a.data["zh"] * b.data["zh"] < 0,
                "value": lambda pt: pt.data["zh"],
                "unless": ("BT",),
            },
            {
                "type": "HH",
                "changed": lambda a, b: (
                    hopf_side(a, b)
                    and a.data["hh"] * b.data["hh"] < 0  # False when either is NaN
                    and a.data["other_unstable"] != b.data["other_unstable"]
                ),
                "value": lambda pt: pt.data["hh"],
                "unless": ("BT", "ZH"),
            },
            {
                "type": "GH",
                "changed": lambda a, b: (
                    hopf_side(a, b) and a.data["lyapunov"] * b.data["lyapunov"] < 0
                ),
                "value": lambda pt: pt.data["lyapunov"],
                # l1 has poles where A (ZH) or 2 i omega - A (a 1:2 double Hopf) is singular
                "unless": ("BT", "ZH", "HH"),
            },
        ]

    def describe(self, kind: str, point) -> dict[str, float]:
        out = {
            "omega": point.data["omega"],
            "lyapunov": point.data["lyapunov"],
            "lyapunov2": float("nan"),
            "lyapunov2_error": float("nan"),
            "omega2": float("nan"),
        }
        if kind == "BT":
            out["omega"] = 0.0
            out["lyapunov"] = float("nan")
        elif kind == "ZH":  # J is singular: l1 is not defined (it has a pole here)
            out["lyapunov"] = float("nan")
        elif kind == "HH":  # the second pair on the imaginary axis
            others = self._other_eigenvalues(point.data["eig"], point.data["omega"])
            if others.size:
                out["omega2"] = abs(float(others[np.argmin(np.abs(others.real))].imag))
        elif kind == "GH" and not self.sparse and np.isfinite(point.data["omega"]):
            x, p = point.u[: self.n], self.params_at(point.u)
            J = np.asarray(self.system.jac(x, p), dtype=float)
            nf = hopf_normal_form(lambda z: self.system.f(z, p), x, J, point.data["omega"])
            # the sign of l2 is what matters: unknown (NaN) unless the error estimate is below |l2|
            known = nf.l2_error < abs(nf.l2)
            out.update(
                lyapunov=nf.l1,
                lyapunov2=nf.l2 if known else float("nan"),
                lyapunov2_error=nf.l2_error,
            )
        return out
