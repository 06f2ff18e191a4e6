"""Basins of attraction: which attractor the orbit from each initial state reaches.

- :func:`basin_map` labels every point of a 2-D grid (two state variables, or a plane through a
  higher-dimensional state space, :class:`Plane`).
- :func:`basin_probabilities` estimates, by Monte Carlo, the probability of each attractor under a
  distribution of initial states (:class:`UniformBox`, :class:`Gaussian`, :class:`NetworkInit`,
  :class:`SmallBall`), with Wilson intervals and an optional sequential stopping rule.
- :func:`basin_probability_sweep` repeats the estimate over values of a parameter of the system or
  of the sampler, with the same random initial states at every value (common random numbers).

Each orbit is followed by the batched :func:`dynsys.integrate.flow` (Runge-Kutta, or gradient
descent with ``FlowOptions(method="gradient_descent")``) until it converges (``|f| <=
converge_tol``), escapes, or runs out of time. Its end point is matched to a table of attractors
(given as a fixed-point Dataset and/or found on the way, refined by Newton and classified), up to a
symmetry group when one is given. Labels ``0, 1, ...`` index the ``attractor`` table; negative
labels are outcomes without an attractor, never a wrong one:

====  =============  ==========================================================================
 -1   not converged  time or step limit reached (raise ``t_max``/``max_steps``)
 -2   escaped        ``|x| > escape_radius``
 -3   non-finite     NaN or inf in the state or the vector field
 -4   unmatched      converged, but to no attractor in the table (discovery off, or failed)
====  =============  ==========================================================================

Attractors are reported with ``attractor_kind``, ``attractor_index`` (unstable directions: an
index-k saddle where orbits stalled), ``attractor_energy`` (gradient systems) and, when a reference
state is given (e.g. the teacher), ``attractor_role``: the reference's name, "spurious minimum",
"saddle", ...; so "teacher (up to permutation)", "spurious minimum" and "stalled near a saddle"
are explicit.

Scale-out: the initial states are cut into chunks of ``chunk_size``; chunk ``i`` of a Monte-Carlo
run draws from its own stream ``SeedSequence(seed).spawn(...)[i]``, so results are identical
whether the chunks run in this process (``executor=None``), on a local process pool
(``"processes"``), or on a dask.distributed cluster (a scheduler address or a ``Client``). With
``run_dir`` every finished chunk is written there at once (atomically); running again with the same
folder loads them and computes only what is missing. A System holding closures (every factory in
``dynsys.models``) is sent to process pools with cloudpickle (installed with dask); without it,
pass a :class:`SystemRef` (``"module:function"`` plus keyword arguments). End points are labelled
in this process, in chunk order, after the chunks have run, so the attractor table does not
depend on which chunk finished first.

Tolerances. ``converge_tol`` must sit well above the integration error near an attractor: with
``rtol = 1e-6`` an explicit Runge-Kutta orbit can hover at ``|f| ~ 1e-7`` next to a sink and
never pass ``converge_tol = 1e-8`` (it then ends as "not converged"); the defaults
(:data:`DEFAULT_FLOW_OPTIONS`: ``rtol = 1e-8``, ``atol = 1e-10``, ``converge_tol = 1e-8``) keep
that gap when the Jacobian eigenvalues are of order one. For stiffer attractors the floor grows
like ``rtol |x| |lambda|``; when attractors are known beforehand, ``converge_tol`` is raised to
``10 rtol max(1, |x|_inf) max |lambda|`` over them (attribute ``converge_tol_requested`` keeps
the value asked for). Non-isolated equilibria (a circle or valley of minima) have no single end
point: orbits end at different points of the manifold, which become separate rows unless they
are within ``match_tol`` of each other (or a symmetry maps them onto each other).

For gradient descent on large networks (the teacher-student protocol), pass the symmetry of the
problem (e.g. ``UnitInputSymmetry(K, d)`` from :mod:`dynsys.symmetry`) so that permuted copies of
one minimum are one row, and ``refine=False``: the descent's stopping test already puts the end
point next to the critical point, and a Newton step would solve with the full Hessian.
"""

from ._api import (
    DEFAULT_FLOW_OPTIONS,
    LABEL_ESCAPED,
    LABEL_NONFINITE,
    LABEL_NOT_CONVERGED,
    LABEL_UNMATCHED,
    FlowOptions,
    Gaussian,
    NetworkInit,
    Plane,
    SmallBall,
    SystemRef,
    UniformBox,
    basin_map,
    basin_probabilities,
    basin_probability_sweep,
    basins_from_options,
    open_executor,
    wilson_interval,
)

__all__ = [
    "DEFAULT_FLOW_OPTIONS",
    "LABEL_ESCAPED",
    "LABEL_NONFINITE",
    "LABEL_NOT_CONVERGED",
    "LABEL_UNMATCHED",
    "FlowOptions",
    "Gaussian",
    "NetworkInit",
    "Plane",
    "SmallBall",
    "SystemRef",
    "UniformBox",
    "basin_map",
    "basin_probabilities",
    "basin_probability_sweep",
    "basins_from_options",
    "open_executor",
    "wilson_interval",
]
