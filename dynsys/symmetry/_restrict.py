"""Restriction of a System to an affine subspace ``x = c + E z``: the restricted vector field
``z' = E^+ f(c + E z)``, and systems with a Lyapunov function.

The restricted field is the exact dynamics on the subspace only when the subspace is invariant
(``f(c + E z)`` lies in the column space of ``E``), for example the fixed-point subspace of a
subgroup of symmetries of ``f``. Elsewhere it is the projection of the field, and
:func:`invariance_defect` measures what the projection drops.

For a gradient system ``f = -grad V`` on an invariant subspace, ``E^+ f(c + E z) =
-(E^T E)^{-1} grad_z V(c + E z)``: the restricted flow is the gradient flow of the restricted
potential ``V(c + E z)`` in the metric ``E^T E``. With orthonormal columns (``E^T E = I``) it is a
plain gradient flow and the restriction is a :class:`RestrictedGradientSystem`; otherwise it is a
:class:`RestrictedSystem` whose restricted potential is still a Lyapunov function (it decreases
along the flow at the rate ``-|grad_z V|^2_{(E^T E)^{-1}}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError, InvalidSystemError
from ..system import GradientSystem, System
from ._subspace import LinearEmbedding, as_embedding, invariance_defect

__all__ = [
    "LyapunovSystem",
    "RestrictedGradientSystem",
    "RestrictedSystem",
    "restrict_to_subspace",
]


class LyapunovSystem(System):
    """A System with a known Lyapunov function ``V`` (non-increasing along its orbits), such as a
    gradient flow in a non-Euclidean metric, ``x' = -M(x)^{-1} grad V``.

    Parameters
    ----------
    f, state_names, params, jac, dfdp, name, probe, check_jacobian
        As for :class:`dynsys.system.System`.
    lyapunov : callable
        ``V(x, p) -> (...)`` for states ``(..., n)``.

    Examples
    --------
    >>> def f(x, p):
    ...     return -x / 2.0
    >>> sys = LyapunovSystem(f, ["x"], lyapunov=lambda x, p: (x**2).sum(-1))
    >>> float(sys.potential([3.0]))
    9.0
    """

    def __init__(
        self,
        f: Callable,
        state_names: int | Sequence[str],
        params: Mapping[str, float] | None = None,
        *,
        lyapunov: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray],
        **kwargs: Any,
    ) -> None:
        if not callable(lyapunov):
            raise InvalidSystemError(
                f"`lyapunov` must be callable V(x, p); got {type(lyapunov).__name__}."
            )
        self._lyapunov = lyapunov
        super().__init__(f, state_names, params, **kwargs)

    @property
    def has_potential(self) -> bool:
        """True: the Lyapunov function."""
        return True

    def potential(self, x, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The Lyapunov function at states ``(..., n)``; returns ``(...)``."""
        return np.asarray(self._lyapunov(np.asarray(x, dtype=float), self.resolve_params(params)))

    energy = potential


class _Restriction:
    """What every restricted system knows: its parent and its embedding."""

    _parent: System
    _embedding: LinearEmbedding

    @property
    def parent(self) -> System:
        """The system on the ambient space."""
        return self._parent

    @property
    def embedding(self) -> LinearEmbedding:
        """The map ``z -> c + E z``."""
        return self._embedding

    def lift(self, z) -> np.ndarray:
        """Ambient states ``c + E z`` of subspace coordinates ``z (..., m)``."""
        return self._embedding.lift(z)

    def project(self, x) -> np.ndarray:
        """Subspace coordinates ``E^+ (x - c)`` of ambient states ``x (..., n)``."""
        return self._embedding.project(x)

    def invariance_defect(self, z, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """``|(I - E E^+) f(c + E z)|`` at ``z (..., m)``: zero when the subspace is invariant."""
        return invariance_defect(self._parent, self._embedding, z, params=params)

    def restricted_potential(self, z, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The parent's potential on the subspace, ``V(c + E z)``: a Lyapunov function of the
        restricted flow when the subspace is invariant.

        Raises
        ------
        dynsys.errors.InputTypeError
            If the parent is not a gradient system.
        """
        if not self._parent.is_gradient:
            raise InputTypeError(
                f"`restricted_potential` needs a gradient parent; '{self._parent.name}' is a "
                f"general {type(self._parent).__name__}."
            )
        z = np.asarray(z, dtype=float)
        p = self.resolve_params(params)  # type: ignore[attr-defined]
        return self._parent.potential(self._embedding.lift(z), p)

    def describe(self) -> dict[str, Any]:
        """Provenance attributes, plus the parent's name and the subspace dimension."""
        out = super().describe()  # type: ignore[misc]
        out["restricted_from"] = self._parent.name
        out["ambient_dimension"] = self._embedding.n
        return out


class RestrictedSystem(_Restriction, System):
    """A System restricted to an affine subspace: ``z' = E^+ f(c + E z)`` (see
    :func:`restrict_to_subspace`). ``potential`` is the restricted potential (gradient parents).
    """

    @property
    def has_potential(self) -> bool:
        """Whether the parent is a gradient system (then its potential on the subspace is a
        Lyapunov function of the restricted flow)."""
        return self._parent.is_gradient

    def potential(self, z, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """Alias of :meth:`restricted_potential` (a Lyapunov function)."""
        return self.restricted_potential(z, params)

    energy = potential


class RestrictedGradientSystem(_Restriction, GradientSystem):
    """A gradient system restricted to a subspace with orthonormal basis: the gradient flow of the
    restricted potential ``V(c + E z)`` (see :func:`restrict_to_subspace`)."""


def _names(state_names, m: int) -> list[str]:
    if state_names is None:
        return [f"z{i}" for i in range(m)]
    names = list(state_names)
    if len(names) != m:
        raise InputError(f"`state_names` must have {m} names (one per basis column); got {names}.")
    return names


def restrict_to_subspace(
    system: System,
    basis,
    offset=None,
    *,
    name: str | None = None,
    state_names: Sequence[str] | None = None,
    probe=None,
    check_jacobian: bool = True,
) -> RestrictedSystem | RestrictedGradientSystem:
    """Restrict a System to the affine subspace ``x = c + E z``: ``z' = E^+ f(c + E z)``.

    The Jacobian is ``E^+ J(c + E z) E`` and ``dfdp`` is ``E^+ df/dp``; parameters are the
    parent's. The result is the exact dynamics on the subspace only when the subspace is
    invariant (check with :func:`invariance_defect`), e.g. the fixed-point subspace of a group of
    symmetries (:func:`fixed_point_subspace`).

    Parameters
    ----------
    system : System or GradientSystem
        The field on ``R^n``.
    basis : array_like (n, m) or LinearEmbedding
        ``E``; columns independent, not necessarily orthonormal.
    offset : array_like (n,), optional
        ``c`` (zero by default).
    name : str, optional
        Name of the result (default ``"<parent>|restricted"``).
    state_names : sequence of str, optional
        Names of the ``m`` coordinates (default ``z0, z1, ...``).
    probe : array_like (m,), optional
        A generic subspace point where the field is smooth (checked on construction).
    check_jacobian : bool
        Compare the Jacobian with finite differences at the probe.

    Returns
    -------
    RestrictedGradientSystem or RestrictedSystem
        A gradient system (``V(c + E z)``, ``E^T grad V``, ``E^T Hess V E``) when the parent is
        one and ``E`` has orthonormal columns. Otherwise a :class:`RestrictedSystem`; for a
        gradient parent its flow is the gradient flow of ``V(c + E z)`` in the metric ``E^T E``,
        not in the Euclidean metric of ``z``, and ``restricted_potential`` (alias ``potential``)
        is its Lyapunov function. Both have ``lift``, ``project``, ``invariance_defect``.

    Raises
    ------
    ValueError
        If ``basis`` or ``offset`` does not fit ``system.n``.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> line = restrict_to_subspace(double_well(), [[1.0], [0.0]], state_names=["x"])
    >>> type(line).__name__, line.f([2.0]).tolist()
    ('RestrictedGradientSystem', [-6.0])
    """
    emb = as_embedding(basis, offset)
    if emb.n != system.n:
        raise InputError(
            f"`basis` has {emb.n} rows but system '{system.name}' has n={system.n} states; the "
            "basis must be (n, m)."
        )
    names = _names(state_names, emb.m)
    name = f"{system.name}|restricted" if name is None else str(name)
    E, E_pinv = emb.basis, emb.pinv
    analytic = system.has_analytic_jacobian
    kwargs: dict[str, Any] = {"name": name, "probe": probe, "check_jacobian": check_jacobian}

    def dfdp(z, p, pname):
        return system.dfdp(emb.lift(z), pname, p) @ E_pinv.T

    if system.is_gradient and emb.is_orthonormal:

        def V(z, p):
            return system.potential(emb.lift(z), p)

        def grad(z, p):
            return system.gradient(emb.lift(z), p) @ E

        def hess(z, p):
            return E.T @ -system.jac_dense(emb.lift(z), p) @ E

        out: Any = object.__new__(RestrictedGradientSystem)
        out._parent, out._embedding = system, emb
        GradientSystem.__init__(
            out,
            V,
            names,
            system.params,
            grad=grad,
            hess=hess if analytic else None,
            dfdp=dfdp,
            **kwargs,
        )
        return out

    def f(z, p):
        return system.f(emb.lift(z), p) @ E_pinv.T

    def jac(z, p):
        return E_pinv @ system.jac_dense(emb.lift(z), p) @ E

    out = object.__new__(RestrictedSystem)
    out._parent, out._embedding = system, emb
    System.__init__(
        out, f, names, system.params, jac=jac if analytic else None, dfdp=dfdp, **kwargs
    )
    return out
