"""``continue_hopf``: the Hopf curve of equilibria in two parameters, with Bogdanov-Takens (BT),
generalised Hopf (GH, Bautin), zero-Hopf (ZH) and double-Hopf (HH) points.

The extended system and its test functions are in :mod:`._hopf_problem`; this module finds the
start, runs the engine and builds the Dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex
from .._validate import as_state_batch
from ..errors import ContinuationError, InputError, UnknownParameterError
from ..maps import require_flow
from ._branch import _check_options
from ._codim2_start import bt_start, is_curve, special_row, stored_values, with_start_special
from ._hopf_problem import HopfProblem, null_spaces
from ._linalg import monitor_eigenvalues
from ._options import ContinuationOptions
from ._specials import end_status, labelled, special_variables
from ._trace import Traced, check_direction, initial_tangent, orient, refine_start, trace

__all__ = ["continue_hopf"]

START_REAL_PART = 0.1
"""A state start must have an eigenvalue pair with ``|Re lambda| <= 0.1 |lambda|``."""

EXTENDED_SYSTEM = (
    "minimally augmented: f = 0 and two entries of the 2x2 Schur complement G of "
    "[J^2 + kappa I, B; C^T, 0], unknowns (x, param, kappa = omega^2, param2)"
)


def _check_names(system, param1, param2) -> None:
    for name in (param1, param2):
        if not isinstance(name, str) or name not in system.param_names:
            raise UnknownParameterError(
                f"{name!r} is not a parameter of system '{system.name}'; it has "
                f"{sorted(system.param_names)}."
            )
    if param1 == param2:
        raise InputError(f"`param1` and `param2` must differ; both are {param1!r}.")


def _hopf_start(system, hopf_point, param1, param2, params, special):
    """Start state, parameter values, the Hopf frequency when the branch knows it, and whether
    the start is a Bogdanov-Takens point of a two-parameter curve."""
    what = "`hopf_point`"
    if is_curve(hopf_point):
        x, values = bt_start(system, hopf_point, param1, param2, params, special, what)
        return x, values, None, True
    if isinstance(hopf_point, xr.Dataset):
        if hopf_point.attrs.get("continuation_param") != param1:
            raise InputError(
                f"`hopf_point` is a branch continued in "
                f"{hopf_point.attrs.get('continuation_param')!r}, not in `param1`={param1!r}."
            )
        hint = (
            "continue the branch with 'H' in ContinuationOptions.detect, over a range that "
            "contains one, or pass a state at a Hopf point."
        )
        row = special_row(hopf_point, "H", special, what, hint)
        values = stored_values(system, hopf_point, params)
        values[param1] = float(hopf_point["special_param"].values[row])
        omega = float(hopf_point["special_hopf_omega"].values[row])
        x = np.asarray(hopf_point["special_x"].values[row], float)
        return x, values, (omega if np.isfinite(omega) and omega > 0 else None), False
    x = as_state_batch(hopf_point, system.n, name="hopf_point")
    if x.ndim != 1:
        raise InputError(
            f"`hopf_point` must be one state of shape ({system.n},) or a branch "
            f"Dataset; got shape {x.shape}."
        )
    return x, system.resolve_params(params), None, False


def _start_kappa(J, omega: float | None, options) -> float:
    """``omega^2`` for the eigenvalue pair nearest the imaginary axis; an error when there is
    none close enough (or when the branch's frequency is given: that one)."""
    eig, _, _ = monitor_eigenvalues(J, options.n_eigen)
    eig = eig[np.isfinite(eig)]
    pairs = eig[eig.imag > 0]
    if omega is not None:
        return omega**2
    if pairs.size == 0:
        raise ContinuationError(
            "`hopf_point` is not a Hopf point: the Jacobian there has no complex eigenvalues "
            f"(eigenvalues {np.round(eig, 6).tolist()}). Start from the 'H' row of a branch "
            "(continue_branch with 'H' in ContinuationOptions.detect), or from a state and "
            "parameters close to a Hopf point."
        )
    ratio = np.abs(pairs.real) / np.abs(pairs)
    lam = pairs[int(np.argmin(ratio))]
    if ratio.min() > START_REAL_PART:
        raise ContinuationError(
            f"`hopf_point` is not near a Hopf point: the complex pair nearest the imaginary "
            f"axis is {lam:.6g} (|Re|/|lambda| = {ratio.min():.3g} > {START_REAL_PART}). Start "
            "from the 'H' row of a branch (continue_branch with 'H' in "
            "ContinuationOptions.detect), or move the state and params[param1] closer to a "
            "Hopf point."
        )
    return float(lam.imag) ** 2


def continue_hopf(
    system,
    hopf_point,
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
    """Continue a Hopf point of equilibria in two parameters.

    Parameters
    ----------
    system : System or GradientSystem
        The vector field (dense or sparse Jacobian).
    hopf_point : xarray.Dataset or array_like
        A branch from :func:`continue_branch` in ``param1`` with a located Hopf point (the first
        "H", or the row ``special``); a fold curve from :func:`continue_fold` in
        ``(param1, param2)`` with a Bogdanov-Takens point (the first "BT", or the row
        ``special``), where the Hopf curve starts; or a state near a Hopf point with
        ``params[param1]`` near its value (an eigenvalue pair must satisfy
        ``|Re lambda| <= 0.1 |lambda|`` there).
    param1, param2 : str
        The parameter the Hopf point was found in, and the second parameter.
    params : mapping, optional
        Parameter values (default: those stored in the branch, else the system's).
    special : int, optional
        Row of the Hopf point in the branch's special table (of the BT point in the fold
        curve's).
    options : ContinuationOptions, optional
        Steps and tolerances; ``p_min``/``p_max`` bound ``param2``; ``lyapunov=False`` skips the
        Lyapunov coefficients (and with them the GH points). ``detect`` does not apply: BT, GH,
        ZH and HH are always looked for.
    param1_range : (float, float)
        Bounds on ``param1``.
    direction : {1, -1, "both"}
        ``param2`` increasing first (1), decreasing (-1), or both ways.
    progress : bool
        Show a progress bar.

    Returns
    -------
    xarray.Dataset
        Dims ``step``, ``state``, ``mode``, ``special``, ``end``. Along the curve:
        ``param(step)`` (``param1``), ``param2(step)``, ``x(step, state)``, ``kappa(step)``
        (``omega^2`` on the Hopf part; ``-mu^2`` on the neutral-saddle part, where the
        eigenvalues are ``+-mu`` real), ``omega(step)`` (Hopf frequency, NaN where
        ``kappa <= 0``), ``neutral_saddle(step)`` (True where ``kappa < 0``: those steps are
        not Hopf points), ``lyapunov(step)`` (first Lyapunov coefficient ``l1``, NaN on the
        neutral-saddle part, for sparse Jacobians or with ``lyapunov=False``),
        ``eigenvalue_real/imag(step, mode)``, ``arclength(step)``,
        ``newton_iterations(step)``. Special points: ``special_type`` ("BT" Bogdanov-Takens,
        "GH" generalised Hopf, "ZH" zero-Hopf, "HH" double Hopf), ``special_param``,
        ``special_param2``, ``special_x(special, state)``, ``special_step``,
        ``special_status`` (CONVERGED or MAX_ITER), ``special_omega``, ``special_omega2``
        (the second frequency at HH points), ``special_lyapunov`` (``l1``; NaN at BT and ZH,
        where it is not defined), ``special_lyapunov2`` (second Lyapunov coefficient ``l2`` at
        GH points; NaN elsewhere, and where its error estimate is not below ``|l2|``, so its
        sign is unknown: for ``l2 < 0`` a curve of folds of cycles leaves the GH point on the
        side ``l1 > 0``, where a stable cycle surrounds the unstable one; for ``l2 > 0`` on
        the side ``l1 < 0``, with the stabilities exchanged) and ``special_lyapunov2_error``
        (the largest difference between three sampling radii, an error estimate);
        ``status(end)`` why each traced direction stopped. Attributes ``continuation_param``,
        ``continuation_param2``, ``extended_system``, provenance, options.

    Raises
    ------
    dynsys.errors.UnknownParameterError
        If ``param1`` or ``param2`` is not a parameter of the system.
    dynsys.errors.InputError
        If ``param1 == param2``, ``hopf_point`` has no Hopf point (or BT point), is a result in
        other parameters, or is a state of the wrong shape.
    ContinuationError
        If the start is not near a Hopf point, Newton on the extended system does not
        converge from it, or it converges to a neutral saddle.

    Notes
    -----
    The extended system (Govaerts 2000; Kuznetsov 2004, section 10.2): ``f = 0`` and two entries
    of the ``2 x 2`` matrix ``G`` defined by ``[J^2 + kappa I, B; C^T, 0] [V; G] = [0; I]``.
    ``J^2 + kappa I`` has the double zero eigenvalue ``lambda^2 + kappa = 0`` exactly where
    ``J`` has eigenvalues ``+-i sqrt(kappa)``, so ``G = 0`` is the Hopf condition with ``n + 3``
    unknowns ``(x, param1, kappa, param2)`` and no complex arithmetic. Unlike the standard
    system (``f = 0``, ``J q = i omega q``: ``3n + 2`` unknowns) it costs one bordered
    factorisation of size ``n + 2`` per Newton step, and unlike the bialternate product
    (size ``n (n - 1) / 2``) it works for large sparse ``J``. Its solutions also include the
    neutral saddles (``kappa < 0``), and it is regular through the Bogdanov-Takens point where
    the Hopf curve turns into them: those steps are followed but flagged ``neutral_saddle``.
    Which two entries of ``G`` are used is chosen at each step where their gradients are best
    conditioned. Forming ``J^2`` squares the condition number: for stiff systems the Hopf curve
    is located less accurately than the fold curve.

    Test functions: ``kappa`` (BT), ``l1`` between Hopf points (GH), ``det J / kappa`` (the
    product of the other eigenvalues) between Hopf points (ZH), and between Hopf points the
    product of the real parts of the other complex pairs, together with a change of the number
    of other eigenvalues in the right half plane (HH; for a sparse Jacobian, among the
    ``n_eigen`` monitored eigenvalues only). ``l2`` at a GH point comes from the fifth-order
    expansion of the centre manifold, with the vector field's Taylor coefficients measured on
    circles (see ``special_lyapunov2_error``); ``l1`` along the curve from Kuznetsov's formula
    with finite-difference derivatives of the Jacobian, as on branches. Both use the dense
    Jacobian: for a sparse one they are NaN and GH points are not looked for.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.continuation import ContinuationOptions, continue_branch, continue_hopf
    >>> from dynsys.models import brusselator
    >>> opts = ContinuationOptions(ds_max=0.25, p_min=1.0, p_max=3.0)
    >>> branch = continue_branch(brusselator(a=1.0, b=1.5), [1.0, 1.5], "b", options=opts)
    >>> curve = continue_hopf(brusselator(), branch, "b", "a",
    ...                       options=ContinuationOptions(ds_max=0.25, p_min=0.5, p_max=3.0))
    >>> a, b = curve["param2"].values, curve["param"].values
    >>> bool(np.allclose(b, 1 + a**2, atol=1e-10)), bool(np.allclose(curve["omega"], a))
    (True, True)
    """
    require_flow(system, "continue_hopf()")
    options = _check_options(options)
    check_direction(direction)
    _check_names(system, param1, param2)
    x, values, omega, at_bt = _hopf_start(system, hopf_point, param1, param2, params, special)
    system = system.with_params(**values)
    J = system.jac(x, values)
    kappa = 0.0 if at_bt else _start_kappa(J, omega, options)
    V, W = null_spaces(J, kappa)
    problem = HopfProblem(
        system,
        param1,
        param2,
        values,
        options,
        (float(param1_range[0]), float(param1_range[1])),
        V,
        W,
    )
    u0 = np.concatenate([x, [values[param1], kappa, values[param2]]])
    border = np.zeros(problem.size)
    border[-1] = 1.0
    problem.choose_pair(u0, border)
    u = refine_start(problem, u0, options, "`hopf_point`")
    if u[problem.n + 1] <= 0 and not at_bt:
        raise ContinuationError(
            f"`hopf_point` converged to a neutral saddle (real eigenvalues "
            f"+-{np.sqrt(-u[problem.n + 1]):.6g}), not a Hopf point; start from the 'H' row of "
            "a branch or from a state with a complex pair near the imaginary axis."
        )
    t = orient(initial_tangent(problem, u))
    traced = trace(
        problem, u, t, direction, options, progress=progress, label=param2, at_branch_point=at_bt
    )
    if at_bt:
        with_start_special(problem, traced, "BT")
    return _hopf_dataset(problem, system, traced, options, direction=str(direction))


def _hopf_dataset(problem, system, traced: Traced, options, **attrs) -> xr.Dataset:
    n = problem.n
    pts = traced.points
    U = np.array([p.u for p in pts])
    specials = traced.specials
    m = len(specials)
    S = np.array([s.point.u for s in specials], dtype=float).reshape(m, n + 3)
    kappa = U[:, n + 1]
    eig = np.array([p.data["eig"] for p in pts])

    def info(key: str) -> np.ndarray:
        return np.array([s.info.get(key, np.nan) for s in specials], dtype=float).reshape(m)

    var = labelled
    variables = {
        "param": var("step", U[:, n], f"parameter {problem.param}"),
        "param2": var("step", U[:, n + 2], f"parameter {problem.param2}"),
        "x": var(("step", "state"), U[:, :n], "state"),
        "kappa": var(
            "step", kappa, "omega^2 on the Hopf part, -mu^2 on the neutral-saddle part (+-mu real)"
        ),
        "omega": var(
            "step",
            np.array([p.data["omega"] for p in pts]),
            "Hopf frequency (NaN where kappa <= 0)",
            units="rad per unit time",
        ),
        "neutral_saddle": var(
            "step", kappa < 0, "neutral saddle (real eigenvalues +-mu), not a Hopf point"
        ),
        "lyapunov": var(
            "step",
            np.array([p.data["lyapunov"] for p in pts]),
            "first Lyapunov coefficient l1 (NaN where not a Hopf point or not computed)",
        ),
        **split_complex(eig, ("step", "mode"), "eigenvalue", "Jacobian eigenvalue"),
        "arclength": var("step", traced.arclength, "pseudo-arclength from the start point"),
        "newton_iterations": var(
            "step",
            np.array([p.iterations for p in pts], dtype=np.int64),
            "corrector Newton iterations",
        ),
        **special_variables(
            specials, n, "BT Bogdanov-Takens, GH generalised Hopf, ZH zero-Hopf, HH double Hopf"
        ),
        "special_param": var("special", S[:, n], f"parameter {problem.param}"),
        "special_param2": var("special", S[:, n + 2], f"parameter {problem.param2}"),
        "special_omega": var(
            "special", info("omega"), "Hopf frequency (0 at BT)", units="rad per unit time"
        ),
        "special_omega2": var(
            "special",
            info("omega2"),
            "frequency of the second pair on the imaginary axis at HH points (NaN elsewhere)",
            units="rad per unit time",
        ),
        "special_lyapunov": var(
            "special", info("lyapunov"), "first Lyapunov coefficient l1 (NaN at BT)"
        ),
        "special_lyapunov2": var(
            "special",
            info("lyapunov2"),
            "second Lyapunov coefficient l2 at GH points (NaN elsewhere or not computed)",
        ),
        "special_lyapunov2_error": var(
            "special", info("lyapunov2_error"), "error estimate of special_lyapunov2"
        ),
    }
    variables["status"], end = end_status(traced.stop_backward, traced.stop_forward)
    complete = all(p.data["complete"] for p in pts)
    settings = {
        "continuation_param": problem.param,
        "continuation_param2": problem.param2,
        "extended_system": EXTENDED_SYSTEM,
        **options.as_attrs(),
        "eigenvalues": "all" if complete else f"{options.n_eigen} of smallest modulus",
        "start_step": traced.start_step,
        "n_points": len(pts),
        "n_newton_iterations": traced.n_newton,
        "n_rejected_steps": traced.n_rejected,
        **attrs,
    }
    return xr.Dataset(
        variables,
        coords={
            "step": np.arange(len(pts)),
            "state": list(system.state_names),
            "mode": np.arange(eig.shape[1]),
            "special": np.arange(m),
            "end": end,
        },
        attrs=provenance(system, **settings),
    )
