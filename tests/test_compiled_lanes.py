"""The compiled Dormand-Prince loop over lanes (dynsys.integrate._compiled_lanes) against the
one-orbit loop it reproduces bit for bit: every output array equal, for every way an orbit can
end (converged, in an ellipsoid, in a trapping region, time limit, step budget, escaped,
non-finite start, overflow), with lanes that finish at different steps and are refilled."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import dynsys.integrate._compiled_lanes as lanes_module
from dynsys import Status
from dynsys.basins._regions import stop_regions
from dynsys.integrate import CompiledField, FlowOptions, StopRegions, flow
from dynsys.models import duffing

pytest.importorskip("numba")

SINKS = np.array([[-1.0, 0.0], [1.0, 0.0]])
N = 700  # more than 4 x LANES: the lane loop runs, with many refills


def _starts() -> np.ndarray:
    x0 = np.random.default_rng(11).uniform(-2.0, 2.0, size=(N, 2))
    x0[0] = np.nan  # non-finite start
    x0[1] = SINKS[1]  # converged at its start
    x0[2] = [1e5, 0.0]  # escapes (with a small escape radius)
    x0[3] = [1e120, 1.0]  # the field overflows at the first stage
    x0[4] = [1.0, 1e-3]  # in a region at its start
    return x0


def _one_orbit_at_a_time(system):
    field = system.compiled_field
    return system.with_compiled_field(CompiledField(field.function, field.params))


def _traps(system) -> StopRegions:
    traps = system.trapping_regions
    p = system.resolve_params()
    g = traps.geometry_at(p)
    return dataclasses.replace(
        StopRegions.empty(2),
        rows=np.array([1, 0]),
        lyapunov=traps,
        lyapunov_params=traps.values(p),
        trap_levels=g.levels,
        trap_normals=g.normals,
        trap_offsets=g.offsets,
    )


def _ellipsoids(system) -> StopRegions:
    return stop_regions(system, system.resolve_params(), SINKS, np.arange(2))


def _ellipsoids_and_traps(system) -> StopRegions:
    """Both kinds of region, as a basin map with known sinks and declared traps has them."""
    traps = _traps(system)
    return dataclasses.replace(
        _ellipsoids(system),
        lyapunov=traps.lyapunov,
        lyapunov_params=traps.lyapunov_params,
        trap_levels=traps.trap_levels,
        trap_normals=traps.trap_normals,
        trap_offsets=traps.trap_offsets,
    )


CASES = {
    "converge": (FlowOptions(converge_tol=1e-7, escape_radius=1e4), None),
    "traps": (FlowOptions(rtol=1e-6, atol=1e-8, escape_radius=1e4), _traps),
    "ellipsoids": (FlowOptions(escape_radius=1e4), _ellipsoids),
    "both regions": (FlowOptions(rtol=1e-5, atol=1e-7, escape_radius=1e4), _ellipsoids_and_traps),
    "time limit": (FlowOptions(t_max=3.0, escape_radius=1e4), _traps),
    "step budget": (FlowOptions(max_steps=9, first_step=0.01, escape_radius=1e4), _traps),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lanes_reproduce_the_one_orbit_loop_bit_for_bit(case, monkeypatch):
    options, regions_of = CASES[case]
    system = duffing()
    regions = None if regions_of is None else regions_of(system)
    calls = []
    original = lanes_module.dopri5_lanes

    def counting(*args):
        calls.append(len(args[4]))
        return original(*args)

    monkeypatch.setattr(lanes_module, "dopri5_lanes", counting)
    x0 = _starts()
    fast = flow(system, x0, options=options, stop_regions=regions)
    slow = flow(_one_orbit_at_a_time(system), x0, options=options, stop_regions=regions)
    assert calls, "the lane loop did not run"
    assert fast.attrs["engine"] == slow.attrs["engine"] == "compiled"
    for name in fast.data_vars:
        np.testing.assert_array_equal(fast[name].values, slow[name].values, err_msg=name)
    assert fast.attrs["n_evaluations"] == slow.attrs["n_evaluations"]
    status = fast.status.values
    assert status[0] == Status.NONFINITE
    assert status[1] == Status.CONVERGED and fast.n_steps.values[1] == 0
    if case in ("converge", "ellipsoids"):
        assert status[2] == Status.ESCAPED
    assert status[3] in (Status.NONFINITE, Status.ESCAPED)
    if regions is not None:
        assert fast.stop_region.values[4] >= 0 and fast.n_steps.values[4] == 0
    if case == "both regions":  # orbits stopped in the ellipsoids (0, 1) and in the traps (2, 3)
        assert {0, 1, 2, 3} <= set(fast.stop_region.values.tolist())
    # orbits ended at different steps: lanes were refilled at different times
    assert len(np.unique(fast.n_steps.values)) > (5 if case == "step budget" else 10)


def test_lanes_need_the_lyapunov_function_in_lane_form_too(monkeypatch):
    """Trapping regions without a lane form keep the one-orbit loop (same results)."""
    system = duffing()
    regions = _traps(system)
    plain = dataclasses.replace(regions, lyapunov=dataclasses.replace(regions.lyapunov, lanes=None))
    calls = []
    monkeypatch.setattr(lanes_module, "dopri5_lanes", lambda *a: calls.append(1))
    x0 = _starts()[5:]
    ds = flow(system, x0, options=FlowOptions(rtol=1e-6, atol=1e-8), stop_regions=plain)
    assert not calls
    assert np.all(ds.stop_region.values >= 0)


def test_few_orbits_take_the_one_orbit_loop(monkeypatch):
    calls = []
    monkeypatch.setattr(lanes_module, "dopri5_lanes", lambda *a: calls.append(1))
    flow(duffing(), _starts()[5 : 5 + 2 * lanes_module.LANES])
    assert not calls


def test_a_lane_declaration_is_checked():
    from dynsys.errors import InputError

    with pytest.raises(InputError, match="lanes"):
        CompiledField("dynsys.models._compiled_fields:duffing", ("delta",), lanes="no-colon")
