"""Options of the basin computations, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

from .._newton import NewtonOptions
from .._options import Options, choice, flag, integer, nested, number, text
from ..attractors import AttractorOptions
from ..cycles import CycleOptions
from ..integrate import FlowOptions, IterateOptions

__all__ = ["BasinOptions"]


@dataclass(frozen=True)
class BasinOptions(Options):
    """How :func:`~dynsys.basins.basin_map`, :func:`~dynsys.basins.basin_probabilities` and
    :func:`~dynsys.basins.basin_probability_sweep` follow orbits and name where they end.

    A flow (:class:`~dynsys.System`) is followed with ``flow`` (``iterate`` is ignored); a map
    (:class:`~dynsys.maps.Map`) with ``iterate`` (``flow`` is ignored). Orbits that do not
    settle on a point (or, for a map, a cycle) are followed on with ``recurrence`` unless
    ``attractor_kinds`` says points only.

    Parameters
    ----------
    flow : FlowOptions
        Flows only: how orbits are followed; by default Dormand-Prince 5(4) with ``t_max = 1000``,
        ``rtol = 1e-8``, ``atol = 1e-10``. Its ``converge_tol`` is the ``|f|`` at which an orbit
        has arrived; None (default) takes the one arrival rule of dynsys
        (``10 Lambda (atol + rtol s)`` over the known points, see
        :func:`dynsys._points.arrival_tolerance`); a smaller value is raised to that floor with
        a warning, and the result records ``converge_tol_requested``, ``converge_tol_used`` and
        why. Gradient descent (``method="gradient_descent"``) needs ``learning_rate``.
    iterate : IterateOptions
        Maps only: how orbits are iterated (:func:`dynsys.integrate.iterate`): the iteration
        budget ``max_steps``, the settling test ``tol``, the longest period ``max_period``
        detected directly, ``escape_radius`` (an orbit beyond it ends ``escaped``: for gradient
        descent, divergence).
    attractor_kinds : {"auto", "any", "points"}
        Which attractors orbits are followed to. "any": an orbit that did not settle on a point
        (a flow that ended ``time_limit``, or ``max_steps`` with ``t_max = inf`` or gradient
        descent; a map that ended ``max_steps``) is followed on by recurrence in a grid of
        cells (:func:`dynsys.attractors.find_attractors` with ``recurrence``) and labelled with
        a cycle, a chaotic, quasi-periodic or undecided recurrent set, or a point it reaches
        late. "points": such orbits keep their outcome (as before recurrence existed). "auto":
        "points" for gradient flows and one-state flows (their bounded orbits can only settle
        on equilibria, so an orbit that did not arrive needs more time, not another kind of
        attractor), "any" otherwise (and always for maps). The choice made is recorded in the
        attribute ``attractor_kinds_used``.
    recurrence : AttractorOptions
        How orbits are followed by recurrence. Its ``cell_size`` None (default) is chosen
        automatically, once per computation (per value of a swept system parameter): the
        largest spread (max - min, per state) of the initial states (the grid; 1000 draws of
        the sampler) together with the end states of the orbits that did not escape (in the
        first round), divided by ``cells_across``; ``0.01 max(1, |x|_inf)`` when they all
        coincide. The value used is recorded in ``recurrence_cell_size_used`` with
        ``recurrence_cell_rule`` ("given" or "auto: ..."). A given ``cell_size`` is used as it
        is. Coarser cells find recurrent sets sooner (an orbit must revisit
        ``recurrence_count`` cells in a row; a chaotic set needs about as many samples as it
        has cells) but merge attractors less than a few cells apart.
    cells_across : int
        Cells across the spread of the initial and end states, for the automatic cell size.
    refine_cycles : bool
        Flows: refine each cycle found by recurrence as a periodic orbit
        (:func:`dynsys.cycles.find_periodic_orbit`, collocation, from a point on it and the
        period of its Poincare returns); its period, period error and Floquet multipliers are
        then those of the collocation (``attractor_period_method`` "collocation"). Where
        collocation fails, the recurrence's description stays ("poincare returns") with a
        note saying why.
    cycles : CycleOptions
        Settings of that collocation.
    newton : NewtonOptions
        Newton settings that verify end points and given attractors (for a map, points and
        cycles by :func:`dynsys.fixedpoints.find_cycles`).
    match_tol : float
        An end point is a known point when within ``match_tol * max(1, |x|_inf)`` of it
        (Euclidean, up to the symmetry group).
    refine_tol : float
        An end point that matches no known point is refined by Newton; the root counts only when
        it lies within ``refine_tol * max(1, |x|_inf)`` of the end point and meets
        ``newton.tol``; otherwise the orbit's outcome is ``unverified``.
    zero_tol : float
        Relative zero of eigenvalues in the classification of the points (for a map: of the
        distance of multipliers from the unit circle).
    discover : bool
        Refine end points that match no known point and add what Newton verifies; off, such
        orbits end ``unmatched``.
    reference_name : str
        Role name of the attractor that matches the ``reference`` state (e.g. the teacher).
    confidence : float
        Level of the Wilson intervals ``ci_low``/``ci_high``.
    target_width : float or None
        Sequential Monte Carlo: after each round of ``n`` draws, stop when every interval is
        narrower than this; otherwise draw another round, up to ``max_samples``.
    max_samples : int
        Sample budget of the sequential mode.
    track_tol : float or None
        Sweeps of a system parameter: an attractor at one value continues one of the previous
        value only within ``track_tol * max(1, |x|_inf)`` (see
        :func:`~dynsys.basins.basin_probability_sweep`).
    keep_states : bool
        Monte Carlo: also return ``x0(sample, state)`` and ``x_final(sample, state)``.
    stop_regions : bool
        Flows (``dopri5``, ``dop853``) of at most three states without a symmetry (off by
        default): around each attracting point known before the orbits start (given, or the
        reference), an ellipsoid on which a quadratic Lyapunov function of the linearisation
        was checked to decrease (on a mesh, with a margin; see :mod:`dynsys.basins._regions`);
        an orbit that enters it (a start inside it too) stops there, ``converged`` at that
        point, instead of running on until ``|f| <= converge_tol``. Labels are those of the
        ``|f|`` rule; ``t_final``, ``n_steps`` and the end states are earlier ones. The result
        has ``arrived_in_region`` and the attributes ``stop_region_rule`` and
        ``stop_regions_used``.
    trapping_regions : bool
        Flows (``dopri5``, ``dop853``) without a symmetry whose system declares trapping regions
        (:class:`dynsys.TrappingRegions`, e.g. :func:`dynsys.models.duffing`'s energy lobes; on
        by default): an orbit that enters the region of a known attracting point stops there,
        ``converged`` at that point. The region is proved by the model to lie in the point's
        basin (a Lyapunov function), so labels are those of the ``|f|`` rule; ``t_final``,
        ``n_steps`` and the end states are earlier ones. ``dV/dt <= 0`` is checked at sample
        states and each region must hold exactly one known point, an attracting one (otherwise
        an error). The result has ``arrived_in_region`` and the attributes
        ``trapping_regions_used`` and ``trapping_region_proof`` (``trapping_region_notes``
        when a region was left out).
    chunk_size : int
        Orbits per chunk of work (the unit of parallel work and of resumable run folders).
    workers : int or None
        Processes of a local pool (``executor="processes"``); None: one per core.

    Raises
    ------
    dynsys.errors.OptionError
        Naming the option and the value given.

    Examples
    --------
    >>> BasinOptions().flow.t_max, BasinOptions().match_tol
    (1000.0, 0.0001)
    >>> BasinOptions().attractor_kinds, BasinOptions().recurrence.cell_size is None
    ('auto', True)
    >>> BasinOptions(confidence=1.0)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: BasinOptions: `confidence` must be a number in (0, 1); got 1.0.
    """

    flow: FlowOptions = nested(
        FlowOptions, "how orbits are followed", FlowOptions(t_max=1000.0, rtol=1e-8, atol=1e-10)
    )
    # the nested options are frozen: a shared default instance is safe (RUF009)
    iterate: IterateOptions = nested(IterateOptions, "maps: how orbits are iterated")  # noqa: RUF009
    attractor_kinds: str = choice(
        "auto", ("auto", "any", "points"), "attractors looked for: any kind, or points only"
    )
    recurrence: AttractorOptions = nested(  # noqa: RUF009
        AttractorOptions,
        "how orbits that do not settle on a point are followed by recurrence",
        AttractorOptions(n_draw=200),
    )
    cells_across: int = integer(30, "automatic recurrence cell size: cells across the states")
    refine_cycles: bool = flag(True, "flows: refine cycles found by recurrence by collocation")
    cycles: CycleOptions = nested(  # noqa: RUF009
        CycleOptions, "collocation of cycles found by recurrence"
    )
    newton: NewtonOptions = nested(NewtonOptions, "Newton settings that verify end points")
    match_tol: float = number(1e-4, "an end point is a known point within this (relative)")
    refine_tol: float = number(1e-2, "Newton may move an end point this far to verify it")
    zero_tol: float = number(1e-8, "relative zero of eigenvalues")
    discover: bool = flag(True, "refine unmatched end points and add the verified points")
    reference_name: str = text("teacher", "role name of the attractor at the reference state")
    confidence: float = number(0.95, "level of the Wilson intervals", below=1.0)
    target_width: float | None = number(
        None, "draw rounds until every interval is narrower than this", below=1.0, allow_none=True
    )
    max_samples: int = integer(1_000_000, "sample budget of the sequential mode")
    track_tol: float | None = number(
        None, "sweeps: largest relative move of an attractor between values", allow_none=True
    )
    keep_states: bool = flag(False, "also return the initial and final states of samples")
    stop_regions: bool = flag(
        False, "flows: stop orbits in checked regions around the known attracting points"
    )
    trapping_regions: bool = flag(
        True, "flows: stop orbits in the trapping regions the system declares (a proof)"
    )
    chunk_size: int = integer(1000, "orbits per chunk of work")
    workers: int | None = integer(
        None,
        "processes of a local pool (executor 'processes'; none: one per core)",
        allow_none=True,
        in_attrs=False,
    )

    def _check(self) -> None:
        if self.iterate.save_every is not None:
            raise self._fail(
                "iterate",
                "IterateOptions without save_every (basins keep only the end states)",
                self.iterate,
            )
