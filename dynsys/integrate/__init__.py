"""Orbits of a system: one at a time with scipy, or a whole batch at once.

:func:`trajectory` follows one orbit with :func:`scipy.integrate.solve_ivp` (the system's Jacobian
goes to the implicit methods) and returns a Dataset over ``(time, state)``.

:func:`flow` follows a batch of orbits together: a vectorized embedded Runge-Kutta pair, or for
stiff systems a Rosenbrock pair, with a step size per orbit, or fixed-step gradient descent
``x <- x - eta grad V`` (training is discrete). Each orbit stops on its own (convergence, escape,
non-finite values, time or step limit) and gets a :class:`~dynsys._status.Status` code; stopped
orbits leave the batch, so the vector field is only evaluated on orbits still running. The result
is a Dataset over ``(orbit, state)``. A system that declares its field in compiled code
(:class:`CompiledField`) is followed orbit by orbit in a compiled loop instead, with the same
results. ``FLOW_METHODS`` lists the methods of :func:`flow`.

:func:`iterate` runs a batch of orbits of a map (:class:`dynsys.maps.Map`, for example gradient
descent with a finite step) until each settles on a fixed point or a cycle, escapes or runs out of
iterations.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._compiled import (
        CompiledField,
        StopRegions,
        chunk_threads,
        compiled_field_signature,
        compiled_lyapunov_signature,
        lane_field_signature,
        lane_lyapunov_signature,
    )
    from ._flow import (
        FlowOptions,
        FollowedOrbits,
        flow,
        follow,
        trajectory,
    )
    from ._iterate import IterateOptions, iterate
    from ._options import FLOW_METHODS

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "CompiledField": "._compiled",
        "StopRegions": "._compiled",
        "chunk_threads": "._compiled",
        "compiled_field_signature": "._compiled",
        "compiled_lyapunov_signature": "._compiled",
        "lane_field_signature": "._compiled",
        "lane_lyapunov_signature": "._compiled",
        "FlowOptions": "._options",
        "flow": "._flow",
        "follow": "._flow",
        "FollowedOrbits": "._flow",
        "trajectory": "._flow",
        "IterateOptions": "._iterate_options",
        "iterate": "._iterate",
        "FLOW_METHODS": "._options",
    },
)

__all__ = [
    "FLOW_METHODS",
    "CompiledField",
    "FlowOptions",
    "FollowedOrbits",
    "IterateOptions",
    "StopRegions",
    "chunk_threads",
    "compiled_field_signature",
    "compiled_lyapunov_signature",
    "flow",
    "follow",
    "iterate",
    "lane_field_signature",
    "lane_lyapunov_signature",
    "trajectory",
]
