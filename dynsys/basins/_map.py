"""Basin maps: the attractor of every point of a 2-D grid of initial states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance
from .._execution import open_executor
from ..errors import InputError
from ._dataset import attractor_variables, element_variables, orbit_variables
from ._engine import BasinRun, run_grid
from ._options import BasinOptions
from ._plane import as_plane

__all__ = ["basin_map"]

_RESERVED_DIMS = (
    "state",
    "attractor",
    "plane_axis",
    "permutation",
    "slot",
    "sample",
    "attractor_sample",
    "mode",
    "exponent",
)


def basin_map(
    system,
    grid,
    *,
    attractors=None,
    params: Mapping[str, float] | None = None,
    options: BasinOptions = BasinOptions(),
    symmetry=None,
    reference=None,
    run_dir=None,
    executor=None,
    progress: bool = False,
) -> xr.Dataset:
    """Label every point of a 2-D grid of initial states by the attractor its orbit reaches.

    Parameters
    ----------
    system : System, Map or SystemRef
        The flow or the map whose basins are mapped.
    grid : Plane or mapping
        The initial states: a :class:`Plane`, or a mapping of two state names to coordinates
        (arrays or ``(low, high, num)``), the other states zero.
    attractors : Dataset or array_like, optional
        Known points: a fixed-point Dataset (``find_fixed_points``) or states ``(m, n)``
        (equilibria of a flow, fixed points of a map). They are verified by Newton (a point
        that is not one is an error); those that attract are the first rows of the attractor
        table, in the order given, and orbits that reach the others (saddles) end
        ``not_attracting``.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : BasinOptions
        How orbits are followed and their ends verified (see :class:`BasinOptions`).
    symmetry : StateGroup, optional
        A symmetry group of a flow (:mod:`dynsys.symmetry`): end points at points are matched
        up to it and the element used is recorded in ``permutation`` (attractors found by
        recurrence are not matched up to the group; maps take no group).
    reference : array_like, optional
        A state ``(n,)`` or states ``(k, n)`` of special interest (the teacher); adds
        ``attractor_role`` (see :func:`basin_probabilities`).
    run_dir : path, optional
        Folder of a resumable run: finished chunks are kept there and not recomputed.
    executor : None, "inprocess", "processes", a scheduler address, an Executor or a Client
        Where chunks run (see the module docstring).
    progress : bool
        A progress bar counting orbits.

    Returns
    -------
    xarray.Dataset
        Dims: the two grid axes (named as in ``grid``), ``state``, ``attractor``, ``plane_axis``,
        ``mode``, ``exponent``, ``attractor_sample``.
        Variables: ``label(a1, a2)`` (attractor row, or minus the outcome code),
        ``status(a1, a2)`` (the outcome, a CF flag variable: ``converged``, ``periodic`` or
        ``recurrent`` at an attractor of that type), ``t_final`` (flows), ``n_steps`` (steps,
        or iterations of a map), with stop regions ``arrived_in_region(a1, a2)`` (the orbit
        stopped in its point's stop region, see ``BasinOptions.stop_regions``);
        ``plane_base(state)``, ``plane_direction(plane_axis, state)``;
        the attractor table ``attractor_x(attractor, state)`` (the point, a point of the cycle,
        a sample of the set), ``attractor_type`` (point, cycle, chaotic, quasi-periodic,
        recurrent), ``attractor_kind`` (a point's classification, e.g. "sink focus", or the
        type), ``attractor_index``, ``attractor_nullity`` (-1 for recurrent sets),
        ``attractor_residual``, ``attractor_origin`` (given, reference, found, recurrence),
        ``attractor_period`` (time of a flow's cycle, iterates of a map's cycle, 1 for a map's
        point), ``attractor_period_error``, ``attractor_period_method`` (collocation, poincare
        returns, exact), ``attractor_eigenvalue_real/imag(attractor, mode)`` (Jacobian
        eigenvalues of a flow's point, multipliers of a map's point or cycle, Floquet
        multipliers of a flow's cycle), ``attractor_lyapunov(attractor, exponent)`` and
        ``attractor_lyapunov_stderr`` (largest first; from the eigenvalues or multipliers with
        error 0, or by the QR method for recurrent sets), ``attractor_lyapunov_method``,
        ``attractor_samples(attractor, attractor_sample, state)`` (points on it for drawing,
        NaN-padded), ``attractor_note``, ``attractor_energy`` (systems with a potential),
        ``attractor_role`` (with a reference); ``n_orbits``, ``fraction``, ``ci_low``,
        ``ci_high`` over ``attractor`` (the coordinate is the label; negative rows appear for
        outcomes that occur); with a symmetry ``permutation(a1, a2)`` and
        ``permutation_table(permutation, slot)``. Fractions are area fractions of the grid;
        their Wilson intervals treat the grid points as independent draws, which they are
        not, so read them as a rough resolution guide only. Attributes: provenance, the
        options, ``dynamics`` (flow or map), ``attractor_kinds_used``, with recurrence
        ``recurrence_cell_size_used``, ``recurrence_cell_rule``, ``recurrence_n_followed`` and
        ``recurrence_n_searched`` (orbits followed by recurrence, and those not recognised at
        once), for flows ``converge_tol_requested`` and ``converge_tol_used``, with stop regions
        ``stop_regions_used`` (how many points have one) and ``stop_region_rule``.

    Raises
    ------
    dynsys.errors.InputError
        For a malformed grid, given points that are not equilibria, or a reserved axis name.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> grid = {"x": np.linspace(-1.5, 1.5, 6), "y": np.linspace(-1.0, 1.0, 3)}
    >>> ds = basin_map(double_well(), grid)
    >>> ds.label.values.tolist()
    [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]]
    >>> ds.attractor_x.sel(state="x").values.tolist(), ds.fraction.values.tolist()
    ([-1.0, 1.0], [0.5, 0.5])

    A cycle: the bistable Hopf normal form, whose origin attracts the disc inside the unstable
    cycle r = 0.336 and whose stable cycle (period 2 pi) attracts the rest.

    >>> from dynsys.basins import FlowOptions
    >>> from dynsys.models import bistable_hopf
    >>> ds = basin_map(bistable_hopf(-0.1), {"x": [0.2, 1.5], "y": [0.0]},
    ...                options=BasinOptions(flow=FlowOptions(t_max=100.0)))
    >>> ds.label.values.ravel().tolist(), ds.attractor_type.values.tolist()
    ([0, 1], ['point', 'cycle'])
    >>> round(float(ds.attractor_period[1]), 10)
    6.2831853072
    """
    plane = as_plane(grid)
    clash = [a for a in plane.names if a in _RESERVED_DIMS]
    if clash:
        raise InputError(f"grid axes may not be named {clash}: these names are used by the result.")
    run = BasinRun.make(
        system, params=params, options=options, symmetry=symmetry, executor=executor
    )
    states = plane.states(run.system)
    shape = states.shape[:2]
    known = run.attractors()
    if attractors is not None:
        known.add_given(attractors)
    known.add_reference(reference)
    known.note_initial(states)
    run = run.arrive(known)
    with open_executor(executor, options.workers) as resolved:
        out = run_grid(
            run,
            states.reshape(-1, run.system.n),
            known,
            executor=resolved,
            run_dir=run_dir,
            progress=progress,
        )
    label = known.labels_of(out["row"], out["rec"], out["status"])
    dims = plane.names
    base, dirs = plane.embedding(run.system)
    data: dict[str, Any] = {
        "label": xr.Variable(
            dims,
            label.reshape(shape),
            {"long_name": "attractor label (negative: minus the outcome code)"},
        ),
        **orbit_variables(out, dims, shape),
        "plane_base": xr.Variable("state", base, {"long_name": "origin of the grid plane"}),
        "plane_direction": xr.Variable(
            ("plane_axis", "state"), dirs, {"long_name": "direction of each grid axis"}
        ),
    }
    variables, coords = attractor_variables(
        known,
        label,
        confidence=options.confidence,
        reference=reference,
        reference_name=options.reference_name,
    )
    data.update(variables)
    g = None if out["g"] is None else out["g"].reshape(*shape, out["g"].shape[-1])
    data.update(element_variables(g, label.reshape(shape), dims, out["g_known"].reshape(shape)))
    coords.update({a: (a, plane.axes[a], {"long_name": a}) for a in dims})
    coords.update(state=list(run.system.state_names), plane_axis=list(dims))
    attrs = provenance(
        run.system.with_params(**run.params),
        **run.attrs(),
        **known.attrs(),
        n_points=int(np.prod(shape)),
        n_calls=out["n_calls"],
        n_evaluations=out["n_evaluations"],
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
