"""iterate(): batched iteration of maps, checked against closed forms and known periods."""

import numpy as np
import pytest

from dynsys import IterateOptions, Status, iterate, status_names
from dynsys.io import load, save
from dynsys.maps import Map, gradient_descent_map
from dynsys.models import double_well


def logistic(r: float = 3.2) -> Map:
    return Map(
        lambda x, p: p["r"] * x * (1 - x),
        ["x"],
        {"r": r},
        jac=lambda x, p: (p["r"] * (1 - 2 * x))[..., None],
        name="logistic",
    )


def two_cycle(r: float) -> np.ndarray:
    """The 2-cycle of the logistic map, (r + 1 -+ sqrt((r - 3)(r + 1))) / (2 r)."""
    root = np.sqrt((r - 3) * (r + 1))
    return np.array([r + 1 - root, r + 1 + root]) / (2 * r)


# Periods of the attracting cycle of the logistic map, from the cascade r_n (1, 3, 1 + sqrt 6,
# 3.5441, 3.5644) and the period-3 window, which opens at 1 + sqrt 8 = 3.8284 by a fold.
PERIODS = [(2.5, 1), (3.2, 2), (3.5, 4), (3.555, 8), (3.835, 3)]


@pytest.mark.parametrize(("r", "period"), PERIODS)
def test_logistic_settles_on_the_known_period(r, period):
    m = logistic(r)
    starts = np.linspace(0.05, 0.95, 7)[:, None]
    ds = iterate(m, starts, options=IterateOptions(max_steps=20_000))
    assert (ds.status.values == (Status.CONVERGED if period == 1 else Status.PERIODIC)).all()
    assert (ds.period.values == period).all()
    cycle = ds.x_cycle.values[:, :period, 0]
    # the recorded cycle is the orbit of x_final in the order of the map, and closes
    np.testing.assert_allclose(cycle[:, 0], ds.x_final.values[:, 0])
    for i in range(1, period):
        np.testing.assert_allclose(cycle[:, i], m.g(cycle[:, i - 1 : i])[:, 0], atol=1e-9)
    np.testing.assert_allclose(m.iterate(cycle[:, :1], period)[:, 0], cycle[:, 0], atol=1e-9)
    # minimal: no proper divisor closes it
    for q in range(1, period):
        if period % q == 0:
            assert np.abs(cycle[:, q] - cycle[:, 0]).min() > 1e-3
    assert np.isnan(ds.x_cycle.values[:, period:]).all()


def test_two_cycle_equals_closed_form():
    r = 3.2
    ds = iterate(logistic(r), [[0.3], [0.9]], options=IterateOptions(tol=1e-12))
    got = np.sort(ds.x_cycle.values[:, :2, 0], axis=1)
    np.testing.assert_allclose(got, np.tile(two_cycle(r), (2, 1)), atol=3e-12)
    assert (ds.error_estimate.values <= 1e-12).all()


@pytest.mark.parametrize("r", [2.99, 2.999])
def test_slow_flip_approach_is_a_fixed_point_not_a_two_cycle(r):
    # multiplier 2 - r is just above -1: the orbit alternates around 1 - 1/r, its two-step
    # distances are tiny long before it is close; it must still be reported as the fixed point
    tol = 1e-10
    ds = iterate(logistic(r), [[0.3]], options=IterateOptions(max_steps=400_000, tol=tol))
    assert status_names(ds.status).tolist() == ["converged"]
    assert ds.period.item() == 1
    x_star = 1 - 1 / r
    # the first-order estimate is within a few per cent of the true error here
    assert abs(float(ds.x_final[0, 0]) - x_star) <= 1.1 * tol * (1 + x_star)


def test_just_past_the_flip_is_a_small_two_cycle():
    r = 3.001
    ds = iterate(logistic(r), [[0.3]], options=IterateOptions(max_steps=100_000))
    assert ds.period.item() == 2 and ds.status.item() == Status.PERIODIC
    np.testing.assert_allclose(np.sort(ds.x_cycle.values[0, :2, 0]), two_cycle(r), atol=1e-9)


def test_outcomes_per_orbit_and_nan_starts_do_not_disturb_the_batch():
    m = logistic(3.2)
    starts = np.array([[0.3], [np.nan], [1.5], [np.inf], [0.7]])
    ds = iterate(m, starts, options=IterateOptions(escape_radius=1e6))
    assert status_names(ds.status).tolist() == [
        "periodic",
        "nonfinite",
        "escaped",  # 1.5 -> -0.96 -> ... -> -inf
        "nonfinite",
        "periodic",
    ]
    assert ds.iterations.values[1] == 0 and ds.iterations.values[3] == 0
    alone = iterate(m, starts[[0]], options=IterateOptions(escape_radius=1e6))
    np.testing.assert_array_equal(ds.x_final.values[0], alone.x_final.values[0])
    assert ds.iterations.values[0] == alone.iterations.values[0]


def test_chaos_runs_out_of_steps_and_max_period_one_refuses_cycles():
    ds = iterate(logistic(3.9), [[0.3]], options=IterateOptions(max_steps=3000))
    assert status_names(ds.status).tolist() == ["max_steps"]
    assert ds.iterations.item() == 3000 and ds.period.item() == 0
    assert np.isnan(ds.error_estimate.values).all()
    ds = iterate(logistic(3.2), [[0.3]], options=IterateOptions(max_steps=500, max_period=1))
    assert status_names(ds.status).tolist() == ["max_steps"]


def test_saved_iterates_are_the_orbit_and_energy_is_the_loss(tmp_path):
    gd = gradient_descent_map(double_well(), step=0.3)
    x0 = np.array([[0.5, 1.0], [-2.0, 0.2]])
    ds = iterate(gd, x0, options=IterateOptions(save_every=3, max_steps=600))
    assert (ds.status.values == Status.CONVERGED).all()
    for i, it in enumerate(ds.iteration.values[:5]):
        np.testing.assert_array_equal(ds.x_saved.values[:, i], gd.iterate(x0, int(it)))
    stopped = ds.iteration.values > ds.iterations.values.max()
    assert np.isnan(ds.x_saved.values[:, stopped]).all()
    np.testing.assert_allclose(ds.energy_final.values, double_well().potential(ds.x_final.values))
    np.testing.assert_allclose(np.abs(ds.x_final.values), [[1.0, 0.0], [1.0, 0.0]], atol=1e-9)
    back = load(save(ds, tmp_path / "orbits.nc"))
    np.testing.assert_array_equal(back.period.values, ds.period.values)


def test_double_well_descent_at_step_1_05_is_periodic_with_period_two():
    gd = gradient_descent_map(double_well(), step=1.05)
    rng = np.random.default_rng(3)
    starts = np.column_stack([1 + rng.uniform(-0.2, 0.2, 20), rng.uniform(-1, 1, 20)])
    ds = iterate(gd, starts)
    assert (ds.status.values == Status.PERIODIC).all() and (ds.period.values == 2).all()
    pairs = np.sort(ds.x_cycle.sel(state="x").values[:, :2], axis=1)
    np.testing.assert_allclose(pairs, np.tile([0.87287156, 1.09108945], (20, 1)), atol=1e-8)
