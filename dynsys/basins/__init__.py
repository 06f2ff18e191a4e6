"""Basins of attraction: which attractor the orbit from each initial state reaches.

- :func:`basin_map` labels every point of a 2-D grid (two state variables, or a plane through a
  higher-dimensional state space, :class:`Plane`).
- :func:`basin_probabilities` estimates, by Monte Carlo, the probability of each attractor under
  a distribution of initial states (:class:`UniformBox`, :class:`Gaussian`, :class:`NetworkInit`,
  :class:`SmallBall`), with Wilson intervals and an optional sequential stopping rule.
- :func:`basin_probability_sweep` repeats the estimate over values of a parameter of the system
  or of the sampler, with the same random initial states at every value.

All three take ``options=BasinOptions(...)``. Each orbit is followed by the batched
:func:`dynsys.integrate.flow` until it arrives (``|f| <= converge_tol``, from the one arrival
rule), escapes, or runs out of time or steps. An orbit gets an attractor only through a verified
point: its end point matches a known point, or Newton from it reaches, within ``refine_tol``, a
root whose residual meets the Newton tolerance; the point is an attractor when its
classification says it attracts. Labels ``0, 1, ...`` index the ``attractor`` table; a negative
label is minus the outcome code of the orbit (``dynsys.explain(-label)``): the flow's own
(``time_limit``, ``max_steps``, ``escaped``, ``nonfinite``, ``step_underflow``),
``not_attracting`` (it reached a saddle), ``unverified`` or a Newton failure (no fixed point where
it stopped), ``unmatched`` (discovery off). The per-orbit ``status`` holds the same codes.

Scale-out: the initial states are cut into chunks of ``chunk_size``; chunk ``i`` of a Monte-Carlo
run draws from its own stream, so results are identical whether the chunks run in this process
(``executor=None``), on a local process pool (``"processes"``), or on a dask.distributed cluster
(a scheduler address or a ``Client``). With ``run_dir`` every finished chunk is written there at
once (atomically); running again with the same folder computes only what is missing. End points
are labelled in this process, in chunk order, so the attractor table does not depend on which
chunk finished first. A System holding closures is sent to other processes with cloudpickle;
without it, pass a :class:`SystemRef`.
"""

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

__all__ = [
    "AttractorOptions",
    "BasinOptions",
    "FlowOptions",
    "IterateOptions",
    "Gaussian",
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
