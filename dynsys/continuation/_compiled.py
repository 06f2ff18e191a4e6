"""The compiled predictor-corrector loop for small dense equilibrium problems (the Python side;
numba is imported only when a loop runs).

A model that declares its field, Jacobian and parameter derivative in compiled code
(:attr:`dynsys.System.compiled_derivatives`: a :class:`dynsys.system.CompiledField` with
``jacobian`` and ``param_derivative``) may have its runs (:func:`dynsys.continuation._palc.run`)
stepped by :func:`._compiled_palc.palc_run`: the same predictor, corrector, step control and stop
rules, with the arithmetic of the Python loop (the same LAPACK factorisations, BLAS dot products
and operations in the same order), hence the same points, bit for bit. Python keeps the rest: the
end of a run on a parameter bound, the point closing a loop, the monitoring (in one batch, as
before), the special points and the Dataset. A compiled run's points stay in the arrays the loop
filled (:class:`~dynsys.continuation._points.Points`). Once the loop is loaded, the problem's
:class:`CompiledFunctions` also serve the Python side: its residual and Jacobians, and each
:func:`~dynsys.continuation._palc.evaluate` and corrected trial point (the end on a bound, the
points that locate special points) in one compiled call, again with the same values. Everything
else (no declaration, a sparse Jacobian, more than ``MAX_STATES`` states, numba missing) stays on
the Python loop.

When: the compiled loop costs ~2 us a point against ~280 us on the Python loop (Lorenz), but
loading numba, the kernel and the model's compiled functions costs ~0.4 s of CPU once per
process, the price of over a thousand Python points. So a process starts on the Python loop and
moves to the compiled one (for good) at the first run that starts after ``WARM_UP_POINTS`` points
were stepped on the Python loop by problems that could have been compiled, or at once when numba
is already imported. A one-off diagram of a few hundred points (the command line's Lorenz
example) stays as fast as it was; a longer one, or the next diagrams of a session, run compiled.
The path changes no result.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import warnings
from functools import cache

import numpy as np

from .._status import Status
from ._compiled_jacobians import ResidualJacobian, StateJacobian
from ._linalg import SingularMatrixError
from ._palc import (
    _GROW_BELOW,
    _GROWTH,
    _SHRINK_ABOVE,
    MIN_COS_TURN,
    Point,
    Run,
    _end_on_bound,
    evaluate,
    python_run,
)
from ._points import Points, monitor_points

__all__ = ["MAX_STATES", "WARM_UP_POINTS", "compiled_loop", "numba_available"]

MAX_STATES = 16  # above this, LAPACK and the spectra dominate: the Python loop costs as much
CHUNK = 1024  # points per call of the compiled loop (its output arrays grow chunk by chunk)
WARM_UP_POINTS = 250
"""Points stepped on the Python loop (by problems that could run compiled) after which a process
loads the compiled loop. Set it to 0 to go compiled at once (tests do)."""


class _Process:
    """What this process has done: points stepped on the Python loop by compilable problems,
    and whether the compiled loop is loaded."""

    python_points = 0
    loaded = False


def _warm() -> bool:
    """Whether the compiled loop should run: loaded already, numba imported already, or the
    warm-up spent."""
    return _Process.loaded or "numba" in sys.modules or _Process.python_points >= WARM_UP_POINTS


@cache
def numba_available() -> bool:
    """Whether numba can be imported (checked once, without importing it)."""
    return importlib.util.find_spec("numba") is not None


def compiled_loop(problem):
    """The compiled run of ``problem`` (a function ``(problem, start, options, progress,
    monitor) -> Run``), or None when the Python loop runs it."""
    field = getattr(problem.system, "compiled_derivatives", None)
    if (
        field is None
        or problem.sparse
        or problem.n > MAX_STATES
        or problem.param not in field.params
        or not numba_available()
    ):
        return None
    if _Process.loaded and _kernel_loads():  # the kernels are in memory: they serve at once
        problem.compiled_functions = CompiledFunctions(problem)
    return _run_compilable


@cache
def _kernel_loads() -> bool:
    """Whether the compiled loop's module loads and can call the model's functions by address.
    It reaches LAPACK through numba's own (private) binding and builds numba's function values
    by hand (:func:`dynsys._first_class.function_at`); should a numba release change either,
    the Python loop runs, with the same points, and a warning says so once."""
    try:
        from .._address_check import calls_by_address
        from ._compiled_palc import palc_run  # noqa: F401

        reason = None if calls_by_address() else "numba cannot call functions by address"
    except (ImportError, AttributeError) as error:
        reason = str(error)
    if reason is not None:
        warnings.warn(
            f"the compiled continuation loop could not be loaded ({reason}); the Python loop "
            "runs instead (same points, slower).",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _run_compilable(problem, start, options, progress, monitor=True):
    """A run of a problem that has a compiled loop: on it once warm, else on the Python loop."""
    if not _warm() or not _kernel_loads():
        done = python_run(problem, start, options, progress=progress, monitor=monitor)
        _Process.python_points += len(done.points)
        return done
    return _run(problem, start, options, progress, monitor)


_STOPS = {
    0: Status.MAX_POINTS,
    1: Status.STEP_UNDERFLOW,
    2: Status.STATE_BOUND,
    3: Status.PARAM_BOUND,
    4: Status.CLOSED_LOOP,
}


class CompiledFunctions:
    """A problem's residual, state Jacobian and parameter derivative by the model's compiled
    functions (the values of the numpy ones, by the declaration's contract), its corrected
    points (:meth:`point`) and evaluations (:meth:`evaluate`)."""

    def __init__(self, problem) -> None:
        from .._first_class import address
        from ._compiled_types import FIELD_SIGNATURE, JACOBIAN_SIGNATURE, PARAM_DERIVATIVE_SIGNATURE

        field = problem.system.compiled_derivatives
        self.field = field.load()
        self.jacobian, self.dparam = field.load_derivatives()
        self.kernels = (
            address(self.field, FIELD_SIGNATURE),
            address(self.jacobian, JACOBIAN_SIGNATURE),
            address(self.dparam, PARAM_DERIVATIVE_SIGNATURE),
        )
        """The three functions as the compiled loops take them: the addresses of their compiled
        code (the dispatchers, held here, keep it alive)."""
        self.params = np.array([float(problem.base[name]) for name in field.params])
        self.k = field.params.index(problem.param)
        self.n = problem.n

    def _args(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        params = self.params.copy()
        params[self.k] = u[self.n]
        return np.ascontiguousarray(u[: self.n], dtype=float), params

    def residual(self, u: np.ndarray) -> np.ndarray:
        out = np.empty(self.n)
        self.field(*self._args(u), out)
        return out

    def state_jacobian(self, u: np.ndarray) -> np.ndarray:
        out = np.empty((self.n, self.n))
        self.jacobian(*self._args(u), out)
        return out

    def state_jacobian_in(self, u: np.ndarray) -> StateJacobian:
        """The state Jacobian as a function of the state alone, at the parameter value of
        ``u``: ``jac(x)`` is ``state_jacobian(concatenate((x, u[n:])))``, with the parameters
        prepared once (the normal forms evaluate it at several states, and take its
        finite-difference derivatives from ``jac.stencil``)."""
        return StateJacobian(self.jacobian, self.kernels[1], self._args(u)[1], self.n)

    def jacobian_function(self, jacobian) -> ResidualJacobian:
        """``jacobian`` (the problem's Jacobian ``[J, f_p]`` of the residual, by these
        functions) as a callable whose finite-difference derivatives come in one compiled call
        (``stencil``)."""
        return ResidualJacobian(jacobian, self.kernels[1], self.kernels[2], self.params, self.k)

    def param_derivative(self, u: np.ndarray) -> np.ndarray:
        out = np.empty(self.n)
        self.dparam(*self._args(u), self.k, out)
        return out

    def point(self, guess, row, target: float, border, tol: float, max_iter: int):
        """``newton(problem, guess, row, target, tol, max_iter)`` and then, at its solution
        ``u``, what ``evaluate(problem, u, border)`` computes, in one compiled call with the same
        arithmetic (:func:`._compiled_palc.palc_point`).

        Returns ``(u, iterations, t, sign, log_det, J)`` (the unit tangent, the sign and log of
        ``|det|`` of the bordered Jacobian, the state Jacobian; ``sign`` 0 where that matrix is
        singular, and then only ``u``, ``iterations`` and ``J`` hold), or None when Newton fails.
        """
        from ._compiled_palc import palc_point

        m = self.n + 1
        u = np.array(guess, dtype=float)
        t = np.empty(m)
        diag = np.empty(m)
        J = np.empty((self.n, self.n))
        sign = np.zeros(1, dtype=np.int64)
        iterations = palc_point(
            *self.kernels,
            self.params.copy(),
            self.k,
            u,
            np.ascontiguousarray(row, dtype=float),
            float(target),
            float(tol),
            int(max_iter),
            np.ascontiguousarray(border, dtype=float),
            t,
            diag,
            J,
            sign,
        )
        if iterations < 0:
            return None
        return (u, iterations, *_tangent_det(t, int(sign[0]), diag), J)

    def evaluate(self, u, border):
        """What ``evaluate(problem, u, border)`` computes, in one compiled call with the same
        arithmetic (:func:`._compiled_palc.palc_evaluate`): ``(t, sign, log_det, J)`` as
        :meth:`point` gives them."""
        from ._compiled_palc import palc_evaluate

        m = self.n + 1
        t = np.empty(m)
        diag = np.empty(m)
        J = np.empty((self.n, self.n))
        sign = palc_evaluate(
            *self.kernels[1:],
            self.params.copy(),
            self.k,
            np.ascontiguousarray(u, dtype=float),
            np.ascontiguousarray(border, dtype=float),
            t,
            diag,
            J,
        )
        return (*_tangent_det(t, sign, diag), J)


def _tangent_det(t: np.ndarray, sign: int, diag: np.ndarray) -> tuple[np.ndarray, int, float]:
    """``(t, sign, log|det|)`` from a compiled evaluation (``-inf`` when singular), the
    logarithm as Factorization.det_sign_log takes it: the sum of the logs of the LU diagonal."""
    if sign == 0:
        return t, 0, -np.inf
    return t, sign, float(np.add.reduce(np.log(np.abs(diag))))  # np.sum, without its wrapper


def _last(parts: list[Points]) -> Point:
    """The last point of the rows of ``parts`` (the start's part is never empty)."""
    return next(part for part in reversed(parts) if len(part))[-1]


def _run(problem, start, options, progress, monitor=True):
    """:func:`dynsys.continuation._palc.run` of an equilibrium problem on the compiled loop."""
    from ._compiled_palc import FULL, palc_run

    _Process.loaded = True
    if problem.compiled_functions is None:
        problem.compiled_functions = CompiledFunctions(problem)
    functions = problem.compiled_functions
    m, n = problem.size, problem.n
    newton = options.newton
    u0 = np.ascontiguousarray(start.u, dtype=float)
    t0 = np.ascontiguousarray(start.t, dtype=float)
    state = np.array([float(options.ds), 0.0])  # the step, the arclength travelled
    stats = np.zeros(5, dtype=np.int64)
    beyond = np.empty(m)
    if start.pending is None:  # monitored already: its row is monitored with the others
        J = problem.state_jacobian(start.u)
        start = Point(start.u, start.t, start.iterations, start.det_sign, start.det_log, {}, J)
    parts = [Points.one(start)]  # the start, the rows of each chunk, the end if any
    done = 1
    n_newton = n_rejected = 0
    while True:  # chunks of at most CHUNK points: memory follows the run, not max_points
        cap = min(int(options.max_points) - done + 1, CHUNK)
        U = np.empty((cap, m))
        T = np.empty((cap, m))
        U[0], T[0] = _last(parts).u, _last(parts).t
        iters = np.zeros(cap, dtype=np.int64)
        signs = np.zeros(cap, dtype=np.int64)
        diags = np.ones((cap, m))
        jacs = np.empty((cap, n, n))
        palc_run(
            *functions.kernels,
            functions.params.copy(),
            functions.k,
            u0,
            t0,
            done,
            float(options.ds_min),
            float(options.ds_max),
            int(options.max_points),
            float(options.p_min),
            float(options.p_max),
            float(options.x_max),
            float(newton.step_tol),
            int(newton.max_iter),
            float(MIN_COS_TURN),
            int(_GROW_BELOW),
            int(_SHRINK_ABOVE),
            float(_GROWTH),
            U,
            T,
            iters,
            signs,
            diags,
            jacs,
            beyond,
            stats,
            state,
        )
        count, code, side = int(stats[0]), int(stats[3]), int(stats[4])
        n_newton += int(stats[1])
        n_rejected += int(stats[2])
        # log|det| as Factorization.det_sign_log takes it: the sum of the logs of the LU diagonal
        logs = np.add.reduce(np.log(np.abs(diags[1:count])), axis=1)  # np.sum(..., axis=1)
        new = slice(1, count)  # rows of the new points
        parts.append(Points(U[new], T[new], iters[new], signs[new], logs, jacs[new]))
        done += count - 1
        if progress is not None and count > 1:
            progress.update(count - 1)
        if code != FULL:
            break
    stop = _STOPS[code]
    last = None
    if stop == Status.PARAM_BOUND:
        prev = _last(parts)
        candidate = Point(beyond, prev.t, 0, 0, 0.0)
        value = options.p_max if side > 0 else options.p_min
        last = _end_on_bound(problem, prev, candidate, (n, value), options)
    elif stop == Status.CLOSED_LOOP:
        with contextlib.suppress(SingularMatrixError):
            last = evaluate(problem, start.u, _last(parts).t, defer=True)
    if last is not None:
        parts.append(Points.one(last))
    points = Points.concatenate(parts)
    if monitor:
        monitor_points(problem, [points])
    return Run(points, stop, n_newton, n_rejected)
