"""Systems: an autonomous ODE ``x' = f(x; p)`` with named states and parameters.

A :class:`System` wraps a user vector field ``f(x, p)`` that accepts states of any leading
batch shape ``(..., n)`` and a mapping ``p`` of parameter values, and returns ``(..., n)``. The
Jacobian is the user's analytic one when given, and a fourth-order finite difference otherwise. A
:class:`GradientSystem` comes from a potential ``V(x, p)``: ``f = -grad V``, ``jac = -hess V``.

User callables are probed once, on construction, at a generic state: shapes, batching and
finiteness are checked there, with errors that say what was expected and what came.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._fd import fd_derivative_scalar, fd_gradient, fd_jacobian
from ._lazy import check_name, load_name
from ._validate import as_state_batch, check_names, check_params
from .errors import (
    DynsysError,
    InputError,
    InputTypeError,
    InvalidSystemError,
    UnknownParameterError,
)

__all__ = [
    "CompiledField",
    "DescentKernel",
    "Dynamics",
    "GradientSystem",
    "System",
    "is_model",
    "model",
]

Params = Mapping[str, Any]
VectorField = Callable[[np.ndarray, Params], np.ndarray]
ParamDerivative = Callable[[np.ndarray, Params, str], np.ndarray]

_JAC_CHECK_MAX_N = 200  # compare an analytic Jacobian with finite differences up to this size
_JAC_CHECK_RTOL = 1e-4


_STENCIL = np.array([-2.0, -1.0, 1.0, 2.0])  # fourth-order central differences
_STENCIL_WEIGHTS = np.array([1.0, -8.0, 8.0, -1.0]) / 12.0
_REL_STEP_DIRECTIONAL = np.finfo(float).eps ** 0.2
_CHECK_DIRECTIONS = 3  # directions along which a sparse Jacobian is checked


def _check_directions(n: int) -> np.ndarray:
    """Fixed test directions for a sparse Jacobian check, shape ``(3, n)``, entries of size ~1:
    a smooth positive one and two of seeded random signs and sizes (so that no structured error,
    such as a wrong off-diagonal sign or a misplaced entry, cancels in ``J v``)."""
    k = np.arange(n)
    smooth = 1.0 + 0.5 * np.sin(1.3 * k + 0.7)
    rng = np.random.default_rng(20240614)
    noisy = rng.uniform(0.5, 1.5, (_CHECK_DIRECTIONS - 1, n))
    noisy *= rng.choice([-1.0, 1.0], noisy.shape)
    return np.vstack([smooth, noisy])


def _default_probe(n: int) -> np.ndarray:
    """A generic state: no zeros, no symmetry between coordinates."""
    k = np.arange(n)
    return 0.45 + 0.3 * np.sin(1.7 * k + 0.4)


@contextmanager
def _user_code(label: str, x: np.ndarray):
    """Turn an exception of a user callable into one clear :class:`InvalidSystemError`."""
    try:
        yield
    except (DynsysError, MemoryError):
        raise
    except Exception as exc:
        flat = np.asarray(x, dtype=float).reshape(-1, np.shape(x)[-1] if np.ndim(x) else 1)
        first = flat[0].tolist() if len(flat) and flat.shape[1] <= 8 else "..."
        raise InvalidSystemError(
            f"`{label}` raised {type(exc).__name__}: {exc} (on a batch of {len(flat)} state(s), "
            f"the first {first}); make it return NaN where it is not defined, so that the "
            "items there are reported as non-finite."
        ) from exc


def _shape_error(what: str, got, expected, n: int, hint: str = "") -> InvalidSystemError:
    return InvalidSystemError(
        f"`{what}` returned shape {tuple(got)}; expected {tuple(expected)} for n={n} states. "
        f"{hint}".rstrip()
    )


_MODEL_MARK = "__dynsys_model__"


def model(factory: Callable[..., System]) -> Callable[..., System]:
    """Declare ``factory`` a model factory: a function of plain arguments that returns a System.

    A spec file may name a factory (``[model] factory = "package.module:function"``) only when it
    carries this mark (or is registered as an entry point of the ``dynsys.models`` group):
    specs are data, so nothing else can be called from one.

    Examples
    --------
    >>> import numpy as np
    >>> @model
    ... def decay(rate: float = 1.0) -> System:
    ...     return System(lambda x, p: -p["rate"] * x, ["x"], {"rate": rate}, name="decay")
    >>> is_model(decay), is_model(print)
    (True, False)
    """
    if not callable(factory):
        raise InputTypeError(f"@model decorates a function; got {type(factory).__name__}.")
    setattr(factory, _MODEL_MARK, True)
    return factory


def is_model(obj: Any) -> bool:
    """Whether ``obj`` was declared a model factory with :func:`model`."""
    return callable(obj) and getattr(obj, _MODEL_MARK, False) is True


@dataclass(frozen=True)
class CompiledField:
    """A vector field in compiled code, declared by a model with
    :meth:`System.with_compiled_field`: ``function(y, params, out)`` writes ``f(y)`` for one
    state ``y (n,)`` into ``out (n,)``, ``params`` being the parameter values in the order
    ``params``. It is compiled with ``numba.njit(dynsys.integrate.compiled_field_signature(),
    cache=True, nogil=True)`` and must compute exactly what the system's numpy field computes
    (the same operations in the same order): results must not depend on the path taken.

    A model may also declare its Jacobian and parameter derivative in compiled code (both or
    neither); continuation of equilibria then runs its predictor-corrector loop compiled, with the
    results of the Python loop (:meth:`System.with_compiled_field` for integration and
    continuation, :meth:`System.with_compiled_derivatives` for continuation only). They too must
    compute exactly what the system's ``jac`` and ``dfdp`` compute, and are compiled with the
    signatures of :func:`dynsys.continuation.compiled_signatures`.

    Parameters
    ----------
    function : str
        ``"package.module:name"`` of the compiled function (a name, so that the field pickles
        as a name and numba is imported only when a compiled loop runs it).
    params : sequence of str
        The parameter names, in the order the function reads them.
    lanes : str, optional
        ``"package.module:name"`` of the same field in lane form, compiled with
        ``numba.njit(dynsys.integrate.lane_field_signature(), ...)``: ``lanes(Y, params, OUT)``
        writes ``f`` of every column of ``Y (n, k)`` into ``OUT (n, k)``, each with the
        operations of ``function``. With it, orbits advance 32 at a time in vector
        instructions (the same orbits, bit for bit).
    jacobian : str, optional
        ``"package.module:name"`` of ``jacobian(y, params, out)``, writing ``df_i/dy_j`` into
        ``out (n, n)``.
    param_derivative : str, optional
        ``"package.module:name"`` of ``param_derivative(y, params, k, out)``, writing the
        derivative of ``f`` with respect to parameter ``params[k]`` into ``out (n,)``.

    Examples
    --------
    >>> CompiledField("dynsys.models._compiled_fields:duffing", ("delta", "alpha", "beta")).params
    ('delta', 'alpha', 'beta')
    >>> from dynsys.models import lorenz
    >>> lorenz().compiled_derivatives.has_derivatives
    True
    """

    function: str
    params: tuple[str, ...] = ()
    lanes: str | None = None
    jacobian: str | None = None
    param_derivative: str | None = None

    def __post_init__(self) -> None:
        for label in ("function", "lanes", "jacobian", "param_derivative"):
            value = getattr(self, label)
            if value is not None or label == "function":
                check_name(label, value)
        if (self.jacobian is None) != (self.param_derivative is None):
            raise InputError(
                "declare both `jacobian` and `param_derivative` in compiled code, or neither; "
                f"got jacobian={self.jacobian!r}, param_derivative={self.param_derivative!r}."
            )
        object.__setattr__(self, "params", tuple(str(p) for p in self.params))

    @property
    def has_derivatives(self) -> bool:
        """Whether the Jacobian and the parameter derivative are declared too."""
        return self.jacobian is not None

    def load(self):
        """The compiled function (imports its module, and with it numba)."""
        return load_name(self.function)

    def load_lanes(self):
        """The compiled function in lane form, or None when none is declared."""
        return None if self.lanes is None else load_name(self.lanes)

    def load_derivatives(self):
        """The compiled ``(jacobian, param_derivative)`` (imports their modules, and numba).

        Raises
        ------
        dynsys.errors.InputError
            If they are not declared.
        """
        if not self.has_derivatives:
            raise InputError(f"the compiled field {self.function!r} declares no derivatives.")
        return load_name(self.jacobian), load_name(self.param_derivative)


class DescentKernel(ABC):
    """The one hook by which a model speeds up gradient descent ``x <- x - eta grad V``.

    :func:`dynsys.integrate.flow` runs a batch of descents in numpy; once at most
    :attr:`max_batch` runs remain (and no states are saved), it hands each of them to
    :meth:`run`, which must apply the same update and the same stopping rules (a compiled loop,
    for example: a lone run otherwise pays numpy's dispatch per iteration). A model passes its
    kernel to :class:`GradientSystem` (``descent_kernel=``); results must not depend on it.
    """

    max_batch: int = 12
    """Largest number of remaining runs that are handed over."""

    @abstractmethod
    def run(
        self,
        x: np.ndarray,
        k: int,
        *,
        learning_rate: float,
        converge_tol: float | None,
        converge_block: int | None,
        escape_radius: float,
        k_time: int,
        max_steps: int,
        g: np.ndarray | None = None,
    ) -> tuple[np.ndarray, int, int, float]:
        """Descend from state ``x`` (gradient ``g``) at iteration ``k`` until a stopping rule
        holds; return ``(x, k, status code, |grad V|^2)`` at the last iterate."""


class Dynamics:
    """What a flow (:class:`System`) and a map (:class:`dynsys.maps.Map`) share: named states
    and parameters, a vectorized right-hand side checked on construction, its Jacobian (analytic
    or finite differences) and parameter derivatives.

    Algorithms take a :class:`System` (a flow) or a :class:`~dynsys.maps.Map` explicitly; this
    base class only holds the common machinery.
    """

    is_gradient = False
    is_map = False

    def __init__(
        self,
        f: VectorField,
        state_names: int | Sequence[str],
        params: Mapping[str, float] | None = None,
        *,
        jac: Callable[[np.ndarray, Params], Any] | None = None,
        dfdp: ParamDerivative | None = None,
        name: str = "system",
        probe: np.ndarray | Sequence[float] | None = None,
        check_jacobian: bool = True,
    ) -> None:
        if not callable(f):
            raise InvalidSystemError(f"`f` must be callable f(x, p); got {type(f).__name__}.")
        for label, fn in (("jac", jac), ("dfdp", dfdp)):
            if fn is not None and not callable(fn):
                raise InvalidSystemError(f"`{label}` must be callable; got {type(fn).__name__}.")
        if isinstance(state_names, int | np.integer):
            if state_names < 1:
                raise InvalidSystemError(f"a system needs at least one state; got {state_names}.")
            state_names = [f"x{i}" for i in range(int(state_names))]
        self._state_names = check_names(state_names, "state_names")
        self._params = self._clean_params(params or {})
        self._f = f
        self._jac = jac
        self._dfdp = dfdp
        self._name = str(name)
        n = len(self._state_names)
        self._probe = _default_probe(n) if probe is None else as_state_batch(probe, n, name="probe")
        if self._probe.shape != (n,):
            raise InvalidSystemError(f"`probe` must be one state of shape ({n},).")
        self._jac_is_sparse = False
        self._check_callables(check_jacobian)

    # ------------------------------------------------------------------ construction checks
    @staticmethod
    def _clean_params(params: Mapping[str, float]) -> dict[str, float]:
        names = check_names(list(params), "params")
        out = {}
        for key in names:
            value = params[key]
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                raise InvalidSystemError(
                    f"parameter `{key}` must be a real number; got {value!r}."
                ) from None
            if not np.isfinite(out[key]):
                raise InvalidSystemError(f"parameter `{key}` must be finite; got {value!r}.")
        return out

    def _check_callables(self, check_jacobian: bool) -> None:
        n, x = self.n, self._probe
        hint_batch = "Index the last axis (x[..., i]) so that any leading batch shape works."
        try:
            fx = np.asarray(self._raw_f(x, self._params), dtype=float)
        except UnknownParameterError:
            raise
        except Exception as exc:  # the user's code failed: say where
            raise InvalidSystemError(
                f"`{self._field_label}` failed at the probe state {x.tolist()}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if fx.shape != (n,):
            raise _shape_error(self._field_label, fx.shape, (n,), n, hint_batch)
        if not np.all(np.isfinite(fx)):
            raise InvalidSystemError(
                f"`{self._field_label}` is not finite at the probe state {x.tolist()} "
                f"(got {fx.tolist()}); pass `probe=` a state where it is finite."
            )
        batch = (x * (1.0 + 1e-3 * np.arange(4.0))[:, None]).reshape(2, 2, n)
        fb = np.asarray(self._raw_f(batch, self._params), dtype=float)
        if fb.shape != (2, 2, n):
            raise _shape_error(
                self._field_label + " on a batch of shape (2, 2, n)",
                fb.shape,
                (2, 2, n),
                n,
                hint_batch,
            )
        if not np.allclose(fb[0, 0], fx, rtol=1e-12, atol=1e-12):
            raise InvalidSystemError(
                f"`{self._field_label}` gives different values for one state alone and in a batch; "
                f"{hint_batch}"
            )
        if self._has_analytic_jac:
            self._check_jacobian(x, batch, fx, check_jacobian)

    _field_label = "f"
    _jac_label = "jac"
    _dfdp_label = "dfdp"
    _kind = "general"

    @property
    def _has_analytic_jac(self) -> bool:
        return self._jac is not None

    def _check_jacobian(self, x, batch, fx, check_values: bool) -> None:
        n = self.n
        J = self._raw_jac(x, self._params)
        if sp.issparse(J):
            self._jac_is_sparse = True
            if J.shape != (n, n):
                raise _shape_error(self._jac_label, J.shape, (n, n), n)
            self._check_sparse_jacobian(J, x, fx, check_values)
            return
        J = np.asarray(J, dtype=float)
        if J.shape != (n, n):
            raise _shape_error(self._jac_label, J.shape, (n, n), n)
        Jb = np.asarray(self._raw_jac(batch, self._params), dtype=float)
        if Jb.shape != (2, 2, n, n):
            raise _shape_error(
                self._jac_label + " on a batch of shape (2, 2, n)",
                Jb.shape,
                (2, 2, n, n),
                n,
                "Return (..., n, n) for states (..., n).",
            )
        if not np.all(np.isfinite(J)):
            raise InvalidSystemError(
                f"`{self._jac_label}` is not finite at the probe state; pass `probe=` a state "
                "where it is finite."
            )
        if check_values and n > _JAC_CHECK_MAX_N:
            absJ = np.abs(J)
            self._check_directional(
                lambda v: J @ v, x, fx, "", lambda v: float(np.max(absJ @ np.abs(v)))
            )
        elif check_values:
            J_fd = fd_jacobian(lambda z: self._raw_f(z, self._params), x)
            scale = max(np.abs(J_fd).max(), np.abs(fx).max(), 1.0)
            err = np.abs(J - J_fd).max() / scale
            if err > _JAC_CHECK_RTOL:
                i, j = np.unravel_index(np.argmax(np.abs(J - J_fd)), J.shape)
                raise InvalidSystemError(
                    f"`{self._jac_label}` disagrees with finite differences of "
                    f"`{self._field_label}` at the probe state: entry ({i}, {j}) is {J[i, j]:.6g}, "
                    f"finite differences give {J_fd[i, j]:.6g} (relative error {err:.2e}). "
                    "Fix the Jacobian, or pass check_jacobian=False if the field is not smooth "
                    "there."
                )

    def _check_sparse_jacobian(self, J, x, fx, check_values: bool) -> None:
        """A sparse Jacobian is checked without densifying it: finite stored entries, and
        ``J @ v`` against finite differences of ``f`` along a few fixed directions."""
        if not np.all(np.isfinite(J.data)):
            raise InvalidSystemError(
                f"`{self._jac_label}` is not finite at the probe state; pass `probe=` a state "
                "where it is finite."
            )
        if check_values:
            absJ = abs(J)
            self._check_directional(
                lambda v: J @ v, x, fx, "(sparse)", lambda v: float(np.max(absJ @ np.abs(v)))
            )

    def _check_directional(self, matvec, x, fx, what: str, magnitude=None) -> None:
        """``matvec(v)`` (the Jacobian applied to ``v``) against a fourth-order directional
        finite difference of ``f`` along a few fixed directions (one batched evaluation of
        ``f``): cost linear in ``n``, used where a full finite-difference Jacobian is too big
        (sparse Jacobians, dense ones above ``_JAC_CHECK_MAX_N``, matrix-free actions)."""
        directions = _check_directions(self.n)
        h = _REL_STEP_DIRECTIONAL * max(1.0, float(np.max(np.abs(x))))
        points = x + h * _STENCIL[:, None, None] * directions  # (4, k, n)
        values = np.asarray(self._raw_f(points, self._params), dtype=float)
        fd = np.einsum("s,skn->kn", _STENCIL_WEIGHTS, values) / h  # (k, n)
        for v, d in zip(directions, fd, strict=True):
            Jv = np.asarray(matvec(v), dtype=float).ravel()
            size = magnitude(v) if magnitude is not None else float(np.max(np.abs(Jv)))
            scale = max(size, float(np.max(np.abs(fx))), 1.0)
            gap = np.abs(Jv - d)
            err = float(np.max(gap)) / scale
            if err > _JAC_CHECK_RTOL:
                i = int(np.argmax(gap))
                raise InvalidSystemError(
                    f"`{self._jac_label}` {what} disagrees with finite differences of "
                    f"`{self._field_label}` at the probe state: along a test direction v, row "
                    f"{i} of J v is {Jv[i]:.6g}, finite differences give {d[i]:.6g} (relative "
                    f"error {err:.2e}). Fix the Jacobian, or pass check_jacobian=False if the "
                    "field is not smooth there."
                )

    # ------------------------------------------------------------------ raw evaluation hooks
    def _raw_f(self, x: np.ndarray, p: Params) -> np.ndarray:
        return self._f(x, p)

    def _raw_jac(self, x: np.ndarray, p: Params):
        return self._jac(x, p)

    # ------------------------------------------------------------------ public API
    @property
    def name(self) -> str:
        """Name stamped on results."""
        return self._name

    @property
    def n(self) -> int:
        """Number of state variables."""
        return len(self._state_names)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the state variables, in order."""
        return self._state_names

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the parameters."""
        return tuple(self._params)

    @property
    def params(self) -> Mapping[str, float]:
        """Default parameter values (read-only)."""
        return MappingProxyType(self._params)

    @property
    def has_analytic_jacobian(self) -> bool:
        """True when the Jacobian is the user's analytic one, not finite differences."""
        return self._has_analytic_jac

    @property
    def jacobian_is_sparse(self) -> bool:
        """True when the analytic Jacobian of a single state is a ``scipy.sparse`` matrix."""
        return self._jac_is_sparse

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by ``params``; an unknown name is an error.

        Examples
        --------
        >>> from dynsys.models import lorenz
        >>> lorenz().resolve_params({"r": 1.0})["r"]
        1.0
        """
        if not params:
            return dict(self._params)
        check_params(params, self._params, f"system '{self._name}'")
        merged = dict(self._params)
        merged.update(params)
        return merged

    def with_params(self, **values: float):
        """A copy of the system with new default parameter values.

        Examples
        --------
        >>> from dynsys.models import lorenz
        >>> lorenz().with_params(r=10.0).params["r"]
        10.0
        """
        check_params(values, self._params, f"system '{self._name}'.with_params")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._params = self._clean_params({**self._params, **values})
        return new

    def jac(self, x, params: Mapping[str, Any] | None = None):
        """The Jacobian ``df_i/dx_j`` at ``x``; shape ``(..., n, n)``.

        For a system with a sparse analytic Jacobian and a single state, a ``scipy.sparse`` matrix
        is returned; for a batch, a dense stack.
        """
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        if not self._has_analytic_jac:
            with _user_code(self._field_label, x):
                return fd_jacobian(lambda z: self._raw_f(z, p), x)
        with _user_code(self._jac_label, x):
            if self._jac_is_sparse:
                if x.ndim == 1:
                    return self._raw_jac(x, p)
                flat = x.reshape(-1, self.n)
                if flat.shape[0] == 0:
                    return np.zeros((*x.shape, self.n))
                dense = np.stack([self._raw_jac(xi, p).toarray() for xi in flat])
                return dense.reshape(*x.shape, self.n)
            return np.asarray(self._raw_jac(x, p), dtype=float)

    def jac_dense(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The Jacobian as a dense array of shape ``(..., n, n)``, whatever its storage."""
        J = self.jac(x, params)
        return J.toarray() if sp.issparse(J) else J

    def _param_derivative(self, x, name: str, params: Mapping[str, Any] | None) -> np.ndarray:
        if name not in self._params:
            raise UnknownParameterError(
                f"system '{self._name}' has no parameter {name!r}; it has {sorted(self._params)}."
            )
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        if self._dfdp is not None:
            with _user_code(self._dfdp_label, x):
                return np.asarray(self._dfdp(x, p, name), dtype=float)
        with _user_code(self._field_label, x):
            return fd_derivative_scalar(lambda v: self._raw_f(x, {**p, name: v}), p[name])

    def describe(self) -> dict[str, Any]:
        """Provenance attributes: system name, kind, state names and parameter values."""
        out: dict[str, Any] = {
            "system": self._name,
            "system_kind": self._kind,
            "state_names": " ".join(self._state_names),
        }
        for key, value in self._params.items():
            out[f"param_{key}"] = value
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self._params.items())
        names = list(self._state_names)
        states = names if len(names) <= 6 else [*names[:3], "...", *names[-2:]]
        kind = type(self).__name__
        return f"{kind}({self._name!r}, n={self.n}, states={states}, params={{{params}}})"


class System(Dynamics):
    """An autonomous ODE ``x' = f(x; p)`` with named state variables and parameters.

    Parameters
    ----------
    f : callable
        ``f(x, p) -> (..., n)`` for ``x`` of shape ``(..., n)`` and ``p`` a mapping from parameter
        name to value. Must work for any leading batch shape (write ``x[..., 0]``, not ``x[0]``).
    state_names : int or sequence of str
        Names of the state variables, or their number (then named ``x0, x1, ...``).
    params : mapping, optional
        Parameter names and default values.
    jac : callable, optional
        Analytic Jacobian ``jac(x, p) -> (..., n, n)``; for a single state it may return a
        ``scipy.sparse`` matrix (large systems). Finite differences are used when omitted.
    dfdp : callable, optional
        Analytic ``dfdp(x, p, name) -> (..., n)``, the derivative with respect to parameter
        ``name``. Finite differences are used when omitted.
    name : str
        Name stamped on results.
    probe : array_like, optional
        A state where ``f`` is finite and smooth, used to check the callables on construction.
    check_jacobian : bool
        Compare an analytic Jacobian with finite differences at the probe state (n <= 200).

    Raises
    ------
    InvalidSystemError
        If a callable returns the wrong shape, does not batch, or is not finite at the probe.

    Examples
    --------
    >>> import numpy as np
    >>> def f(x, p):
    ...     return np.stack([x[..., 1], -p["k"] * x[..., 0]], axis=-1)
    >>> osc = System(f, ["q", "v"], {"k": 4.0}, name="oscillator")
    >>> osc.f(np.array([1.0, 0.0])).tolist()
    [0.0, -4.0]
    >>> osc.jac(np.zeros(2), {"k": 1.0}).round(6).tolist()
    [[0.0, 1.0], [-1.0, 0.0]]
    """

    is_gradient = False
    is_map = False

    @property
    def descent_kernel(self) -> DescentKernel | None:
        """The model's own gradient-descent loop (:class:`DescentKernel`), or None."""
        return None

    @property
    def compiled_field(self):
        """The vector field declared as compiled code (:class:`CompiledField`), or None."""
        return self.__dict__.get("_compiled_field")

    @property
    def compiled_derivatives(self):
        """The field, Jacobian and parameter derivative declared as compiled code for
        continuation (a :class:`CompiledField` with ``jacobian`` and ``param_derivative``), or
        None: the one declared with :meth:`with_compiled_derivatives`, else the compiled field
        when it declares them."""
        declared = self.__dict__.get("_compiled_derivatives")
        if declared is not None:
            return declared
        field = self.compiled_field
        return field if field is not None and field.has_derivatives else None

    def _checked_compiled(self, field, what: str) -> CompiledField:
        if not isinstance(field, CompiledField):
            raise InputTypeError(
                f"`field` must be a dynsys.system.CompiledField; got {type(field).__name__}."
            )
        missing = sorted(set(self.params) ^ set(field.params))
        if missing:
            raise InvalidSystemError(
                f"the compiled {what} takes the parameters {list(field.params)} but "
                f"{self.name!r} has {list(self.params)}; name each parameter once, in the order "
                "the compiled function reads them."
            )
        return field

    def with_compiled_field(self, field) -> System:
        """A copy of the system that declares ``field`` (a :class:`CompiledField`) as its
        vector field in compiled code;
        :func:`dynsys.integrate.flow` then follows its orbits one by one in a compiled loop
        (``dopri5``, no save times), with the same results; when ``field`` declares the Jacobian
        and parameter derivative too, continuation uses them as well (see
        :meth:`with_compiled_derivatives`). ``None`` gives a copy without compiled code (the
        numpy path everywhere).

        Examples
        --------
        >>> from dynsys.models import duffing
        >>> duffing().compiled_field.params
        ('delta', 'alpha', 'beta')
        >>> duffing().with_compiled_field(None).compiled_field is None
        True
        """
        if field is None:
            return self._declaring("_compiled_field", None)._declaring(
                "_compiled_derivatives", None
            )
        return self._declaring("_compiled_field", self._checked_compiled(field, "field"))

    def with_compiled_derivatives(self, field) -> System:
        """A copy of the system that declares its field, Jacobian and parameter derivative in
        compiled code (``field``, a :class:`CompiledField` with ``jacobian`` and
        ``param_derivative``) for continuation only: continuation of equilibria then steps in a
        compiled loop, with the same results; integration is not affected (that is
        :meth:`with_compiled_field`). ``None`` gives a copy without this declaration.

        Examples
        --------
        >>> from dynsys.models import lorenz
        >>> lorenz().compiled_derivatives.jacobian
        'dynsys.models._compiled_fields:lorenz_jacobian'
        >>> lorenz().compiled_field is None  # its orbits are integrated by numpy
        True
        >>> lorenz().with_compiled_derivatives(None).compiled_derivatives is None
        True
        """
        if field is None:
            return self._declaring("_compiled_derivatives", None)
        field = self._checked_compiled(field, "derivatives")
        if not field.has_derivatives:
            raise InputError(
                "`field` must declare `jacobian` and `param_derivative`; use "
                "with_compiled_field for a compiled vector field alone."
            )
        return self._declaring("_compiled_derivatives", field)

    def _declaring(self, key: str, value) -> System:
        """A copy of the system with the declaration ``key`` set to ``value`` (None: removed)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.pop(key, None)
        if value is not None:
            new.__dict__[key] = value
        return new

    @property
    def trapping_regions(self):
        """The trapping regions the model proves (:class:`dynsys.TrappingRegions`), or None."""
        return self.__dict__.get("_trapping_regions")

    def with_trapping_regions(self, traps) -> System:
        """A copy of the system that declares ``traps`` (a :class:`dynsys.TrappingRegions`):
        regions of a Lyapunov function in which an orbit provably converges to the one attracting
        point they hold. Basin computations stop orbits there (``BasinOptions.trapping_regions``).
        ``None`` gives a copy without them.

        Examples
        --------
        >>> from dynsys.models import duffing
        >>> duffing().trapping_regions.params
        ('delta', 'alpha', 'beta')
        >>> duffing().with_trapping_regions(None).trapping_regions is None
        True
        """
        from ._trapping import TrappingRegions

        if traps is not None:
            if not isinstance(traps, TrappingRegions):
                raise InputTypeError(
                    f"`traps` must be a dynsys.TrappingRegions; got {type(traps).__name__}."
                )
            unknown = sorted(set(traps.params) - set(self.params))
            if unknown:
                raise UnknownParameterError(
                    f"the trapping regions read the parameters {unknown}, which {self.name!r} "
                    f"does not have (it has {list(self.params)})."
                )
        return self._declaring("_trapping_regions", traps)

    @property
    def has_potential(self) -> bool:
        """Whether the system has a ``potential`` (a loss, or a Lyapunov function)."""
        return False

    def f(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The vector field at states ``x`` of shape ``(..., n)``; returns ``(..., n)``.

        Raises
        ------
        InvalidSystemError
            If the user's field raises (the message names the exception and a state).
        """
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        with _user_code(self._field_label, x):
            return np.asarray(self._raw_f(x, p))

    __call__ = f

    def dfdp(self, x, name: str, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """Derivative of the vector field with respect to the parameter ``name``; ``(..., n)``.

        Examples
        --------
        >>> from dynsys.models import fold_normal_form
        >>> fold_normal_form().dfdp([0.3], "mu").tolist()
        [1.0]
        """
        return self._param_derivative(x, name, params)


class GradientSystem(System):
    """The gradient flow ``x' = -grad V(x; p)`` of a potential (a loss) ``V``.

    Parameters
    ----------
    V : callable
        ``V(x, p) -> (...)`` for states ``(..., n)``.
    state_names, params, name, probe, check_jacobian
        As for :class:`System`.
    grad : callable, optional
        Analytic gradient ``grad(x, p) -> (..., n)``; finite differences of ``V`` otherwise.
    hess : callable, optional
        Analytic Hessian ``hess(x, p) -> (..., n, n)`` (or sparse for one state); finite
        differences of the gradient otherwise.
    dfdp : callable, optional
        Analytic derivative of the *vector field* ``-grad V`` with respect to a parameter.
    descent_kernel : DescentKernel, optional
        The model's own gradient-descent loop for the last runs of a batch.

    Examples
    --------
    >>> import numpy as np
    >>> bowl = GradientSystem(lambda x, p: 0.5 * (x**2).sum(-1), ["x", "y"], name="bowl")
    >>> bowl.f(np.array([1.0, -2.0])).round(9).tolist()
    [-1.0, 2.0]
    >>> float(bowl.potential(np.array([1.0, -2.0])))
    2.5
    """

    is_gradient = True
    _kind = "gradient"
    _field_label = "grad"
    _jac_label = "hess"

    def __init__(
        self,
        V: Callable[[np.ndarray, Params], np.ndarray],
        state_names: int | Sequence[str],
        params: Mapping[str, float] | None = None,
        *,
        grad: Callable[[np.ndarray, Params], np.ndarray] | None = None,
        hess: Callable[[np.ndarray, Params], Any] | None = None,
        dfdp: ParamDerivative | None = None,
        name: str = "gradient system",
        probe: np.ndarray | Sequence[float] | None = None,
        check_jacobian: bool = True,
        descent_kernel: DescentKernel | None = None,
    ) -> None:
        if descent_kernel is not None and not isinstance(descent_kernel, DescentKernel):
            raise InputTypeError(
                "`descent_kernel` must be a dynsys.system.DescentKernel; got "
                f"{type(descent_kernel).__name__}."
            )
        self._descent_kernel = descent_kernel
        if not callable(V):
            raise InvalidSystemError(f"`V` must be callable V(x, p); got {type(V).__name__}.")
        for label, fn in (("grad", grad), ("hess", hess)):
            if fn is not None and not callable(fn):
                raise InvalidSystemError(f"`{label}` must be callable; got {type(fn).__name__}.")
        self._V = V
        self._grad = grad
        self._hess = hess
        if grad is None:
            self._field_label = "V (finite-difference gradient)"
        super().__init__(
            self._neg_grad,
            state_names,
            params,
            jac=None,
            dfdp=dfdp,
            name=name,
            probe=probe,
            check_jacobian=check_jacobian,
        )

    def _check_callables(self, check_jacobian: bool) -> None:
        self._check_potential()
        super()._check_callables(check_jacobian)

    @property
    def descent_kernel(self) -> DescentKernel | None:
        """The model's own gradient-descent loop (:class:`DescentKernel`), or None."""
        return self._descent_kernel

    @property
    def has_potential(self) -> bool:
        """True: the potential ``V``."""
        return True

    def _neg_grad(self, x, p):
        return -self._raw_grad(x, p)

    def _raw_grad(self, x, p):
        if self._grad is not None:
            return np.asarray(self._grad(x, p), dtype=float)
        return fd_gradient(lambda z: self._V(z, p), x)

    @property
    def _has_analytic_jac(self) -> bool:
        return self._hess is not None

    def _raw_jac(self, x, p):
        H = self._hess(x, p)
        return -H if sp.issparse(H) else -np.asarray(H, dtype=float)

    def _check_potential(self) -> None:
        x = self._probe
        try:
            v = np.asarray(self._V(x, self._params), dtype=float)
        except Exception as exc:
            raise InvalidSystemError(
                f"`V` failed at the probe state {x.tolist()}: {type(exc).__name__}: {exc}"
            ) from exc
        if v.shape != ():
            raise InvalidSystemError(
                f"`V` returned shape {v.shape} for one state; expected a scalar, shape (). "
                "Reduce over the last axis only (e.g. `.sum(axis=-1)`)."
            )
        if not np.isfinite(v):
            raise InvalidSystemError(
                f"`V` is not finite at the probe state {x.tolist()}; pass `probe=` a state where "
                "it is finite."
            )
        vb = np.asarray(self._V(x * (1.0 + 1e-3 * np.arange(3.0))[:, None], self._params))
        if vb.shape != (3,):
            raise InvalidSystemError(
                f"`V` returned shape {vb.shape} for a batch of 3 states; expected (3,). "
                "Reduce over the last axis only."
            )
        if self._grad is not None and self.n <= _JAC_CHECK_MAX_N:
            g = self._raw_grad(x, self._params)
            g_fd = fd_gradient(lambda z: self._V(z, self._params), x)
            err = np.abs(g - g_fd).max() / max(np.abs(g_fd).max(), abs(float(v)), 1.0)
            if err > _JAC_CHECK_RTOL:
                raise InvalidSystemError(
                    f"`grad` disagrees with finite differences of `V` at the probe state "
                    f"(relative error {err:.2e}); fix the gradient."
                )

    def potential(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The potential ``V`` at states ``(..., n)``; returns ``(...)``."""
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        with _user_code("V", x):
            return np.asarray(self._V(x, p))

    energy = potential

    def gradient(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """``grad V`` at states ``(..., n)``; returns ``(..., n)``."""
        x = np.asarray(x, dtype=float)
        p = self.resolve_params(params)
        with _user_code(self._field_label, x):
            return self._raw_grad(x, p)

    def hessian(self, x, params: Mapping[str, Any] | None = None):
        """``Hess V`` at states ``(..., n)``; returns ``(..., n, n)`` (sparse for one state when
        the analytic Hessian is sparse)."""
        J = self.jac(x, params)
        return -J
