"""The field of a System projected onto the fixed-point subspace ``Fix(H)``, in the full
coordinates: exact invariance of ``Fix(H)`` under the computed flow.

An equivariant field maps ``Fix(H)`` into itself in exact arithmetic, but its floating-point
evaluation need not: coordinates that should be equal may differ in the last bit, and an orbit
started on ``Fix(H)`` then drifts off it along any unstable direction transverse to it. Two cures:

- :func:`dynsys.symmetry.fixed_subspace_system`: the state lives in the coordinates of
  ``Fix(H)``, so invariance is automatic (use it whenever the reduced state is enough);
- :func:`symmetrized_system`: the full state, with the field ``P f(P x)``, ``P`` the orthogonal
  projector onto ``Fix(H)`` applied orbit by orbit (the mean over each orbit of coordinates,
  copied back with its signs), so its values are equal on each orbit bit for bit. Runge-Kutta
  stages combine such vectors with the same coefficients in every coordinate, so an orbit started
  on ``Fix(H)`` stays on it bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..system import GradientSystem, System
from ._subgroup import as_subgroup, fixed_subspace_embedding

__all__ = ["symmetrized_system"]


def symmetrized_system(system: System, subgroup, generators=None, *, name: str | None = None):
    """The System ``x' = P f(P x)`` with ``P`` the orthogonal projector onto ``Fix(H)``.

    On ``Fix(H)`` it is the parent's field (``f`` maps ``Fix(H)`` into itself when ``H``
    consists of symmetries of ``f``), evaluated so that ``Fix(H)`` is invariant bit for bit: the
    values are computed once per orbit of coordinates and copied (with their signs). Off
    ``Fix(H)`` it is the field of the component in ``Fix(H)``: the normal component of the state
    stays constant. For a gradient parent ``f = -grad V`` it is the gradient system of
    ``V(P x)`` (``grad = P grad V(P x)``, Hessian ``P Hess V(P x) P``).

    Parameters
    ----------
    system : System or GradientSystem
        The field on ``R^n``.
    subgroup : Subgroup or StateGroup
        ``H`` (e.g. :func:`isotropy` or :func:`young_subgroup`), or its ambient group with
        ``generators``.
    generators : array_like of int, shape (m, n), optional
        Elements generating ``H`` (only with a StateGroup).
    name : str, optional
        Default ``"<parent>|P_Fix(<H>)"``.

    Returns
    -------
    GradientSystem or System
        Same state names and parameters as the parent; a GradientSystem for a gradient parent.

    Raises
    ------
    dynsys.errors.InputError
        If ``H`` does not act on states of length ``system.n``, or fixes only the origin.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.models.relu import teacher_student
    >>> from dynsys.symmetry import UnitInputSymmetry, young_subgroup
    >>> H = young_subgroup(UnitInputSymmetry(3, 3), (3,))
    >>> sym = symmetrized_system(teacher_student(np.eye(3)), H)
    >>> W = sym.f(0.6 * np.eye(3).ravel() + 0.1).reshape(3, 3)
    >>> bool(np.all(np.diag(W) == W[0, 0])), bool(np.all(W[~np.eye(3, dtype=bool)] == W[0, 1]))
    (True, True)
    """
    H = as_subgroup(subgroup, generators, system=system)
    emb = fixed_subspace_embedding(H, orthonormal=True)
    E = emb.basis

    def P(v):  # orbit means copied back: entries +-c of E give bitwise-equal coordinates
        return (np.asarray(v, dtype=float) @ E) @ E.T

    label = H.name if H.name not in ("", "given") else "H"
    kwargs: dict[str, Any] = {
        "name": f"{system.name}|P_Fix({label})" if name is None else str(name),
        "probe": P(system._probe),
        "check_jacobian": False,
    }
    analytic = system.has_analytic_jacobian

    def dfdp(x, p, pname):
        return P(system.dfdp(P(x), pname, p))

    if system.is_gradient:

        def V(x, p):
            return system.potential(P(x), p)

        def grad(x, p):
            return P(system.gradient(P(x), p))

        def hess(x, p):
            PP = E @ E.T
            return PP @ -system.jac_dense(P(x), p) @ PP

        return GradientSystem(
            V,
            list(system.state_names),
            system.params,
            grad=grad,
            hess=hess if analytic else None,
            dfdp=dfdp,
            **kwargs,
        )

    def f(x, p):
        return P(system.f(P(x), p))

    def jac(x, p):
        PP = E @ E.T
        return PP @ system.jac_dense(P(x), p) @ PP

    return System(
        f,
        list(system.state_names),
        system.params,
        jac=jac if analytic else None,
        dfdp=dfdp,
        **kwargs,
    )
