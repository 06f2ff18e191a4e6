"""Periodic orbits (cycles) of flows: computation by orthogonal collocation with mesh
adaptation, and Floquet multipliers.

- :func:`find_periodic_orbit` -> cycle Dataset (dims ``time``, ``state``, ``mode``,
  ``mesh_point``): the profile over one period, period, amplitude, Floquet multipliers,
  stability, mesh;
- :func:`floquet_multipliers` -> :class:`Floquet` of a cycle Dataset;
- :class:`Collocation`: the discretized periodic boundary-value problem (residual, sparse
  Jacobian, monodromy, mesh adaptation), which the continuation of cycles
  (:func:`dynsys.continuation.continue_cycle`) builds on;
- :class:`CycleOptions`: mesh, degree, adaptation, Newton, period bound.

The discretization is AUTO's: a continuous piecewise polynomial of degree ``ncol`` on ``ntst``
mesh intervals, collocation at Gauss points, the period an unknown, an integral phase condition
against a reference profile, and a mesh that equidistributes an estimate of the local error.

References
----------
E. J. Doedel, H. B. Keller and J. P. Kernevez, Numerical analysis and control of bifurcation
problems (II), Int. J. Bifurcation and Chaos 1, 745 (1991); U. M. Ascher, R. M. M. Mattheij and
R. D. Russell, Numerical Solution of Boundary Value Problems for ODEs, SIAM (1995).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._collocation import Collocation
    from ._dataset import read_cycle
    from ._find import check_period, find_periodic_orbit, floquet_multipliers, initial_profile
    from ._floquet import (
        Floquet,
        cyclic_eigenvalues,
        floquet_from_monodromy,
        floquet_from_steps,
    )
    from ._options import CycleOptions
    from ._profile import collapsed, extremes
    from ._solve import newton_solve, solve_adapted

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "Collocation": "._collocation",
        "read_cycle": "._dataset",
        "check_period": "._find",
        "find_periodic_orbit": "._find",
        "floquet_multipliers": "._find",
        "initial_profile": "._find",
        "Floquet": "._floquet",
        "cyclic_eigenvalues": "._floquet",
        "floquet_from_monodromy": "._floquet",
        "floquet_from_steps": "._floquet",
        "CycleOptions": "._options",
        "collapsed": "._profile",
        "extremes": "._profile",
        "newton_solve": "._solve",
        "solve_adapted": "._solve",
    },
)

__all__ = [
    "Collocation",
    "CycleOptions",
    "Floquet",
    "check_period",
    "collapsed",
    "cyclic_eigenvalues",
    "extremes",
    "find_periodic_orbit",
    "floquet_from_monodromy",
    "floquet_from_steps",
    "floquet_multipliers",
    "initial_profile",
    "newton_solve",
    "read_cycle",
    "solve_adapted",
]
