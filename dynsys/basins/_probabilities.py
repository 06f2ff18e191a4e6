"""Basin probabilities: Monte-Carlo estimates of the chance of reaching each attractor."""

from __future__ import annotations

from collections.abc import Mapping

import xarray as xr

from .._execution import open_executor
from ._dataset import probability_dataset
from ._engine import (
    BasinRun,
    check_count,
    check_sampler,
    draw_seed,
    run_samples,
    sampler_preview,
)
from ._options import BasinOptions

__all__ = ["basin_probabilities"]


def basin_probabilities(
    system,
    sampler,
    n: int,
    *,
    attractors=None,
    params: Mapping[str, float] | None = None,
    options: BasinOptions = BasinOptions(),
    symmetry=None,
    reference=None,
    seed: int | None = None,
    run_dir=None,
    executor=None,
    progress: bool = False,
) -> xr.Dataset:
    """Estimate the probability of reaching each attractor from random initial states.

    Parameters
    ----------
    system : System, Map or SystemRef
        The flow or the map.
    sampler : UniformBox, Gaussian, NetworkInit or SmallBall
        The distribution of initial states.
    n : int
        Number of initial states (per round in the sequential mode, ``options.target_width``).
    attractors, params, options, symmetry, run_dir, executor, progress
        As for :func:`basin_map`.
    reference : array_like, optional
        A state ``(n,)`` or states ``(k, n)`` of special interest (the teacher); the attractor
        matching it (up to ``symmetry``) gets ``attractor_role = options.reference_name`` (a
        reference that is an equilibrium is put in the table first, origin "reference", so that
        recorded symmetry elements map end points onto the reference itself); for gradient
        systems other minima (or degenerate critical points) with energy within ``1e-8``
        (relative) of the reference's are "global minimum"; the others get a role from their
        kind: "spurious minimum", "other sink", "degenerate", ...
    seed : int, optional
        Root seed; chunk ``i`` draws from the child stream ``i``. A fresh one is drawn (and
        stored in the attrs, and reused when resuming from ``run_dir``) when omitted.

    Returns
    -------
    xarray.Dataset
        Dims ``sample``, ``attractor``, ``state``, ``mode``, ``exponent``,
        ``attractor_sample``. Per sample: ``label``, ``status``, ``t_final`` (flows),
        ``n_steps`` (and ``x0``, ``x_final`` with ``options.keep_states``,
        ``permutation`` with a symmetry, ``arrived_in_region`` with stop regions); the
        attractor table (points, cycles, recurrent sets)
        and ``n_orbits``, ``fraction``, ``ci_low``, ``ci_high`` as in :func:`basin_map`, plus
        ``attractor_role`` with a reference. Attrs: provenance, the options, the sampler,
        ``seed``, ``n_samples``, ``n_rounds``, those of :func:`basin_map` (``dynamics``,
        ``attractor_kinds_used``, the recurrence's cell size and counts, the arrival rule's
        ``converge_tol_requested`` and ``converge_tol_used`` for flows).

    Notes
    -----
    The Wilson interval of each attractor is a pointwise interval (not simultaneous over all
    attractors). In the sequential mode the number of rounds depends on the data; stopping only
    at whole rounds keeps the effect on the coverage small, but the intervals are then
    approximate.

    Examples
    --------
    >>> from dynsys.basins import UniformBox
    >>> from dynsys.models import double_well
    >>> ds = basin_probabilities(double_well(), UniformBox(-1.0, 3.0), 400, seed=1)
    >>> ds.attractor_x.sel(state="x").values.tolist()
    [-1.0, 1.0]
    >>> bool(ds.ci_low[1] < 0.75 < ds.ci_high[1]), int(ds.n_orbits.sum())
    (True, 400)

    Gradient descent with step 1.05 on the same double well is a map whose minima have lost
    their stability: training settles on one of two 2-cycles, or diverges.

    >>> from dynsys.maps import gradient_descent_map
    >>> gd = gradient_descent_map(double_well(), step=1.05)
    >>> ds = basin_probabilities(gd, UniformBox(-2.0, 2.0), 200, seed=1)
    >>> ds.attractor_type.values.tolist(), ds.attractor_period.values[:2].tolist()
    (['cycle', 'cycle', ''], [2.0, 2.0])
    >>> str(ds.attractor_kind.values[-1])
    'escaped'
    """
    run = BasinRun.make(
        system, params=params, options=options, symmetry=symmetry, executor=executor
    )
    n = check_count(n, "n")
    sampler = check_sampler(sampler, run.system.n)
    seed = draw_seed(seed, run_dir)
    known = run.attractors()
    if attractors is not None:
        known.add_given(attractors)
    known.add_reference(reference)
    known.note_initial(sampler_preview(sampler, run.system.n))
    run = run.arrive(known)
    with open_executor(executor, options.workers) as resolved:
        out = run_samples(
            run,
            sampler,
            n,
            known,
            seed=seed,
            executor=resolved,
            run_dir=run_dir,
            progress=progress,
        )
    return probability_dataset(run, known, out, sampler=sampler, seed=seed, reference=reference)
