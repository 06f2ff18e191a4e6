"""The baselines of benchmarks/bench_basins.py do the same work as dynsys: at a small size, each
gives dynsys's labels (so that no printed ratio compares unequal work), and the Duffing map obeys
the oscillator's symmetry."""

import numpy as np
import pytest

from benchmarks import bench_basins as bench

SIDE = 24


@pytest.fixture(scope="module")
def reference():
    ds = bench.dynsys_map(SIDE)
    return ds, bench.dynsys_labels(ds)


def test_dynsys_labels_name_the_two_sinks(reference):
    ds, labels = reference
    assert set(labels.tolist()) == {0, 1}
    # f(-x) = -f(x) and the grid is symmetric about the origin: -x0 goes to the other sink
    grid = labels.reshape(SIDE, SIDE)
    np.testing.assert_array_equal(grid[::-1, ::-1], 1 - grid)
    assert float(ds.arrived_in_region.mean()) > 0.9


def test_rk4_near_a_sink_gives_dynsys_labels(reference):
    _, labels = reference
    states = bench._grid_states(SIDE)
    found = bench.rk4_labels(states, bench.RK4_STEP, bench.near_sink(bench.RK4_RADIUS))
    np.testing.assert_array_equal(found, labels)


def test_rk4_in_the_lobes_gives_dynsys_labels(reference):
    _, labels = reference
    states = bench._grid_states(SIDE)
    found = bench.rk4_labels(states, bench.RK4_REGION_STEP, bench.in_lobes)
    np.testing.assert_array_equal(found, labels)


def test_the_looser_tolerance_gives_the_same_labels(reference):
    _, labels = reference
    np.testing.assert_array_equal(bench.dynsys_labels(bench.dynsys_map(SIDE, rtol=1e-6)), labels)


def test_the_baseline_energy_is_the_model_energy():
    from dynsys.models.classic import duffing_energy

    y = np.random.default_rng(3).uniform(-2, 2, size=(50, 2))
    np.testing.assert_allclose(
        bench.energy(y), duffing_energy(y, np.array([0.25, -1.0, 1.0])), rtol=1e-14, atol=1e-14
    )


def test_rk4_that_stops_too_far_out_is_caught(reference):
    """The label check can fail: a radius reaching past the basin boundary mislabels."""
    _, labels = reference
    states = bench._grid_states(SIDE)
    found = bench.rk4_labels(states, bench.RK4_STEP, bench.near_sink(0.9))
    assert np.count_nonzero(found != labels) > 0


@pytest.mark.parametrize(("rtol", "atol"), [(1e-8, 1e-10), (1e-6, 1e-9)])
def test_solve_ivp_loop_gives_dynsys_labels(reference, rtol, atol):
    ds, labels = reference
    pick = np.random.default_rng(1).choice(SIDE * SIDE, size=12, replace=False)
    found = bench.solve_ivp_labels(
        bench._grid_states(SIDE)[pick],
        float(ds.attrs["converge_tol_used"]),
        rtol,
        atol,
    )
    np.testing.assert_array_equal(found, labels[pick])


def test_baseline_field_is_the_model_field():
    from dynsys.models import duffing

    y = np.random.default_rng(2).uniform(-2, 2, size=(50, 2))
    np.testing.assert_allclose(bench.duffing_field(y), duffing().f(y), rtol=1e-15, atol=1e-15)
