"""The cycle problem for the pseudo-arclength engine: periodic orbits of a flow continued in one
parameter, in the unknowns ``u = (w * X, T, p)``.

``X`` is the collocation profile (:class:`dynsys.cycles.Collocation`), ``T`` the period and
``p`` the parameter. Each profile value is scaled by the square root of its quadrature weight
``w``, so the Euclidean norm the engine measures steps with is ``int |x|^2 dtau + T^2 + p^2``,
independent of the mesh: AUTO's norm. The phase condition is anchored on the previous point of
the branch. Special points: fold of cycles (LPC, the parameter component of the tangent changes
sign), branch point (BP, the determinant of the bordered Jacobian changes sign), period doubling
(PD, a real multiplier crosses -1), Neimark-Sacker (NS, a complex pair crosses the unit circle),
and the Hopf point (H) where the cycles shrink onto an equilibrium.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..cycles import Collocation, CycleOptions, extremes
from ._options import ContinuationOptions

__all__ = ["CycleProblem", "doubling_test", "torus_test"]


def doubling_test(nontrivial: np.ndarray) -> float:
    """``sign(prod(1 + mu)) * min |1 + mu|`` over the real nontrivial multipliers: zero exactly
    when one is -1, continuous, NaN without real ones."""
    real = nontrivial.real[nontrivial.imag == 0.0]
    if real.size == 0 or not np.all(np.isfinite(real)):
        return float("nan")
    return float(np.prod(np.sign(1.0 + real)) * np.min(np.abs(1.0 + real)))


def torus_test(nontrivial: np.ndarray) -> float:
    """``sign(prod(|mu| - 1)) * min ||mu| - 1|`` over the complex pairs (one of each): zero
    exactly when a pair lies on the unit circle, NaN without pairs."""
    pairs = nontrivial[nontrivial.imag > 0.0]
    if pairs.size == 0 or not np.all(np.isfinite(pairs)):
        return float("nan")
    gap = np.abs(pairs) - 1.0
    return float(np.prod(np.sign(gap)) * np.min(np.abs(gap)))


class CycleProblem:
    """Cycles of a system continued in one named parameter (the last unknown).

    The engine reads ``size``, ``n``, ``param``, ``bounds`` and calls the methods below. ``n``
    is 0: the engine's state bound looks at ``u[:n]``, and profile entries are scaled here, so
    the bound ``x_max`` is applied by the caller to the unscaled profiles.
    """

    kind = "cycle"
    n = 0

    def __init__(
        self,
        system,
        param: str,
        params: Mapping[str, Any],
        options: ContinuationOptions,
        cycle_options: CycleOptions,
        collocation: Collocation,
    ) -> None:
        self.system = system
        self.param = param
        self.base = dict(params)
        self.options = options
        self.cycle_options = cycle_options
        self.reference: np.ndarray | None = None
        self.reference_data: Mapping[str, Any] = {}
        self.set_collocation(collocation)

    # ------------------------------------------------------------------ unknowns
    def set_collocation(self, col: Collocation) -> None:
        """Switch to another mesh (the caller transfers points and the reference)."""
        self.col = col
        self.scale = np.append(np.repeat(np.sqrt(col.weights), col.n), 1.0)
        self.size = col.size + 1
        T_index = self.size - 2
        self.bounds = [
            (self.size - 1, self.options.p_min, self.options.p_max),
            (T_index, -np.inf, self.cycle_options.period_max),
        ]

    def pack(self, X: np.ndarray, T: float, p: float) -> np.ndarray:
        return np.append(self.col.join(X, T) * self.scale, p)

    def unpack(self, u: np.ndarray) -> tuple[np.ndarray, float, float]:
        X, T = self.col.split(u[:-1] / self.scale)
        return X, T, float(u[-1])

    def params_at(self, p: float) -> dict[str, Any]:
        return {**self.base, self.param: float(p)}

    # ------------------------------------------------------------------ evaluation
    def residual(self, u: np.ndarray) -> np.ndarray:
        v = u[:-1] / self.scale
        return self.col.residual(v, self.params_at(u[-1]), reference=self.reference)

    def linearization(self, u: np.ndarray):
        """``(M, None)``: the Jacobian in the scaled unknowns; the monitor needs no matrix."""
        v = u[:-1] / self.scale
        J = self.col.jacobian(v, self.params_at(u[-1]), reference=self.reference, param=self.param)
        J.data *= np.repeat(np.append(1.0 / self.scale, 1.0), np.diff(J.indptr))
        return J, None

    def jacobian(self, u: np.ndarray):
        return self.linearization(u)[0]

    def anchor(self, point) -> None:
        """The phase condition of the next step refers to ``point``'s profile."""
        self.reference = self.unpack(point.u)[0]
        self.reference_data = point.data

    def overlap(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
        """``int <x_a - mean, x_b - mean> dtau`` of two profiles of one mesh: it turns negative
        where the branch passes through zero amplitude (the phase condition locks the phase, so
        the deviation from the mean changes sign), that is through a Hopf point."""
        if "profile" not in a or "profile" not in b or a["profile"].shape != b["profile"].shape:
            return float("nan")
        w = self.col.weights
        da = a["profile"] - w @ a["profile"]
        db = b["profile"] - w @ b["profile"]
        return float(w @ np.sum(da * db, axis=1))

    # ------------------------------------------------------------------ monitoring
    def monitor(self, u: np.ndarray, J=None) -> dict[str, Any]:
        """Profile, period, parameter, mesh, extremes and the Floquet multipliers."""
        X, T, p = self.unpack(u)
        v = u[:-1] / self.scale
        floquet = self.col.floquet(v, self.params_at(p))
        low, high = extremes(self.col, X)
        return {
            "profile": X,
            "period": T,
            "param": p,
            "mesh": self.col.mesh,
            "times": self.col.times,
            "x_min": low,
            "x_max": high,
            "floquet": floquet,
            "unstable": floquet.unstable_count,
            "pd": doubling_test(floquet.nontrivial),
            "ns": torus_test(floquet.nontrivial),
        }

    # ------------------------------------------------------------------ special points
    def detectors(self) -> list[dict[str, Any]]:
        """H: the branch passes through zero amplitude (it reached an equilibrium at a Hopf
        point; always looked for, the run ends there). BP: the determinant of the bordered
        Jacobian changes sign (within a segment, whose points share their mesh). LPC: the
        parameter component of the tangent changes sign (not at an H). PD and NS: their test
        function changes sign and so does the number of multipliers outside the unit circle
        (so pairs that meet on the real axis, or a real pair with product one, are not
        flagged)."""
        detect = self.options.detect
        out: list[dict[str, Any]] = [
            {
                "type": "H",
                "changed": lambda a, b: self.overlap(a.data, b.data) < 0,
                "value": lambda pt: self.overlap(self.reference_data, pt.data),
            }
        ]
        if "BP" in detect:
            out.append(
                {"type": "BP", "changed": lambda a, b: a.det_sign * b.det_sign < 0, "value": "det"}
            )
        if "LPC" in detect:
            out.append(
                {
                    "type": "LPC",
                    "changed": lambda a, b: a.t[-1] * b.t[-1] < 0,
                    "value": lambda pt: pt.t[-1],
                    "unless": ("H",),
                }
            )
        for kind, key in (("PD", "pd"), ("NS", "ns")):
            if kind in detect:
                out.append(
                    {
                        "type": kind,
                        "changed": lambda a, b, key=key: (
                            a.data[key] * b.data[key] < 0
                            and a.data["unstable"] != b.data["unstable"]
                        ),
                        "value": lambda pt, key=key: pt.data[key],
                    }
                )
        return out

    def describe(self, kind: str, point) -> dict[str, Any]:
        """The critical multiplier of a special point: nearest +1 (LPC and BP, among the
        nontrivial ones), -1 (PD), or the pair nearest the unit circle (NS, the member with positive
        imaginary part)."""
        mu = point.data["floquet"].nontrivial
        if mu.size == 0 or not np.all(np.isfinite(mu)):
            return {"multiplier": complex(np.nan)}
        if kind in ("LPC", "BP"):
            pick = mu[np.argmin(np.abs(mu - 1.0))]
        elif kind == "PD":
            pick = mu[np.argmin(np.abs(mu + 1.0))]
        else:
            upper = mu[mu.imag > 0.0]
            pick = upper[np.argmin(np.abs(np.abs(upper) - 1.0))] if upper.size else np.nan
        return {"multiplier": complex(pick)}
