"""Options of :func:`dynsys.integrate.flow`, checked on construction."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["FLOW_METHODS", "FlowOptions"]

FLOW_METHODS = ("dopri5", "dop853", "gradient_descent")
_MIN_RTOL = 100 * np.finfo(float).eps


def _bad(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"FlowOptions: `{name}` must be {expected}; got {value!r}.")


def _number(name: str, value: Any, *, allow_inf: bool = False, allow_zero: bool = False) -> float:
    expected = "a positive number" if not allow_zero else "a non-negative number"
    if allow_inf:
        expected += " (inf allowed)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _bad(name, expected, value)
    v = float(value)
    if np.isnan(v) or (np.isinf(v) and not allow_inf) or v < 0 or (v == 0 and not allow_zero):
        raise _bad(name, expected, value)
    return v


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise _bad(name, "a positive integer", value)
    return int(value)


@dataclass(frozen=True)
class FlowOptions:
    """Method, tolerances and stopping rules of :func:`~dynsys.integrate.flow`.

    Parameters
    ----------
    method : {"dopri5", "dop853", "gradient_descent"}
        ``"dopri5"``: Dormand-Prince 5(4) with a continuous extension (save times are
        interpolated). ``"dop853"``: Dormand-Prince 8(5,3) for tight tolerances (steps are
        shortened to land on save times). ``"gradient_descent"``: ``x <- x - eta grad V`` for a
        gradient system, explicit Euler ``x <- x + eta f`` otherwise; time is iterations x eta.
    t_max : float
        Final time (inf allowed); the last step lands exactly on it. For gradient descent the run
        stops after ``ceil(t_max / learning_rate)`` iterations.
    rtol, atol : float
        Relative and absolute tolerances of the local error (Runge-Kutta methods).
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
        Increasing times in ``[0, t_max]`` at which to save the states (Runge-Kutta methods).
    save_every : int, optional
        Save every this many iterations, iteration 0 included (gradient descent).

    Raises
    ------
    ValueError
        Naming the option and the value given, if a value is out of range or options conflict.

    Examples
    --------
    >>> FlowOptions(method="gradient_descent", learning_rate=0.1, save_every=10).t_max
    100.0
    >>> FlowOptions(rtol=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: FlowOptions: `rtol` must be a positive number; got -1.0.
    """

    method: str = "dopri5"
    t_max: float = 100.0
    rtol: float = 1e-6
    atol: float = 1e-9
    converge_tol: float | None = None
    converge_block: int | None = None
    escape_radius: float = 1e8
    max_steps: int = 100_000
    first_step: float | None = None
    min_step: float = 0.0
    max_step: float = np.inf
    learning_rate: float | None = None
    save_times: tuple[float, ...] | None = None
    save_every: int | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if self.method not in FLOW_METHODS:
            raise _bad("method", f"one of {list(FLOW_METHODS)}", self.method)
        descent = self.method == "gradient_descent"
        put("t_max", _number("t_max", self.t_max, allow_inf=True))
        put("rtol", _number("rtol", self.rtol))
        if self.rtol < _MIN_RTOL:
            raise _bad("rtol", f"at least {_MIN_RTOL:.1e} (rounding dominates below)", self.rtol)
        put("atol", _number("atol", self.atol, allow_zero=True))
        if self.converge_tol is not None:
            tol = _number("converge_tol", self.converge_tol, allow_zero=True)
            put("converge_tol", tol if tol > 0 else None)
        if self.converge_block is not None:
            put("converge_block", _count("converge_block", self.converge_block))
        put("escape_radius", _number("escape_radius", self.escape_radius, allow_inf=True))
        put("max_steps", _count("max_steps", self.max_steps))
        if self.first_step is not None:
            put("first_step", _number("first_step", self.first_step))
        put("min_step", _number("min_step", self.min_step, allow_zero=True))
        put("max_step", _number("max_step", self.max_step, allow_inf=True))
        if self.min_step >= self.max_step:
            raise _bad("min_step", f"smaller than `max_step` = {self.max_step}", self.min_step)
        if self.learning_rate is not None:
            put("learning_rate", _number("learning_rate", self.learning_rate))
        elif descent:
            raise _bad("learning_rate", "a positive number for method='gradient_descent'", None)
        if self.save_times is not None:
            if descent:
                raise ValueError(
                    "FlowOptions: `save_times` is for the Runge-Kutta methods; gradient descent "
                    "saves every `save_every` iterations."
                )
            put("save_times", self._check_save_times(self.save_times))
        if self.save_every is not None:
            if not descent:
                raise ValueError(
                    f"FlowOptions: `save_every` is for method='gradient_descent'; with "
                    f"method={self.method!r} give `save_times`."
                )
            put("save_every", _count("save_every", self.save_every))

    def _check_save_times(self, values) -> tuple[float, ...]:
        try:
            times = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise _bad("save_times", "a sequence of numbers", values) from None
        if times.ndim != 1 or times.size == 0:
            raise _bad("save_times", "a non-empty 1-D sequence of times", values)
        if not np.all(np.isfinite(times)) or times[0] < 0 or times[-1] > self.t_max:
            raise _bad("save_times", f"finite times in [0, t_max = {self.t_max}]", values)
        if np.any(np.diff(times) <= 0):
            raise _bad("save_times", "strictly increasing", values)
        return tuple(times.tolist())

    def as_attrs(self) -> dict[str, Any]:
        """The options as Dataset attributes (``save_times`` become a coordinate instead)."""
        out = asdict(self)
        del out["save_times"]
        return out
