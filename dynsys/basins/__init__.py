"""Basins of attraction: which attractor the orbit from each initial state reaches - a fixed
point, a cycle, or a chaotic or quasi-periodic set - for flows and for maps.

- :func:`basin_map` labels every point of a 2-D grid (two state variables, or a plane through a
  higher-dimensional state space, :class:`Plane`).
- :func:`basin_probabilities` estimates, by Monte Carlo, the probability of each attractor under
  a distribution of initial states (:class:`UniformBox`, :class:`Gaussian`, :class:`NetworkInit`,
  :class:`SmallBall`), with Wilson intervals and an optional sequential stopping rule.
- :func:`basin_probability_sweep` repeats the estimate over values of a parameter of the system
  or of the sampler, with the same random initial states at every value.

All three take a flow (:class:`~dynsys.System`) or a map (:class:`~dynsys.maps.Map`, e.g.
gradient descent with a finite step, :func:`dynsys.maps.gradient_descent_map`) and
``options=BasinOptions(...)``.

Orbits. A flow's orbits are followed by the batched :func:`dynsys.integrate.flow` until they
arrive (``|f| <= converge_tol``, from the one arrival rule), escape, or run out of time or steps
(``options.flow``). Around each attracting point known before the orbits start (given as
``attractors``, or the reference) an orbit also arrives when it enters the point's stop region,
an ellipsoid on which a quadratic Lyapunov function of the linearisation was checked to decrease
(``options.stop_regions=True``; flows of up to three states without a symmetry): the label is the
same, the orbit stops sooner, and ``arrived_in_region`` says which orbits stopped so. A system
that declares trapping regions (:class:`dynsys.TrappingRegions`: sublevel sets of a Lyapunov
function that the model proves to lie in one attracting point's basin, e.g. the energy lobes of
:func:`dynsys.models.duffing`) has its orbits stopped as they enter them
(``options.trapping_regions``, on by default; a proof, not a check: the labels are those of the
arrival rule). A system that declares its field in compiled code
(:class:`dynsys.integrate.CompiledField`, e.g. :func:`dynsys.models.duffing`) is followed in a
compiled loop on the process's threads, 32 orbits at a time when the field has a lane form, with
the same results. A map's orbits are iterated by :func:`dynsys.integrate.iterate`
until they settle on a fixed point or a cycle (of period up to ``iterate.max_period``), escape
(for gradient descent: divergence), or run out of iterations (``options.iterate``).

Points and cycles of maps. An orbit gets a point attractor only through a verified point: its
end point matches a known point, or Newton from it reaches, within ``refine_tol``, a root whose
residual meets the Newton tolerance; the point is an attractor when its classification says it
attracts. A map's fixed points and cycles are verified the same way by Newton on ``g^q(x) - x``
(:func:`dynsys.fixedpoints.find_cycles`), matched whatever their phase, and attract when every
multiplier lies inside the unit circle.

Other attractors. Unless ``options.attractor_kinds`` says "points" (the automatic choice for
gradient flows and one-state flows, which have no other attractors), the orbits that did not
settle (a flow at ``time_limit``; a map at ``max_steps``) are followed on from their end states
by recurrence in a grid of cells (:func:`dynsys.attractors.find_attractors` with
``options.recurrence``; the cell size is chosen from the spread of the states unless given, and
recorded): first recognised against the attractors this computation already knows
(:func:`dynsys.attractors.label_states`), the others searched. A cycle of a flow is refined as a
periodic orbit by collocation (:func:`dynsys.cycles.find_periodic_orbit`: period and Floquet
multipliers); a recurrent set is described by its largest Lyapunov exponents with standard
errors (QR method) and called chaotic, quasi-periodic or (undecided) recurrent; a point or a
map's cycle that the recurrence reaches is verified and joins the points.

Labels and statuses. Labels ``0, 1, ...`` index the ``attractor`` table: the point attractors
first (for a map: fixed points, then cycles), then the attractors found by recurrence, each with
its ``attractor_type`` (point, cycle, chaotic, quasi-periodic, recurrent), period, multipliers,
Lyapunov exponents and a sample of points for drawing. An orbit at an attractor has the status
of its type: ``converged`` (a point), ``periodic`` (a cycle) or ``recurrent`` (a recurrent set).
A negative label is minus the outcome code of an orbit without an attractor
(``dynsys.explain(-label)``): the flow's or the iteration's own (``time_limit``, ``max_steps``,
``escaped``, ``nonfinite``, ``step_underflow``; with recurrence, ``max_steps`` also when its
sample budget ran out), ``not_attracting`` (it reached a saddle, or a cycle that does not
attract), ``unverified`` or a Newton failure (no fixed point where it stopped), ``unmatched``
(discovery off). The per-orbit ``status`` holds the same codes.

Scale-out: the initial states are cut into chunks of ``chunk_size``; chunk ``i`` of a Monte-Carlo
run draws from its own stream, so results are identical whether the chunks run in this process
(``executor=None``), on a local process pool (``"processes"``), or on a dask.distributed cluster
(a scheduler address or a ``Client``). With ``run_dir`` every finished chunk is written there at
once (atomically); running again with the same folder computes only what is missing. End points
are labelled in this process, in chunk order, so the attractor table does not depend on which
chunk finished first; the recurrence phase runs there too, after the chunks of each round (a
resumed run repeats it from the stored end states, with the same result). A System holding
closures is sent to other processes with cloudpickle; without it, pass a :class:`SystemRef`.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .._execution import SystemRef, open_executor
    from ..attractors import AttractorOptions
    from ..integrate import FlowOptions, IterateOptions
    from ._map import basin_map
    from ._options import BasinOptions
    from ._plane import Plane
    from ._probabilities import basin_probabilities
    from ._samplers import Gaussian, NetworkInit, SmallBall, UniformBox
    from ._statistics import wilson_interval
    from ._sweep import basin_probability_sweep

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "SystemRef": ".._execution",
        "open_executor": ".._execution",
        "AttractorOptions": "..attractors._options",
        "FlowOptions": "..integrate._options",
        "IterateOptions": "..integrate._iterate_options",
        "basin_map": "._map",
        "BasinOptions": "._options",
        "Plane": "._plane",
        "basin_probabilities": "._probabilities",
        "Gaussian": "._samplers",
        "NetworkInit": "._samplers",
        "SmallBall": "._samplers",
        "UniformBox": "._samplers",
        "wilson_interval": "._statistics",
        "basin_probability_sweep": "._sweep",
    },
)

__all__ = [
    "AttractorOptions",
    "BasinOptions",
    "FlowOptions",
    "Gaussian",
    "IterateOptions",
    "NetworkInit",
    "Plane",
    "SmallBall",
    "SystemRef",
    "UniformBox",
    "basin_map",
    "basin_probabilities",
    "basin_probability_sweep",
    "open_executor",
    "wilson_interval",
]
