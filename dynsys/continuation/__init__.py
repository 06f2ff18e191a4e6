"""Numerical continuation of equilibria: branches in one parameter, their special points (fold,
branch point, Hopf, index changes), branch switching, bifurcation diagrams, and fold curves in two
parameters; and of fixed points and cycles of maps (:class:`dynsys.maps.Map`, gradient descent
with its step as the parameter among them), with folds, branch points, period doublings and
Neimark-Sacker points, and switching onto the doubled cycle. Results are xarray objects,
deterministic bit for bit:

- :func:`continue_branch` -> branch Dataset (dims ``step``, ``state``, ``mode``, ``special``,
  ``end``);
- :func:`switch_branch` -> the other branch through a branch point;
- :func:`bifurcation_diagram` -> DataTree with one branch Dataset per node;
- :func:`continue_fold` -> fold curve Dataset with cusp and Bogdanov-Takens points;
- :func:`continue_hopf` -> Hopf curve Dataset with Bogdanov-Takens, generalised-Hopf,
  zero-Hopf and double-Hopf points;
- :func:`two_parameter_diagram` -> DataTree with the fold and Hopf curves through a branch's
  special points;
- :func:`continue_cycle` -> branch of periodic orbits (from a cycle or a Hopf point) with folds
  of cycles, period doublings and Neimark-Sacker points.

Outcomes come from the one table :class:`dynsys.Status`: ``status(end)`` says why each end of a
branch stopped, ``special_status`` whether a special point was located.

References
----------
H. B. Keller (1977), pseudo-arclength continuation; Yu. A. Kuznetsov, Elements of Applied
Bifurcation Theory, 3rd ed. (2004), chapters 3, 8 and 10; W. J. F. Govaerts, Numerical Methods
for Bifurcations of Dynamical Equilibria, SIAM (2000).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ..errors import ContinuationError
    from ._branch import continue_branch
    from ._compiled_types import compiled_signatures
    from ._cycles import continue_cycle
    from ._diagram import bifurcation_diagram
    from ._fold_curve import continue_fold
    from ._hopf_curve import continue_hopf
    from ._options import ContinuationOptions
    from ._switch import switch_branch
    from ._two_parameter import two_parameter_diagram

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "ContinuationError": "..errors",
        "continue_branch": "._branch",
        "compiled_signatures": "._compiled_types",
        "continue_cycle": "._cycles",
        "bifurcation_diagram": "._diagram",
        "continue_fold": "._fold_curve",
        "continue_hopf": "._hopf_curve",
        "ContinuationOptions": "._options",
        "switch_branch": "._switch",
        "two_parameter_diagram": "._two_parameter",
    },
)

__all__ = [
    "ContinuationError",
    "ContinuationOptions",
    "bifurcation_diagram",
    "compiled_signatures",
    "continue_branch",
    "continue_cycle",
    "continue_fold",
    "continue_hopf",
    "switch_branch",
    "two_parameter_diagram",
]
