"""Trapping regions a model proves with a Lyapunov function (dynsys.TrappingRegions): the Duffing
oscillator's energy lobes. Checked against the mathematics (orbits started in a lobe reach its
sink; the energy decreases at the rate -delta v^2), against the arrival rule (same labels), and
against wrong declarations (errors, not wrong labels)."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest

from dynsys import TrapGeometry, TrappingRegions
from dynsys.basins import BasinOptions, basin_map
from dynsys.errors import InputError, InputTypeError, InvalidSystemError, UnknownParameterError
from dynsys.integrate import FlowOptions, StopRegions, compiled_lyapunov_signature, flow
from dynsys.models import duffing
from dynsys.models.classic import duffing_energy

SINKS = np.array([[-1.0, 0.0], [1.0, 0.0]])
GRID = {"x": (-2, 2, 36), "v": (-2, 2, 36)}
P = np.array([0.25, -1.0, 1.0])


def test_energy_decreases_at_the_rate_minus_delta_v_squared():
    system = duffing()
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (200, 2))
    h = 1e-6
    grad = np.stack(
        [
            (duffing_energy(x + h * e, P) - duffing_energy(x - h * e, P)) / (2 * h)
            for e in np.eye(2)
        ],
        axis=1,
    )
    rate = np.einsum("mi,mi->m", grad, system.f(x))
    np.testing.assert_allclose(rate, -0.25 * x[:, 1] ** 2, atol=1e-8)


def test_the_compiled_energy_is_the_numpy_energy():
    compiled = duffing().trapping_regions.compiled_function()
    rng = np.random.default_rng(2)
    for x in rng.uniform(-3, 3, (50, 2)):
        assert compiled(np.ascontiguousarray(x), P) == duffing_energy(x, P)


def _in_lobe(k: int, sign: float, rng) -> np.ndarray:
    """``k`` states uniform in the lobe ``{E < 0, sign x > 0}`` (rejection from its box)."""
    out = []
    while sum(len(o) for o in out) < k:
        x = rng.uniform([0.0, -0.75], [1.5, 0.75], (4 * k, 2)) * [sign, 1.0]
        out.append(x[duffing_energy(x, P) < 0])
    return np.concatenate(out)[:k]


@pytest.mark.parametrize("delta", [0.05, 0.25, 2.0])
def test_orbits_started_in_a_lobe_reach_its_sink(delta):
    """The proof's claim, checked by integration without any region: every orbit from a lobe
    (light and heavy damping) ends at the lobe's sink, and its energy never rises."""
    system = duffing(delta=delta).with_compiled_field(None)
    rng = np.random.default_rng(3)
    for sign in (1.0, -1.0):
        x0 = _in_lobe(300, sign, rng)
        ds = flow(system, x0, options=FlowOptions(t_max=400.0, converge_tol=1e-8))
        np.testing.assert_allclose(ds.x_final.values, [[sign, 0.0]] * len(x0), atol=1e-3)
    saved = flow(system, x0[:20], options=FlowOptions(save_times=tuple(np.linspace(0, 40, 401))))
    energy = duffing_energy(saved.x_saved.values, np.array([delta, -1.0, 1.0]))
    assert np.all(np.diff(energy, axis=-1) <= 1e-9)


def test_traps_keep_the_labels_of_the_arrival_rule_and_stop_sooner():
    trapped = basin_map(duffing(), GRID, attractors=SINKS)
    plain = basin_map(
        duffing(), GRID, attractors=SINKS, options=BasinOptions(trapping_regions=False)
    )
    np.testing.assert_array_equal(trapped.label.values, plain.label.values)
    assert trapped.attrs["trapping_regions_used"] == 2
    assert "LaSalle" in trapped.attrs["trapping_region_proof"]
    assert "trapping_regions_used" not in plain.attrs
    assert trapped.arrived_in_region.values.all()
    # the regions are large: orbits stop at a small fraction of the arrival rule's time
    assert float(trapped.t_final.mean()) < 0.25 * float(plain.t_final.mean())


def test_flow_stops_inside_the_lobes():
    """Orbits followed with the trapping regions as stop regions end with E < 0 on the side of
    the region they report, on the compiled and the numpy path alike."""
    system = duffing()
    traps = system.trapping_regions
    geometry = traps.geometry_at(system.resolve_params())
    regions = StopRegions.empty(2)
    regions = dataclasses.replace(
        regions,
        rows=np.array([1, 0]),
        lyapunov=traps,
        lyapunov_params=P,
        trap_levels=geometry.levels,
        trap_normals=geometry.normals,
        trap_offsets=geometry.offsets,
    )
    x0 = np.random.default_rng(4).uniform(-2, 2, (400, 2))
    for s in (system, system.with_compiled_field(None)):
        ds = flow(s, x0, stop_regions=regions)
        end, region = ds.x_final.values, ds.stop_region.values
        assert np.all(region >= 0)
        assert np.all(duffing_energy(end, P) < 0)
        np.testing.assert_array_equal(np.sign(end[:, 0]), np.where(region == 0, 1.0, -1.0))
        np.testing.assert_array_equal(regions.contains(end), region)


def test_traps_on_the_numpy_path_agree_with_the_compiled_path():
    fast = basin_map(duffing(), GRID, attractors=SINKS)
    slow = basin_map(duffing().with_compiled_field(None), GRID, attractors=SINKS)
    np.testing.assert_array_equal(fast.label.values, slow.label.values)
    np.testing.assert_array_equal(fast.n_steps.values, slow.n_steps.values)


def test_no_traps_where_the_proof_does_not_hold():
    conservative = basin_map(duffing(delta=0.0), {"x": (0.5, 1.5, 3), "v": (-0.2, 0.2, 3)},
                             attractors=SINKS[1:], options=BasinOptions(
                                 flow=FlowOptions(t_max=5.0)))  # fmt: skip
    assert "trapping_regions_used" not in conservative.attrs
    assert "delta = 0 is not > 0" in conservative.attrs["trapping_region_notes"]
    single = duffing().with_params(alpha=1.0)
    ds = basin_map(single, {"x": (-1, 1, 3), "v": (-1, 1, 3)}, attractors=np.zeros((1, 2)))
    assert "not a double well" in ds.attrs["trapping_region_notes"]


def test_a_region_without_a_known_point_is_left_out_with_a_note():
    ds = basin_map(duffing(), {"x": (0.5, 1.5, 4), "v": (-0.3, 0.3, 4)}, attractors=SINKS[1:])
    assert ds.attrs["trapping_regions_used"] == 1
    assert "holds no known point" in ds.attrs["trapping_region_notes"]
    assert np.all(ds.label.values == 0)


# ---------------------------------------------------------------- wrong declarations
def rising(x, p):
    """A "Lyapunov function" that increases along Duffing orbits: minus the energy."""
    return -duffing_energy(x, p)


@numba.njit(compiled_lyapunov_signature(), cache=True)
def rising_compiled(y, p):  # pragma: no cover - compiled
    return -(0.5 * (y[1] * y[1]) + 0.5 * p[1] * (y[0] * y[0]) + 0.25 * p[2] * (y[0] ** 4))


def whole_sublevel(p):
    """One region, the whole of {E < 0}: it holds both sinks."""
    return TrapGeometry(np.zeros(1), np.zeros((1, 2)), -np.ones(1))


def _declare(**changes) -> TrappingRegions:
    base = duffing().trapping_regions
    names = {
        "lyapunov": base.lyapunov,
        "compiled": base.compiled,
        "geometry": base.geometry,
        "params": base.params,
    }
    names.update(changes)
    return TrappingRegions(**names)


def test_a_lyapunov_function_that_increases_is_an_error():
    wrong = _declare(lyapunov=f"{__name__}:rising", compiled=f"{__name__}:rising_compiled")
    system = duffing().with_trapping_regions(wrong)
    with pytest.raises(InvalidSystemError, match="increases along orbits"):
        basin_map(system, GRID, attractors=SINKS)
    # without the declaration's regions the map runs
    ds = basin_map(system, {"x": (-2, 2, 4), "v": (-2, 2, 4)}, attractors=SINKS,
                   options=BasinOptions(trapping_regions=False))  # fmt: skip
    assert set(np.unique(ds.label.values)) <= {0, 1}


def test_a_region_holding_two_sinks_is_an_error():
    system = duffing().with_trapping_regions(_declare(geometry=f"{__name__}:whole_sublevel"))
    with pytest.raises(InvalidSystemError, match="holds the known points"):
        basin_map(system, GRID, attractors=SINKS)


def test_declarations_are_checked():
    with pytest.raises(InputError, match=r"package\.module:name"):
        TrappingRegions("energy", "a:b", "a:c")
    with pytest.raises(InputError, match="one level, normal and offset"):
        TrapGeometry(np.zeros(2), np.zeros((1, 2)), np.zeros(2))
    with pytest.raises(InputError, match="finite"):
        TrapGeometry(np.array([np.nan]), np.zeros((1, 2)), np.zeros(1))
    with pytest.raises(InputTypeError, match="TrappingRegions"):
        duffing().with_trapping_regions("dynsys.models.classic:duffing_energy")
    with pytest.raises(UnknownParameterError, match="gamma"):
        duffing().with_trapping_regions(_declare(params=("delta", "gamma", "beta")))
    not_geometry = _declare(geometry="numpy:asarray")
    with pytest.raises(InputError, match="TrapGeometry"):
        not_geometry.geometry_at({"delta": 0.25, "alpha": -1.0, "beta": 1.0})
