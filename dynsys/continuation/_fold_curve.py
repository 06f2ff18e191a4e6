"""``continue_fold``: the fold curve of equilibria in two parameters, with cusp (CP) and
Bogdanov-Takens (BT) points.

The curve solves the minimally extended system ``f = 0``, ``g = 0``, where ``g`` from
``[J b; c^T 0] [v; g] = [0; 1]`` vanishes exactly where ``J`` is singular (``g_z = -w^T J_z v``).
The bordering vectors are the previous point's null vectors. CP: a sign change of the fold
coefficient ``a = <p, B(q, q)>/2``; BT: a sign change of ``<w, v>`` (where ``a`` diverges).

References
----------
W. J. F. Govaerts, Numerical Methods for Bifurcations of Dynamical Equilibria, SIAM (2000),
chapter 4; Yu. A. Kuznetsov (2004), section 10.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
import xarray as xr

from .._dataset import provenance
from .._validate import as_state_batch
from ..errors import InputError, UnknownParameterError
from ..maps import require_flow
from ._branch import _check_options
from ._codim2_start import bt_start, is_curve, with_start_special
from ._linalg import Factorization, dense_null_vectors
from ._normal_forms import jacobian_derivatives
from ._options import ContinuationOptions
from ._specials import end_status, labelled, special_variables
from ._switch import _inverse_iteration
from ._trace import Traced, check_direction, initial_tangent, orient, refine_start, trace

__all__ = ["continue_fold"]


def _directional(fn, x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Derivative of a vector function along ``d`` (fourth-order central differences)."""
    h = 2e-3 * max(1.0, float(np.max(np.abs(x)))) / max(float(np.linalg.norm(d)), 1e-300)
    return (fn(x - 2 * h * d) - 8 * fn(x - h * d) + 8 * fn(x + h * d) - fn(x + 2 * h * d)) / (
        12 * h
    )


class FoldProblem:
    """Unknowns ``u = (x, p1, p2)``; equations ``f = 0`` and ``g = 0``."""

    kind = "fold"

    def __init__(self, system, param1, param2, params, options, range1, b, c) -> None:
        self.system = system
        self.param, self.param2 = param1, param2
        self.base = dict(params)
        self.options = options
        self.n = system.n
        self.size = self.n + 2
        self.sparse = bool(system.jacobian_is_sparse)
        self.bounds = [(self.n + 1, options.p_min, options.p_max), (self.n, *range1)]
        self.b, self.c = b / np.linalg.norm(b), c / np.linalg.norm(c)
        self._cache: tuple[bytes, dict] | None = None

    def params_at(self, u):
        return {**self.base, self.param: float(u[self.n]), self.param2: float(u[self.n + 1])}

    def _parts(self, u: np.ndarray) -> dict:
        key = u.tobytes() + self.b.tobytes() + self.c.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        n = self.n
        x, p = u[:n], self.params_at(u)
        J = self.system.jac(x, p)
        if sp.issparse(J):
            B = sp.bmat(
                [[J, sp.csc_matrix(self.b[:, None])], [sp.csc_matrix(self.c[None, :]), None]],
                format="csc",
            )
        else:
            B = np.block(
                [[np.asarray(J, float), self.b[:, None]], [self.c[None, :], np.zeros((1, 1))]]
            )
        factor = Factorization(B)
        e = np.zeros(n + 1)
        e[-1] = 1.0
        vg = factor.solve(e)
        wh = factor.solve(e, transpose=True)
        parts = {"x": x, "p": p, "J": J, "v": vg[:n], "g": vg[n], "w": wh[:n]}
        self._cache = (key, parts)
        return parts

    def residual(self, u):
        parts = self._parts(u)
        return np.append(self.system.f(parts["x"], parts["p"]), parts["g"])

    def linearization(self, u):
        parts = self._parts(u)
        x, p, J, v, w = parts["x"], parts["p"], parts["J"], parts["v"], parts["w"]
        fp = [np.asarray(self.system.dfdp(x, name, p), float) for name in (self.param, self.param2)]
        DvJ = jacobian_derivatives(lambda z: self.system.jac(z, p), x, v)
        gx = -(DvJ.T @ w)
        gp = [
            -float(
                w
                @ _directional(
                    lambda z, name=name: np.asarray(self.system.dfdp(z, name, p), float), x, v
                )
            )
            for name in (self.param, self.param2)
        ]
        if sp.issparse(J):
            M = sp.vstack(
                [
                    sp.hstack([J, sp.csr_matrix(np.column_stack(fp))]),
                    sp.csr_matrix(np.append(gx, gp)[None, :]),
                ],
                format="csr",
            )
        else:
            M = np.block(
                [[np.asarray(J, float), np.column_stack(fp)], [np.append(gx, gp)[None, :]]]
            )
        return M, J

    def jacobian(self, u):
        return self.linearization(u)[0]

    def anchor(self, point) -> None:
        if "v" in point.data:
            self.c = point.data["v"] / np.linalg.norm(point.data["v"])
            self.b = point.data["w"] / np.linalg.norm(point.data["w"])

    def monitor(self, u, J) -> dict[str, Any]:
        parts = self._parts(u)
        v, w, x, p = parts["v"], parts["w"], parts["x"], parts["p"]
        q = v / np.linalg.norm(v)
        w_hat = w / np.linalg.norm(w)
        overlap = float(w_hat @ q)
        with np.errstate(divide="ignore", invalid="ignore"):
            pvec = w / float(w @ q)
            a = 0.5 * float(
                pvec @ (jacobian_derivatives(lambda z: self.system.jac(z, p), x, q) @ q)
            )
        fp1 = np.asarray(self.system.dfdp(x, self.param, p), float)
        a_intrinsic = a if pvec @ fp1 >= 0 else -a
        return {"v": v, "w": w, "a": a, "fold_a": a_intrinsic, "bt": overlap}

    def detectors(self):
        return [
            {
                "type": "BT",
                "changed": lambda a, b: a.data["bt"] * b.data["bt"] < 0,
                "value": lambda pt: pt.data["bt"],
            },
            {
                "type": "CP",
                "changed": lambda a, b: a.data["a"] * b.data["a"] < 0,
                "value": lambda pt: pt.data["a"],
                "unless": ("BT",),
            },
        ]

    def describe(self, kind, point):
        return {"fold_a": point.data["fold_a"]}


def _fold_start(system, fold_point, param1, params, special):
    """Start state and parameter values from a branch Dataset or a state array."""
    if isinstance(fold_point, xr.Dataset):
        if fold_point.attrs.get("continuation_param") != param1:
            raise InputError(
                f"`fold_point` is a branch continued in "
                f"{fold_point.attrs.get('continuation_param')!r}, not in `param1`={param1!r}."
            )
        types = fold_point["special_type"].values
        folds = np.flatnonzero(types == "LP")
        if special is None:
            if folds.size == 0:
                raise InputError("`fold_point` has no fold (LP) in its special-point table.")
            special = int(folds[0])
        elif not (0 <= special < types.size and types[special] == "LP"):
            raise InputError(f"`special`={special!r} is not the row of an 'LP' in `fold_point`.")
        stored = {
            k: fold_point.attrs[f"param_{k}"]
            for k in system.param_names
            if f"param_{k}" in fold_point.attrs
        }
        values = system.resolve_params({**stored, **dict(params or {})})
        values[param1] = float(fold_point["special_param"].values[special])
        return np.asarray(fold_point["special_x"].values[special], float), values
    x = as_state_batch(fold_point, system.n, name="fold_point")
    if x.ndim != 1:
        raise InputError(
            f"`fold_point` must be one state of shape ({system.n},) or a branch "
            f"Dataset; got shape {x.shape}."
        )
    return x, system.resolve_params(params)


def continue_fold(
    system,
    fold_point,
    param1: str,
    param2: str,
    *,
    params: Mapping[str, Any] | None = None,
    special: int | None = None,
    options: ContinuationOptions | None = None,
    param1_range: tuple[float, float] = (-np.inf, np.inf),
    direction: int | str = "both",
    progress: bool = False,
) -> xr.Dataset:
    """Continue a fold (saddle-node) of equilibria in two parameters.

    Parameters
    ----------
    system : System or GradientSystem
        The vector field (dense or sparse Jacobian).
    fold_point : xarray.Dataset or array_like
        A branch from :func:`continue_branch` in ``param1`` with a located fold (the first "LP",
        or the row ``special``); a Hopf curve from :func:`continue_hopf` in ``(param1, param2)``
        with a Bogdanov-Takens point (the first "BT", or the row ``special``), where the fold
        curve starts; or a state near a fold with ``params[param1]`` near its value.
    param1, param2 : str
        The parameter the fold was found in, and the second parameter.
    params : mapping, optional
        Parameter values (default: those stored in the branch, else the system's).
    special : int, optional
        Row of the fold in the branch's special table.
    options : ContinuationOptions, optional
        Steps and tolerances; ``p_min``/``p_max`` bound ``param2``.
    param1_range : (float, float)
        Bounds on ``param1``.
    direction : {1, -1, "both"}
        ``param2`` increasing first (1), decreasing (-1), or both ways.
    progress : bool
        Show a progress bar.

    Returns
    -------
    xarray.Dataset
        Dims ``step``, ``state``, ``special``, ``end``. ``param(step)`` (``param1``),
        ``param2(step)``, ``x(step, state)``, ``fold_a(step)`` (fold quadratic coefficient,
        oriented so that ``<p, f_param1> > 0``: positive means the equilibria exist for
        ``param1`` below the fold), ``arclength(step)``, ``newton_iterations(step)``; special
        points
        ``special_type`` ("CP" cusp, "BT" Bogdanov-Takens), ``special_param``,
        ``special_param2``, ``special_x(special, state)``, ``special_step``,
        ``special_status`` (CONVERGED or MAX_ITER); ``status(end)`` why each traced direction
        stopped, as for :func:`continue_branch`. Attributes ``continuation_param``,
        ``continuation_param2``, provenance, options.

    Raises
    ------
    dynsys.errors.UnknownParameterError
        If ``param1`` or ``param2`` is not a parameter of the system.
    dynsys.errors.InputError
        If ``param1 == param2``, ``fold_point`` has no fold (or the wrong parameter), or a state
        has the wrong shape.
    ContinuationError
        If Newton on the extended system does not converge from the start.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.continuation import ContinuationOptions, continue_fold
    >>> from dynsys.system import System
    >>> cusp = System(lambda x, p: p["b1"] + p["b2"] * x - x**3, ["x"], {"b1": 0.0, "b2": 1.0})
    >>> x_fold = 1 / np.sqrt(3)
    >>> curve = continue_fold(cusp, [x_fold], "b1", "b2", params={"b1": -2 * x_fold**3},
    ...                       options=ContinuationOptions(ds_max=0.1, p_max=1.0))
    >>> curve["special_type"].values.tolist(), bool(abs(curve["special_param2"][0]) < 1e-10)
    (['CP'], True)
    """
    require_flow(system, "continue_fold()")
    options = _check_options(options)
    check_direction(direction)
    for name in (param1, param2):
        if not isinstance(name, str) or name not in system.param_names:
            raise UnknownParameterError(
                f"{name!r} is not a parameter of system '{system.name}'; it has "
                f"{sorted(system.param_names)}."
            )
    if param1 == param2:
        raise InputError(f"`param1` and `param2` must differ; both are {param1!r}.")
    at_bt = is_curve(fold_point)
    if at_bt:  # the BT point of a Hopf curve, where the fold curve starts
        x, values = bt_start(system, fold_point, param1, param2, params, special, "`fold_point`")
    else:
        x, values = _fold_start(system, fold_point, param1, params, special)
    system = system.with_params(**values)
    J = system.jac(x, values)
    if sp.issparse(J):
        guess = _inverse_iteration(sp.csc_matrix(J))
        b = c = guess
    else:
        right, left = dense_null_vectors(np.asarray(J, dtype=float))
        c, b = right[0], left[0]
    problem = FoldProblem(
        system,
        param1,
        param2,
        values,
        options,
        (float(param1_range[0]), float(param1_range[1])),
        b,
        c,
    )
    u0 = np.concatenate([x, [values[param1], values[param2]]])
    u = refine_start(problem, u0, options, "`fold_point`")
    t = orient(initial_tangent(problem, u))
    traced = trace(
        problem, u, t, direction, options, progress=progress, label=param2, at_branch_point=at_bt
    )
    if at_bt:
        with_start_special(problem, traced, "BT")
    return _fold_dataset(problem, system, traced, options, direction=str(direction))


def _fold_dataset(problem, system, traced: Traced, options, **attrs) -> xr.Dataset:
    n = problem.n
    U = np.array([p.u for p in traced.points])
    specials = traced.specials
    m = len(specials)
    S = np.array([s.point.u for s in specials], dtype=float).reshape(m, n + 2)

    var = labelled

    variables = {
        "param": var("step", U[:, n], f"parameter {problem.param}"),
        "param2": var("step", U[:, n + 1], f"parameter {problem.param2}"),
        "x": var(("step", "state"), U[:, :n], "state"),
        "fold_a": var(
            "step",
            np.array([p.data["fold_a"] for p in traced.points]),
            f"fold quadratic coefficient (positive: equilibria below the fold in {problem.param})",
        ),
        "arclength": var("step", traced.arclength, "pseudo-arclength from the start point"),
        "newton_iterations": var(
            "step",
            np.array([p.iterations for p in traced.points], dtype=np.int64),
            "corrector Newton iterations",
        ),
        **special_variables(specials, n, "CP cusp, BT Bogdanov-Takens"),
        "special_param": var("special", S[:, n], f"parameter {problem.param}"),
        "special_param2": var("special", S[:, n + 1], f"parameter {problem.param2}"),
    }
    variables["status"], end = end_status(traced.stop_backward, traced.stop_forward)
    settings = {
        "continuation_param": problem.param,
        "continuation_param2": problem.param2,
        **options.as_attrs(),
        "start_step": traced.start_step,
        "n_points": len(traced.points),
        "n_newton_iterations": traced.n_newton,
        "n_rejected_steps": traced.n_rejected,
        **attrs,
    }
    return xr.Dataset(
        variables,
        coords={
            "step": np.arange(len(traced.points)),
            "state": list(system.state_names),
            "special": np.arange(m),
            "end": end,
        },
        attrs=provenance(system, **settings),
    )
