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

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, status_variable
from .._execution import SystemRef, open_executor
from ..cli.basins_spec import basins_from_options
from ..integrate._options import FlowOptions
from ._dataset import attractor_variables, element_variables, probability_dataset
from ._engine import (
    DEFAULT_FLOW_OPTIONS,
    Settings,
    check_sampler,
    draw_seed,
    run_grid,
    run_samples,
)
from ._match import (
    LABEL_ESCAPED,
    LABEL_NONFINITE,
    LABEL_NOT_CONVERGED,
    LABEL_UNMATCHED,
)
from ._plane import Plane, as_plane
from ._samplers import Gaussian, NetworkInit, SmallBall, UniformBox
from ._statistics import wilson_interval
from ._sweep import basin_probability_sweep

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

_RESERVED_DIMS = ("state", "attractor", "plane_axis", "permutation", "slot", "sample")


def basin_map(
    system,
    grid,
    *,
    attractors=None,
    params: Mapping[str, float] | None = None,
    flow_options: FlowOptions | None = None,
    match_tol: float = 1e-4,
    symmetry=None,
    discover: bool = True,
    refine: bool = True,
    newton_options=None,
    reference=None,
    reference_name: str = "teacher",
    confidence: float = 0.95,
    chunk_size: int = 10_000,
    executor=None,
    workers: int | None = None,
    run_dir=None,
    progress: bool = False,
) -> xr.Dataset:
    """Label every point of a 2-D grid of initial states by the attractor its orbit reaches.

    Parameters
    ----------
    system : System or SystemRef
        The system whose basins are mapped.
    grid : Plane or mapping
        The initial states: a :class:`Plane`, or a mapping of two state names to coordinates
        (arrays or ``(low, high, num)``), the other states zero.
    attractors : Dataset or array_like, optional
        Known attractors: a fixed-point Dataset (``find_fixed_points``) or states ``(m, n)``;
        they are rows ``0..m-1`` of the table in the order given.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    flow_options : FlowOptions, optional
        How orbits are followed; ``converge_tol`` is required. :data:`DEFAULT_FLOW_OPTIONS` when
        omitted.
    match_tol : float
        An end point matches attractor ``a`` when within ``match_tol * max(1, |a|_inf)``
        (Euclidean), up to ``symmetry``.
    symmetry : StateGroup, optional
        A group from :mod:`dynsys.symmetry`; end points are matched up to it and the element used
        is recorded in ``permutation``.
    discover : bool
        Add the end points of converged orbits that match no attractor to the table (one per
        group within ``match_tol``); off, such orbits get label -4 (unmatched).
    refine : bool
        Refine discovered end points by Newton before adding them; off, they are added as they
        are (classified; origin "found, not refined"): enough when ``converge_tol`` is tight, and
        much cheaper for large systems (a Newton step solves with the full Hessian).
    newton_options : NewtonOptions, optional
        Newton settings of the refinement.
    reference, reference_name
        A state of special interest and its role name, as for :func:`basin_probabilities`
        (adds ``attractor_role``).
    confidence : float
        Level of the intervals ``ci_low``/``ci_high``.
    chunk_size : int
        Orbits per chunk of work.
    executor, workers, run_dir, progress
        Where chunks run, the size of a local process pool, the folder for resumable runs, and a
        progress bar counting orbits (see the module docstring).

    Returns
    -------
    xarray.Dataset
        Dims: the two grid axes (named as in ``grid``), ``state``, ``attractor``, ``plane_axis``.
        Variables: ``label(a1, a2)`` (attractor row, or a negative outcome code),
        ``status(a1, a2)`` (flow status; ``unmatched`` for label -4), ``t_final``,
        ``n_steps``; ``plane_base(state)``, ``plane_direction(plane_axis, state)``; the attractor
        table ``attractor_x(attractor, state)``, ``attractor_kind``, ``attractor_index``,
        ``attractor_nullity``, ``attractor_origin``, ``attractor_energy`` (gradient systems),
        ``attractor_role`` (with a reference);
        ``n_orbits``, ``fraction``, ``ci_low``, ``ci_high`` over ``attractor`` (the coordinate is
        the label; negative rows appear for outcomes that occur); with a symmetry
        ``permutation(a1, a2)`` and ``permutation_table(permutation, slot)``. Fractions are area
        fractions of the grid; their Wilson intervals treat the grid points as independent draws,
        which they are not, so read them as a rough resolution guide only.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> grid = {"x": np.linspace(-1.5, 1.5, 6), "y": np.linspace(-1.0, 1.0, 3)}
    >>> ds = basin_map(double_well(), grid)
    >>> ds.label.values.tolist()
    [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]]
    >>> ds.attractor_x.sel(state="x").values.tolist(), ds.fraction.values.tolist()
    ([-1.0, 1.0], [0.5, 0.5])
    """
    plane = as_plane(grid)
    clash = [a for a in plane.names if a in _RESERVED_DIMS]
    if clash:
        raise ValueError(f"grid axes may not be named {clash}: these names are used by the result.")
    settings = Settings.make(
        system,
        params=params,
        flow_options=flow_options,
        match_tol=match_tol,
        symmetry=symmetry,
        discover=discover,
        refine=refine,
        newton_options=newton_options,
        chunk_size=chunk_size,
        executor=executor,
        run_dir=run_dir,
        progress=progress,
    )
    sys_ = settings.system
    states = plane.states(sys_)
    shape = states.shape[:2]
    table = settings.table()
    if attractors is not None:
        table.add(attractors)
    table.add_reference(reference)
    settings.reach_attractors(table)
    with open_executor(executor, workers) as resolved:
        settings.executor = resolved
        out = run_grid(settings, states.reshape(-1, sys_.n), table)
    dims = plane.names
    base, dirs = plane.embedding(sys_)
    data: dict[str, Any] = {
        "label": xr.Variable(
            dims,
            out["label"].reshape(shape),
            {"long_name": "attractor label (negative: no attractor)"},
        ),
        "status": status_variable(out["status"].reshape(shape), dims),
        "t_final": xr.Variable(dims, out["t_final"].reshape(shape), {"long_name": "final time"}),
        "n_steps": xr.Variable(dims, out["n_steps"].reshape(shape), {"long_name": "steps"}),
        "plane_base": xr.Variable("state", base, {"long_name": "origin of the grid plane"}),
        "plane_direction": xr.Variable(
            ("plane_axis", "state"), dirs, {"long_name": "direction of each grid axis"}
        ),
    }
    variables, coords = attractor_variables(
        table,
        out["label"],
        confidence=confidence,
        reference=reference,
        reference_name=reference_name,
    )
    data.update(variables)
    data.update(element_variables(_shaped(out["g"], shape), out["label"].reshape(shape), dims))
    coords.update({a: (a, plane.axes[a], {"long_name": a}) for a in dims})
    coords.update(state=list(sys_.state_names), plane_axis=list(dims))
    attrs = provenance(
        sys_.with_params(**settings.params),
        **settings.attrs(),
        n_points=int(np.prod(shape)),
        n_calls=out["n_calls"],
        n_evaluations=out["n_evaluations"],
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _shaped(g, shape):
    return None if g is None else g.reshape(*shape, g.shape[-1])


def basin_probabilities(
    system,
    sampler,
    n: int,
    *,
    attractors=None,
    params: Mapping[str, float] | None = None,
    flow_options: FlowOptions | None = None,
    match_tol: float = 1e-4,
    symmetry=None,
    discover: bool = True,
    refine: bool = True,
    newton_options=None,
    reference=None,
    reference_name: str = "teacher",
    target_width: float | None = None,
    max_samples: int = 1_000_000,
    confidence: float = 0.95,
    seed: int | None = None,
    chunk_size: int = 1000,
    executor=None,
    workers: int | None = None,
    run_dir=None,
    keep_states: bool = False,
    progress: bool = False,
) -> xr.Dataset:
    """Estimate the probability of reaching each attractor from random initial states.

    Parameters
    ----------
    system : System or SystemRef
        The system.
    sampler : UniformBox, Gaussian, NetworkInit or SmallBall
        The distribution of initial states.
    n : int
        Number of initial states (per round in the sequential mode).
    attractors, params, flow_options, match_tol, symmetry, discover, refine, newton_options
        As for :func:`basin_map`.
    reference : array_like, optional
        A state ``(n,)`` or states ``(k, n)`` of special interest (the teacher); the attractor
        matching it (up to ``symmetry``) gets ``attractor_role = reference_name`` (a reference
        that is an equilibrium is put in the table first, origin "reference", so that recorded
        symmetry elements map end points onto the reference itself); for gradient
        systems other minima (or degenerate critical points) with energy within ``1e-8``
        (relative) of the reference's are "global minimum" (e.g. permuted teachers when no
        symmetry is given, or a manifold of global minima); the others get a role from their
        kind: "spurious minimum", "saddle", "other sink", "unstable", "degenerate".
    reference_name : str
        Role name of the reference.
    target_width : float, optional
        Sequential mode: after each round of ``n`` draws, stop when every interval (attractors
        and outcomes) is narrower than this; otherwise draw another round, up to ``max_samples``.
    max_samples : int
        Sample budget of the sequential mode.
    confidence : float
        Level of the Wilson intervals (0.95: 95%).
    seed : int, optional
        Root seed; chunk ``i`` draws from the child stream ``i``. A fresh one is drawn (and
        stored in the attrs, and reused when resuming from ``run_dir``) when omitted.
    chunk_size, executor, workers, run_dir, progress
        As for :func:`basin_map`.
    keep_states : bool
        Also return ``x0(sample, state)`` and ``x_final(sample, state)``.

    Returns
    -------
    xarray.Dataset
        Dims ``sample``, ``attractor``, ``state``. Per sample: ``label``, ``status``,
        ``t_final``, ``n_steps`` (and the states with ``keep_states``, and ``permutation`` with a
        symmetry); the attractor table and ``n_orbits``, ``fraction``, ``ci_low``, ``ci_high`` as in
        :func:`basin_map`, plus ``attractor_role`` with a reference. Attrs: provenance, the
        sampler, ``seed``, ``n_samples``, ``n_rounds``, ``target_width``, ``confidence``.

    Notes
    -----
    The Wilson interval of each attractor is a pointwise interval (not simultaneous over all
    attractors). In the sequential mode the number of rounds depends on the data; stopping only
    at whole rounds keeps the effect on the coverage small, but the intervals are then
    approximate.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> ds = basin_probabilities(double_well(), UniformBox(-1.0, 3.0), 400, seed=1)
    >>> ds.attractor_x.sel(state="x").values.tolist()
    [-1.0, 1.0]
    >>> bool(ds.ci_low[1] < 0.75 < ds.ci_high[1]), int(ds.n_orbits.sum())
    (True, 400)
    """
    settings = Settings.make(
        system,
        params=params,
        flow_options=flow_options,
        match_tol=match_tol,
        symmetry=symmetry,
        discover=discover,
        refine=refine,
        newton_options=newton_options,
        chunk_size=chunk_size,
        executor=executor,
        run_dir=run_dir,
        progress=progress,
    )
    n = _count(n, "n")
    sampler = check_sampler(sampler, settings.system.n)
    if target_width is not None and not (0 < target_width < 1):
        raise ValueError(f"`target_width` must lie in (0, 1); got {target_width!r}.")
    max_samples = _count(max_samples, "max_samples")
    seed = draw_seed(seed, run_dir)
    table = settings.table()
    if attractors is not None:
        table.add(attractors)
    table.add_reference(reference)
    settings.reach_attractors(table)
    with open_executor(executor, workers) as resolved:
        settings.executor = resolved
        out = run_samples(
            settings,
            sampler,
            n,
            table,
            seed=seed,
            target_width=target_width,
            max_samples=max_samples,
            confidence=confidence,
            keep_states=keep_states,
            run_dir=run_dir,
        )
    return probability_dataset(
        settings,
        table,
        out,
        sampler=sampler,
        seed=seed,
        confidence=confidence,
        reference=reference,
        reference_name=reference_name,
        target_width=target_width,
    )


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return int(value)
