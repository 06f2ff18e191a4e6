"""Options of :func:`dynsys.integrate.flow`, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._options import Options, choice, integer, number, numbers

__all__ = ["FLOW_METHODS", "FlowOptions"]

FLOW_METHODS = ("dopri5", "dop853", "rosenbrock23", "gradient_descent")
_MIN_RTOL = 100 * np.finfo(float).eps


@dataclass(frozen=True)
class FlowOptions(Options):
    """Method, tolerances and stopping rules of :func:`~dynsys.integrate.flow`.

    Parameters
    ----------
    method : {"dopri5", "dop853", "rosenbrock23", "gradient_descent"}
        ``"dopri5"``: Dormand-Prince 5(4) with a continuous extension (save times are
        interpolated). ``"dop853"``: Dormand-Prince 8(5,3) for tight tolerances (steps are
        shortened to land on save times). ``"rosenbrock23"``: the linearly implicit, L-stable
        Rosenbrock 2(3) pair of MATLAB's ode23s (Shampine and Reichelt 1997) for stiff systems;
        one Jacobian (``system.jac_dense``) and an LU decomposition per step, steps shortened to
        land on save times. ``"gradient_descent"``: ``x <- x - eta grad V`` for a gradient
        system, explicit Euler ``x <- x + eta f`` otherwise; time is iterations x eta.
    t_max : float
        Final time (inf allowed); the last step lands exactly on it. For gradient descent the run
        stops after ``ceil(t_max / learning_rate)`` iterations.
    rtol, atol : float
        Relative and absolute tolerances of the local error (all methods but gradient descent).
    converge_tol : float or None
        Stop an orbit as converged when ``|f(x)|_2 <= converge_tol`` (``|grad V|_2`` for gradient
        descent). None or 0 disables the test.
    converge_block : int or None
        Measure convergence per block instead: the largest Euclidean norm over consecutive blocks
        of this many entries of ``f`` (it must divide the state dimension). With ``d`` for a
        network state ``W.ravel()`` of ``K`` units this is ``max_j |dJ/dw_j|``, the stopping rule
        of many training protocols. None: the whole vector.
    escape_radius : float
        Stop an orbit as escaped when ``|x|_2 > escape_radius`` (inf disables the test).
    max_steps : int
        Most step attempts per orbit (accepted or rejected; iterations for gradient descent).
    first_step : float or None
        Initial step size; chosen per orbit from the field when None.
    min_step, max_step : float
        Bounds of the step size. A step that must shrink below ``min_step`` (or below ten units
        in the last place of the time) stops the orbit with status ``step_underflow``.
    learning_rate : float or None
        Step ``eta`` of gradient descent (required there, ignored by the other methods).
    save_times : sequence of float, optional
        Increasing times in ``[0, t_max]`` at which to save the states (all methods but gradient
        descent).
    save_every : int, optional
        Save every this many iterations, iteration 0 included (gradient descent).

    Raises
    ------
    dynsys.errors.OptionError
        Naming the option and the value given, if a value is out of range or options conflict.

    Examples
    --------
    >>> FlowOptions(method="gradient_descent", learning_rate=0.1, save_every=10).t_max
    100.0
    >>> FlowOptions(rtol=-1.0)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: FlowOptions: `rtol` must be a positive number; got -1.0.
    """

    method: str = choice(
        "dopri5", FLOW_METHODS, "Runge-Kutta pair, Rosenbrock pair (stiff), or gradient descent"
    )
    t_max: float = number(100.0, "final time (inf allowed)", allow_inf=True)
    rtol: float = number(1e-6, "relative tolerance of the local error")
    atol: float = number(1e-9, "absolute tolerance of the local error", at_least=0.0)
    converge_tol: float | None = number(
        None,
        "stop an orbit when |f|_2 <= converge_tol (none: no test)",
        at_least=0.0,
        allow_none=True,
    )
    converge_block: int | None = integer(
        None, "measure convergence as the largest norm of blocks of this size", allow_none=True
    )
    escape_radius: float = number(1e8, "stop an orbit when |x|_2 exceeds this", allow_inf=True)
    max_steps: int = integer(100_000, "most step attempts (iterations) per orbit")
    first_step: float | None = number(
        None, "initial step size (none: chosen per orbit)", allow_none=True
    )
    min_step: float = number(0.0, "smallest step size", at_least=0.0)
    max_step: float = number(np.inf, "largest step size", allow_inf=True)
    learning_rate: float | None = number(None, "step eta of gradient descent", allow_none=True)
    save_times: tuple[float, ...] | None = numbers(
        None, "times at which states are saved (not gradient descent)", in_attrs=False
    )
    save_every: int | None = integer(
        None, "save every this many iterations (gradient descent)", allow_none=True
    )

    def _check(self) -> None:
        descent = self.method == "gradient_descent"
        if self.converge_tol == 0.0:
            object.__setattr__(self, "converge_tol", None)
        if self.rtol < _MIN_RTOL:
            raise self._fail(
                "rtol", f"at least {_MIN_RTOL:.1e} (rounding dominates below)", self.rtol
            )
        if self.min_step >= self.max_step:
            raise self._fail(
                "min_step", f"smaller than `max_step` = {self.max_step}", self.min_step
            )
        if descent and self.learning_rate is None:
            raise self._fail(
                "learning_rate", "a positive number for method='gradient_descent'", None
            )
        if self.save_times is not None:
            if descent:
                raise self._fail(
                    "save_times",
                    "None for gradient descent (it saves every `save_every` iterations)",
                    self.save_times,
                )
            self._check_save_times(self.save_times)
        if self.save_every is not None and not descent:
            raise self._fail(
                "save_every",
                f"None for method={self.method!r} (give `save_times`)",
                self.save_every,
            )

    def _check_save_times(self, times: tuple[float, ...]) -> None:
        t = np.asarray(times)
        if t.size == 0:
            raise self._fail("save_times", "a non-empty 1-D sequence of times", times)
        if t[0] < 0 or t[-1] > self.t_max:
            raise self._fail("save_times", f"finite times in [0, t_max = {self.t_max}]", times)
        if np.any(np.diff(t) <= 0):
            raise self._fail("save_times", "strictly increasing", times)
