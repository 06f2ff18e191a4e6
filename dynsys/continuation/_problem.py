"""The equilibrium problem ``f(x; p) = 0`` in the unknowns ``u = (x, p)``: residual, Jacobian
``[J, f_p]``, the stability data monitored at every point, and the test functions of its special
points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..stability import classify_eigenvalues
from ._compiled import compiled_loop
from ._linalg import dense_spectra, dense_spectrum, monitor_eigenvalues
from ._normal_forms import fold_coefficient, lyapunov_coefficient
from ._options import ContinuationOptions
from ._points import det_signs, monitored, tangent_params

__all__ = ["EquilibriumProblem"]

_BATCH_MAX_N = 16  # spectra of larger Jacobians are computed point by point (LAPACK dominates)


def _hopf_test(eigenvalues: np.ndarray, thr: float) -> float:
    """Hopf test function: ``sign(prod Re) * min |Re|`` over the complex pairs (one eigenvalue of
    each). It changes sign exactly when a pair crosses the imaginary axis, is continuous there
    (also where the pair nearest the axis changes), and ignores real eigenvalues, so a neutral
    saddle (``lambda1 = -lambda2`` real) does not trigger it. NaN without complex pairs."""
    re = eigenvalues.real[eigenvalues.imag > thr]
    if re.size == 0:
        return float("nan")
    return float(np.prod(np.sign(re)) * np.min(np.abs(re)))


def _hopf_one(eigenvalues: list[complex], zero_tol: float) -> tuple[int, float]:
    """``(raw_unstable, hopf)`` of one finite spectrum (in any order) in Python floats, the values
    ``EquilibriumProblem._hopf_data`` gives for a stack of one (a trial point of a location
    needs only these; numpy's per-call overhead would cost more than the arithmetic). The same
    values: each is a maximum, a minimum, a count or a product of signs of the same doubles,
    and ``abs`` of a complex is ``hypot`` in both."""
    thr = zero_tol * max(max(abs(value) for value in eigenvalues), 1.0)
    raw_unstable = sum(value.real > 0 for value in eigenvalues)
    nearest, sign, pairs = np.inf, 1.0, False
    for value in eigenvalues:
        if value.imag > thr:  # one eigenvalue of each complex pair
            pairs = True
            nearest = min(nearest, abs(value.real))
            sign *= 1.0 if value.real > 0 else (-1.0 if value.real < 0 else 0.0)
    return raw_unstable, (sign * nearest if pairs else float("nan"))


def _sign_changes(values) -> np.ndarray:
    """Whether ``values[k] * values[k + 1] < 0`` (False where either is NaN)."""
    values = np.asarray(values)
    return values[:-1] * values[1:] < 0


def _steps(values) -> np.ndarray:
    """Whether ``values[k] != values[k + 1]``."""
    values = np.asarray(values)
    return values[:-1] != values[1:]


class EquilibriumProblem:
    """Equilibria of a system continued in one named parameter (the last unknown)."""

    kind = "equilibrium"

    def __init__(
        self, system, param: str, params: Mapping[str, Any], options: ContinuationOptions
    ) -> None:
        self.system = system
        self.param = param
        self.base = dict(params)
        self.options = options
        self.n = system.n
        self.size = self.n + 1
        self.sparse = bool(system.jacobian_is_sparse)
        self.bounds = [(self.n, options.p_min, options.p_max)]
        self.compiled_functions = None
        """Once the compiled loop is loaded: the model's compiled field, Jacobian and parameter
        derivative, which then serve :meth:`residual`, :meth:`state_jacobian` and
        :meth:`param_derivative` too (the same values, without numpy's per-call overhead)."""
        self.compiled_loop = compiled_loop(self)
        """The compiled :func:`~dynsys.continuation._palc.run` of this problem, or None (see
        :mod:`dynsys.continuation._compiled`)."""

    # ------------------------------------------------------------------ evaluation
    def params_at(self, u: np.ndarray) -> dict[str, Any]:
        return {**self.base, self.param: float(u[self.n])}

    def residual(self, u: np.ndarray) -> np.ndarray:
        if self.compiled_functions is not None:
            return self.compiled_functions.residual(u)
        return np.asarray(self.system.f(u[: self.n], self.params_at(u)), dtype=float)

    def state_jacobian(self, u: np.ndarray):
        if self.compiled_functions is not None:
            return self.compiled_functions.state_jacobian(u)
        return self.system.jac(u[: self.n], self.params_at(u))

    def param_derivative(self, u: np.ndarray) -> np.ndarray:
        if self.compiled_functions is not None:
            return self.compiled_functions.param_derivative(u)
        return np.asarray(self.system.dfdp(u[: self.n], self.param, self.params_at(u)), float)

    def linearization(self, u: np.ndarray):
        """``(M, J)``: the Jacobian ``[J, f_p]`` of the residual in ``u`` and its state part."""
        J = self.state_jacobian(u)
        fp = self.param_derivative(u)
        if sp.issparse(J):
            M = sp.hstack([J, sp.csr_matrix(fp[:, None])], format="csr")
        else:
            M = np.empty((self.n, self.size))
            M[:, : self.n] = J
            M[:, self.n] = fp
        return M, J

    def jacobian(self, u: np.ndarray):
        return self.linearization(u)[0]

    def jacobian_function(self):
        """:meth:`jacobian`, or, where compiled functions serve it, the same function with the
        finite-difference stencils of its derivatives in one compiled call (``stencil``)."""
        if self.compiled_functions is None:
            return self.jacobian
        return self.compiled_functions.jacobian_function(self.jacobian)

    def anchor(self, point) -> None:
        """Called before each step from ``point``; nothing to refresh here."""

    # ------------------------------------------------------------------ monitoring
    def monitor(self, u: np.ndarray, J) -> dict[str, Any]:
        """Eigenvalues, index, nullity, kind, and the raw counts used by the test functions."""
        return self.monitor_many([u], [J])[0]

    def monitor_many(self, us, Js) -> list[dict[str, Any]]:
        """:meth:`monitor` of many points: small dense finite Jacobians in one batch (one LAPACK
        call and one classification for all of them, where the Python work per point would
        otherwise cost more than the eigenvalues), the others one by one."""
        out: list[dict[str, Any] | None] = [None] * len(Js)
        if not self.sparse and self.n <= _BATCH_MAX_N and len(Js):
            stack = np.array(Js, dtype=float)
            batch = np.flatnonzero(np.isfinite(stack).all(axis=(1, 2)))
            if batch.size == len(Js):  # all of them
                return self._dense_data(stack)
            if batch.size:
                data = self._dense_data(stack[batch])
                for k, values in zip(batch.tolist(), data, strict=True):
                    out[k] = values
        for k, J in enumerate(Js):
            if out[k] is None:
                out[k] = self._monitor_one(J)
        return out

    def monitor_columns(self, Js) -> dict[str, np.ndarray] | None:
        """:meth:`monitor_many` of state Jacobians (a stack ``(N, n, n)`` or a list) as columns
        (arrays over the points, keyed as :meth:`monitor`'s dicts), when all of them go in one
        batch (small, dense and finite); else None."""
        if self.sparse or self.n > _BATCH_MAX_N or not len(Js):
            return None
        stack = np.asarray(Js, dtype=float)
        if not np.isfinite(stack).all():
            return None
        return self._dense_columns(stack)

    def _dense_columns(self, J: np.ndarray) -> dict[str, np.ndarray]:
        """The monitored data of a stack of finite dense Jacobians ``(N, n, n)`` as columns: the
        same values :meth:`_monitor_one` gives, computed for all of them at once."""
        eig = dense_spectra(J)
        index, nullity, kind = classify_eigenvalues(
            eig, gradient=self.system.is_gradient, zero_tol=self.options.zero_tol
        )
        raw_unstable, hopf = self._hopf_data(eig)
        count = eig.shape[0]
        return {
            "eig": eig,
            "index": np.asarray(index),
            "nullity": np.asarray(nullity),
            "kind": np.asarray(kind).astype(str),
            "complete": np.ones(count, dtype=bool),
            "inertia": np.zeros(count, dtype=bool),
            "raw_unstable": raw_unstable,
            "hopf": hopf,
        }

    def _dense_data(self, J: np.ndarray) -> list[dict[str, Any]]:
        """The monitored data of a stack of finite dense Jacobians ``(N, n, n)``, one dict a
        point (:meth:`_dense_columns` row by row)."""
        columns = self._dense_columns(J)
        return [
            {
                "eig": row,
                "index": i,
                "nullity": z,
                "kind": c,
                "complete": True,
                "inertia": False,
                "raw_unstable": r,
                "hopf": h,
            }
            for row, i, z, c, r, h in zip(
                columns["eig"],
                columns["index"].tolist(),
                columns["nullity"].tolist(),
                columns["kind"].tolist(),
                columns["raw_unstable"].tolist(),
                columns["hopf"].tolist(),
                strict=True,
            )
        ]

    def _hopf_data(self, eig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(raw_unstable, hopf)`` of a stack of sorted finite spectra ``(N, n)``."""
        thr = self.options.zero_tol * np.maximum(np.abs(eig).max(axis=1), 1.0)
        raw_unstable = (eig.real > 0).sum(axis=1)  # count_nonzero, without its checks
        pair = eig.imag > thr[:, None]  # one eigenvalue of each complex pair
        nearest = np.where(pair, np.abs(eig.real), np.inf).min(axis=1)
        signs = np.where(pair, np.sign(eig.real), 1.0).prod(axis=1)
        return raw_unstable, np.where(pair.any(axis=1), signs * nearest, np.nan)

    def monitor_partial(self, u: np.ndarray, J, keys) -> dict[str, Any] | None:
        """The monitored values ``keys`` of one point when they can be had for less than all of
        :meth:`monitor` (the eigenvalues and the Hopf test of a small dense finite Jacobian, with
        :meth:`monitor`'s values; the eigenvalues only when ``keys`` names them), else None."""
        if not set(keys) <= {"eig", "hopf", "raw_unstable"} or self.sparse:
            return None
        if self.n > _BATCH_MAX_N:
            return None
        J = np.asarray(J, dtype=float)
        if not np.isfinite(J).all():
            return None
        ordered = "eig" in keys  # the Hopf test does not depend on the order of the spectrum
        eig = dense_spectrum(J, ordered=ordered)
        raw_unstable, hopf = _hopf_one(eig.tolist(), self.options.zero_tol)
        if not ordered:
            return {"raw_unstable": raw_unstable, "hopf": hopf}
        return {"eig": eig, "raw_unstable": raw_unstable, "hopf": hopf}

    def _monitor_one(self, J) -> dict[str, Any]:
        opts = self.options
        eig, unstable, complete = monitor_eigenvalues(J, opts.n_eigen)
        finite = eig[np.isfinite(eig)]
        thr = opts.zero_tol * max(1.0, float(np.max(np.abs(finite), initial=0.0)))
        gradient = self.system.is_gradient
        if complete or unstable is None:
            index, nullity, kind = classify_eigenvalues(
                eig, gradient=gradient, zero_tol=opts.zero_tol
            )
            index, nullity, kind = int(index), int(nullity), str(kind)
        else:  # sparse symmetric: exact index from the inertia, a real spectrum of that inertia
            nullity = int(np.count_nonzero(np.abs(finite) <= thr))
            index = int(unstable)
            signs = np.concatenate(
                [np.ones(index), np.zeros(nullity), -np.ones(max(self.n - index - nullity, 0))]
            )
            kind = str(classify_eigenvalues(signs, gradient=gradient, zero_tol=opts.zero_tol)[2])
        if unstable is not None:
            raw_unstable = int(unstable)
        else:
            raw_unstable = int(np.count_nonzero(finite.real > 0))
        return {
            "eig": eig,
            "index": index,
            "nullity": nullity,
            "kind": kind,
            "complete": complete,
            "inertia": unstable is not None,
            "raw_unstable": raw_unstable,
            "hopf": _hopf_test(finite, thr),
        }

    # ------------------------------------------------------------------ special points
    def detectors(self) -> list[dict[str, Any]]:
        """Test functions. ``changes(points)`` flags, for each pair of neighbouring points, a
        special point between them; it is located where ``value`` changes sign (``"det"``: the
        determinant of the bordered Jacobian), or by bisection on the integer ``bisect`` when
        ``value`` is None. ``"data"`` names the monitored values ``value`` reads (trial points
        then need no others; all of them when it is absent)."""
        opts = self.options
        out: list[dict[str, Any]] = []
        if "LP" in opts.detect:
            out.append(
                {
                    "type": "LP",
                    "changes": lambda points: _sign_changes(tangent_params(points)),
                    "value": lambda pt: pt.t[-1],
                    "data": (),  # reads no monitored data
                }
            )
        if "BP" in opts.detect:
            out.append(
                {
                    "type": "BP",
                    "changes": lambda points: _sign_changes(det_signs(points)),
                    "value": "det",
                }
            )
        if "H" in opts.detect:
            out.append(
                {
                    "type": "H",
                    "changes": lambda points: (
                        _sign_changes(monitored(points, "hopf"))  # not at NaN
                        & _steps(monitored(points, "raw_unstable"))
                    ),
                    "value": lambda pt: pt.data["hopf"],
                    "data": ("hopf",),  # the monitored values it reads
                }
            )
        if "IC" in opts.detect:
            out.append(
                {
                    "type": "IC",
                    "changes": lambda points: _steps(monitored(points, "index")),
                    "value": None,
                    "bisect": (lambda pt: pt.data["raw_unstable"], lambda pt: pt.data["index"]),
                    "unless": ("LP", "BP", "H"),
                }
            )
        return out

    def describe(self, kind: str, point) -> dict[str, float]:
        """Normal-form data of a located special point."""
        out = {"fold_a": np.nan, "hopf_omega": np.nan, "lyapunov": np.nan}
        u = point.u
        x = u[: self.n]

        if self.compiled_functions is not None:  # the same Jacobians, fewer copies
            jac = self.compiled_functions.state_jacobian_in(u)
        else:

            def jac(z):
                return self.state_jacobian(np.concatenate((z, u[self.n :])))

        if kind == "LP":
            J = self.state_jacobian(u)
            out["fold_a"] = fold_coefficient(J, jac, x, self.param_derivative(u), point.t[:-1])
        elif kind == "H":
            eig = point.data["eig"]
            finite = eig[np.isfinite(eig)]
            thr = self.options.zero_tol * max(1.0, float(np.max(np.abs(finite), initial=0.0)))
            cand = finite[(np.abs(finite.imag) > thr)]
            if cand.size:
                lam = cand[np.argmin(np.abs(cand.real))]
                omega = abs(float(lam.imag))
                out["hopf_omega"] = omega
                if self.options.lyapunov and not self.sparse:
                    out["lyapunov"] = lyapunov_coefficient(
                        np.asarray(self.state_jacobian(u), dtype=float), jac, x, omega
                    )
        return out
