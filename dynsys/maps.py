"""Maps: discrete-time systems ``x_{k+1} = g(x_k; p)``, and gradient descent as one.

Gradient descent with a finite step is a map, not a flow: ``g(x) = x - eta grad V(x)``. Its fixed
points are the critical points of ``V``, but their stability is decided by the multipliers
``1 - eta lambda`` (``lambda`` the Hessian eigenvalues): a minimum stops attracting when
``eta lambda_max`` passes 2, where the map period-doubles. :func:`gradient_descent_map` builds
that map from any :class:`~dynsys.system.GradientSystem`, with the step a parameter like any
other, so it can be continued.

A :class:`Map` takes the same callables as a :class:`~dynsys.system.System` (vectorized over any
leading batch shape, checked on construction) but is not a System: algorithms for flows refuse
it, algorithms for maps take it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import InputError, InputTypeError, InvalidSystemError
from .system import Dynamics, ParamDerivative, Params, System, _user_code

__all__ = ["Map", "gradient_descent_map", "require_flow", "require_map"]


class Map(Dynamics):
    """A discrete-time system ``x_{k+1} = g(x_k; p)`` with named states and parameters.

    Parameters
    ----------
    g : callable
        ``g(x, p) -> (..., n)`` for states ``x`` of shape ``(..., n)`` and a mapping ``p`` of
        parameter values; must work for any leading batch shape.
    state_names : int or sequence of str
        Names of the state variables, or their number.
    params : mapping, optional
        Parameter names and default values.
    jac : callable, optional
        Analytic Jacobian ``Dg(x, p) -> (..., n, n)``; finite differences when omitted.
    dgdp : callable, optional
        ``dgdp(x, p, name) -> (..., n)``, the derivative with respect to parameter ``name``.
    name : str
        Name stamped on results.
    probe : array_like, optional
        A state where ``g`` is finite and smooth, used to check the callables.
    check_jacobian : bool
        Compare an analytic Jacobian with finite differences at the probe (n <= 200).

    Raises
    ------
    InvalidSystemError
        If a callable returns the wrong shape, does not batch, or is not finite at the probe.

    Examples
    --------
    >>> logistic = Map(lambda x, p: p["r"] * x * (1 - x), ["x"], {"r": 2.5}, name="logistic")
    >>> logistic.g([0.5]).tolist()
    [0.625]
    >>> float(logistic.iterate([0.5], 200)[0])  # the fixed point 1 - 1/r
    0.6
    """

    is_map = True
    _field_label = "g"
    _dfdp_label = "dgdp"
    _kind = "map"

    def __init__(
        self,
        g: Callable[[np.ndarray, Params], np.ndarray],
        state_names: int | Sequence[str],
        params: Mapping[str, float] | None = None,
        *,
        jac: Callable[[np.ndarray, Params], Any] | None = None,
        dgdp: ParamDerivative | None = None,
        name: str = "map",
        probe: np.ndarray | Sequence[float] | None = None,
        check_jacobian: bool = True,
    ) -> None:
        if not callable(g):
            raise InvalidSystemError(f"`g` must be callable g(x, p); got {type(g).__name__}.")
        if dgdp is not None and not callable(dgdp):
            raise InvalidSystemError(f"`dgdp` must be callable; got {type(dgdp).__name__}.")
        super().__init__(
            g,
            state_names,
            params,
            jac=jac,
            dfdp=dgdp,
            name=name,
            probe=probe,
            check_jacobian=check_jacobian,
        )

    @property
    def source(self) -> System | None:
        """The flow this map discretizes (for :func:`gradient_descent_map`), else None."""
        return getattr(self, "_source", None)

    @property
    def step_param(self) -> str | None:
        """The name of the step parameter of a discretized flow, else None."""
        return getattr(self, "_step_param", None)

    @property
    def has_potential(self) -> bool:
        """Whether the map descends a potential (a gradient-descent map of a gradient system)."""
        source = self.source
        return source is not None and source.has_potential

    def potential(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The potential of the source gradient system at states ``(..., n)``.

        Raises
        ------
        InputError
            If the map has no potential (see :attr:`has_potential`).
        """
        if not self.has_potential:
            raise InputError(f"map '{self.name}' has no potential; it is not a descent map.")
        p = self.resolve_params(params)
        own = {k: v for k, v in p.items() if k != self.step_param}
        return self.source.potential(x, own)

    energy = potential

    def g(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The image ``g(x)`` of states ``x`` of shape ``(..., n)``; returns ``(..., n)``."""
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        with _user_code(self._field_label, x):
            return np.asarray(self._raw_f(x, p))

    __call__ = g

    def dgdp(self, x, name: str, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """Derivative of ``g`` with respect to the parameter ``name``; shape ``(..., n)``.

        Examples
        --------
        >>> logistic = Map(lambda x, p: p["r"] * x * (1 - x), ["x"], {"r": 3.0})
        >>> round(float(logistic.dgdp([0.5], "r")[0]), 9)
        0.25
        """
        return self._param_derivative(x, name, params)

    def iterate(self, x, steps: int, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """``g`` applied ``steps`` times to states ``(..., n)``, with no checks on the way (see
        :func:`dynsys.integrate.iterate` for a batch run with stopping rules and outcomes).

        Examples
        --------
        >>> double = Map(lambda x, p: 2 * x, 1)
        >>> double.iterate([1.0], 10).tolist()
        [1024.0]
        """
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
            raise InputError(f"`steps` must be a non-negative integer; got {steps!r}.")
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        with _user_code(self._field_label, x):
            for _ in range(int(steps)):
                x = np.asarray(self._raw_f(x, p), dtype=float)
        return x

    def jac_iterate(
        self, x, steps: int, params: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The orbit ``x, g(x), ..., g^(steps-1)(x)`` and the Jacobian of ``g^steps`` at ``x``.

        The Jacobian is the chain-rule product ``Dg(x_(k-1)) ... Dg(x_1) Dg(x_0)``; its
        eigenvalues are the multipliers of a cycle of period ``steps`` through ``x``.

        Parameters
        ----------
        x : array_like, shape (..., n)
            States.
        steps : int
            Number of iterations ``k >= 1``.
        params : mapping, optional
            Parameter values overriding the defaults.

        Returns
        -------
        orbit : numpy.ndarray, shape (..., steps, n)
            The first ``steps`` points of the orbit of each state.
        jacobian : numpy.ndarray, shape (..., n, n)
            ``D(g^steps)`` at each state (dense).

        Examples
        --------
        >>> logistic = Map(lambda x, p: p["r"] * x * (1 - x), ["x"], {"r": 3.2})
        >>> orbit, J = logistic.jac_iterate([0.5], 2)
        >>> orbit[:, 0].round(4).tolist(), round(float(J[0, 0]), 6)  # g'(0.8) g'(0.5) = 0
        ([0.5, 0.8], 0.0)
        """
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
            raise InputError(f"`steps` must be a positive integer; got {steps!r}.")
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        n = self.n
        points = [x]
        J = np.broadcast_to(np.eye(n), (*x.shape[:-1], n, n))
        for i in range(int(steps)):
            J = np.asarray(self.jac_dense(points[-1], p), dtype=float) @ J
            if i + 1 < steps:
                points.append(self.g(points[-1], p))
        return np.stack(points, axis=-2), np.array(J)


def gradient_descent_map(
    system: System, *, step: float = 0.1, step_name: str = "eta", name: str | None = None
) -> Map:
    """Gradient descent on a gradient system as a map, ``g(x) = x - eta grad V(x)``.

    For a general :class:`~dynsys.system.System` this is the explicit Euler map
    ``x + eta f(x)``. The step is a parameter of the map (``step_name``), so it can be continued
    like any other; the Jacobian ``I - eta Hess V`` and the parameter derivatives come from the
    system's own (analytic where the system has them).

    Parameters
    ----------
    system : System or GradientSystem
        The flow to discretize.
    step : float
        Default step size ``eta`` (positive).
    step_name : str
        Name of the step parameter; must not clash with a parameter of the system.
    name : str, optional
        Name of the map (default: ``"gradient descent on <system>"``).

    Returns
    -------
    Map
        With ``source`` the system and ``step_param`` the step's name; ``potential`` is the
        system's potential when it has one.

    Raises
    ------
    InputTypeError
        If ``system`` is not a System.
    InputError
        If ``step`` is not a positive finite number or ``step_name`` is taken.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> gd = gradient_descent_map(double_well(), step=0.5)
    >>> gd.g([2.0, 1.0]).tolist()  # x - 0.5 * (x^3 - x), y - 0.5 * y
    [-1.0, 0.5]
    >>> gd.param_names[-1]
    'eta'
    """
    if not isinstance(system, System):
        raise InputTypeError(
            f"`system` must be a dynsys System or GradientSystem; got {type(system).__name__}."
        )
    if isinstance(step, bool) or not isinstance(step, int | float | np.number):
        raise InputError(f"`step` must be a positive number; got {step!r}.")
    if not (np.isfinite(step) and step > 0):
        raise InputError(f"`step` must be a positive finite number; got {step!r}.")
    if not isinstance(step_name, str) or not step_name.isidentifier():
        raise InputError(f"`step_name` must be an identifier; got {step_name!r}.")
    if step_name in system.param_names:
        raise InputError(
            f"`step_name`={step_name!r} is already a parameter of system '{system.name}'; "
            "choose another name."
        )
    own = system.param_names
    sparse = system.jacobian_is_sparse

    def split(p):
        return p[step_name], {k: p[k] for k in own}

    def g(x, p):
        eta, q = split(p)
        return x + eta * system._raw_f(x, q)

    def jac(x, p):
        eta, q = split(p)
        J = system.jac(x, q)
        if sp.issparse(J):
            return sp.identity(system.n, format="csr") + eta * J
        return np.eye(system.n) + eta * np.asarray(J, dtype=float)

    def dgdp(x, p, param):
        eta, q = split(p)
        if param == step_name:
            return np.asarray(system._raw_f(x, q), dtype=float)
        return eta * system.dfdp(x, param, q)

    out = Map(
        g,
        system.state_names,
        {**system.params, step_name: float(step)},
        jac=jac,
        dgdp=dgdp,
        name=name or f"gradient descent on {system.name}",
        probe=system._probe,
        check_jacobian=False,
    )
    out._source = system
    out._step_param = step_name
    out._jac_is_sparse = sparse
    return out


def require_flow(system: Any, what: str) -> None:
    """Raise a clear error when ``system`` is a :class:`Map` given to an algorithm for flows."""
    if isinstance(system, Map):
        raise InputTypeError(
            f"{what} takes a flow (a System); '{system.name}' is a Map. For maps use "
            "dynsys.integrate.iterate, dynsys.fixedpoints.find_cycles and continuation of map "
            "fixed points and cycles."
        )


def require_map(system: Any, what: str) -> Map:
    """``system`` if it is a :class:`Map`; otherwise a clear error."""
    if not isinstance(system, Map):
        hint = (
            " Build the map of gradient descent with dynsys.maps.gradient_descent_map(system)."
            if isinstance(system, System)
            else ""
        )
        raise InputTypeError(f"{what} takes a Map; got {type(system).__name__}.{hint}")
    return system
