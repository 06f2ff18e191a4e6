"""Basins of maps: gradient descent with a finite step, the logistic and the Henon map, checked
against closed forms.

Gradient descent with step ``eta`` on the double well ``V = (x^2 - 1)^2 / 4 + y^2 / 2`` is the
map ``x -> f(x) = (1 + eta) x - eta x^3``, ``y -> (1 - eta) y``. Its minima ``(+-1, 0)`` have
multipliers ``1 - 2 eta`` and ``1 - eta``: they attract for ``eta < 1``. For ``eta = 1/2`` the
basins on ``0 < x < 2`` are exact: ``f`` maps ``(0, sqrt 3)`` into ``(0, 1]`` and then increases
to 1, and maps ``(sqrt 3, 2]`` into ``[-1, 0)`` (``f(2) = -1``), whence to ``-1`` by symmetry; so
``P(-1) = (2 - sqrt 3) / 2`` for ``x`` uniform on ``[0, 2]``. Past ``eta = 1`` the minima
period-double: the 2-cycle ``{x1, x2}`` around ``+1`` has ``x1 + x2 = s``, ``x1 x2 = 1 / eta``
with ``s^2 = 1 + 3 / eta``, multipliers ``9 - 2 (1 + eta)^2`` (along x) and ``(1 - eta)^2``
(along y); it and its mirror image attract for ``1 < eta < sqrt 5 - 1``. For ``eta > 2`` the
contraction along y is lost (``|1 - eta| > 1``): every orbit with ``y != 0`` diverges.

The logistic map at ``r = 4`` is conjugate to the tent map: its Lyapunov exponent is ``log 2``.
The Henon map's Jacobian has determinant ``-b``: its exponents sum to ``log b``.
"""

import numpy as np
import pytest

from dynsys import InputError, IterateOptions, Status, explain
from dynsys.basins import (
    BasinOptions,
    UniformBox,
    basin_map,
    basin_probabilities,
    basin_probability_sweep,
)
from dynsys.maps import gradient_descent_map
from dynsys.models import double_well, henon, logistic


def gd(eta: float):
    return gradient_descent_map(double_well(), step=eta)


def two_cycle(eta: float) -> np.ndarray:
    """The points of the 2-cycle around +1: the roots of t^2 - s t + 1/eta."""
    s = np.sqrt(1 + 3 / eta)
    root = np.sqrt(s * s - 4 / eta)
    return np.array([(s - root) / 2, (s + root) / 2])


def direct(eta: float, x: np.ndarray, steps: int = 3000) -> np.ndarray:
    """The end state of the 1-D map from each x (NaN where it diverged)."""
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = (1 + eta) * x - eta * x**3
            x[~(np.abs(x) < 1e6)] = np.nan
    return x


def test_small_step_two_minima_with_exact_basins():
    ds = basin_probabilities(gd(0.5), UniformBox([0.0, -1.0], [2.0, 1.0]), 2000, seed=3)
    assert ds.attrs["dynamics"] == "map"
    xs = ds.attractor_x.sel(state="x").values
    np.testing.assert_allclose(np.sort(xs), [-1.0, 1.0], atol=1e-12)
    assert ds.attractor_type.values.tolist() == ["point", "point"]
    assert ds.attractor_period.values.tolist() == [1.0, 1.0]
    minus = int(np.argmin(xs))
    exact = (2 - np.sqrt(3)) / 2
    at = ds.sel(attractor=minus)
    assert float(at.ci_low) <= exact <= float(at.ci_high)
    # multipliers 1 - 2 eta = 0 and 1 - eta = 0.5; the exponents are their logarithms
    mu = np.sort(np.abs(at.attractor_eigenvalue_real.values))
    np.testing.assert_allclose(mu, [0.0, 0.5], atol=1e-12)
    assert str(at.attractor_kind.values) == "sink"
    assert np.all(ds.status.values == Status.CONVERGED)
    assert "attractor_energy" in ds and np.allclose(ds.attractor_energy.values, 0.0, atol=1e-20)


def test_small_step_symmetric_box_and_labels_against_direct_iteration():
    # eta = 0.8: f maps [-1.8, 1.8] into itself (|f| <= max(f(0.866), |f(1.8)|) = 1.43), and
    # overshoots: orbits from near the ends cross to the other minimum. An even number of grid
    # points leaves out x = 0 (the saddle's stable set)
    eta = 0.8
    grid = {"x": (-1.8, 1.8, 72), "y": (-1.0, 1.0, 5)}
    ds = basin_map(gd(eta), grid)
    assert ds["attractor"].values.tolist() == [0, 1]
    plus = int(np.argmax(ds.attractor_x.sel(state="x").values))
    end = direct(eta, ds.x.values.copy())
    expected = np.where(end > 0, plus, 1 - plus)
    crossed = np.sign(end) != np.sign(ds.x.values)
    assert crossed.sum() >= 4  # the check is not only the sign of x0
    np.testing.assert_array_equal(ds.label.values, np.broadcast_to(expected[:, None], (72, 5)))
    # the map is odd in x and the grid symmetric: the basins are mirror images
    np.testing.assert_array_equal(ds.label.values[::-1], 1 - ds.label.values)
    np.testing.assert_allclose(ds.fraction.values, [0.5, 0.5])


def test_past_the_stability_limit_two_cycles_of_period_two():
    eta = 1.05
    grid = {"x": (-1.5, 1.5, 61), "y": (-0.5, 0.5, 3)}
    ds = basin_map(gd(eta), grid)
    rows = ds["attractor"].values[ds["attractor"].values >= 0]
    assert len(rows) == 2
    assert ds.attractor_type.sel(attractor=rows).values.tolist() == ["cycle", "cycle"]
    assert ds.attractor_period.sel(attractor=rows).values.tolist() == [2.0, 2.0]
    cycle = two_cycle(eta)  # 0.8729, 1.0911
    for r in rows:
        drawn = ds.attractor_samples.sel(attractor=r).values
        drawn = drawn[np.isfinite(drawn).all(axis=1)]
        assert drawn.shape == (2, 2)
        x = np.sort(np.abs(drawn[:, 0]))
        np.testing.assert_allclose(x, cycle, atol=1e-10)
        assert np.all(np.sign(drawn[:, 0]) == np.sign(drawn[0, 0]))  # around one minimum
        np.testing.assert_allclose(drawn[:, 1], 0.0, atol=1e-10)
        mu = np.sort(ds.attractor_eigenvalue_real.sel(attractor=r).values)
        np.testing.assert_allclose(mu, np.sort([9 - 2 * (1 + eta) ** 2, (1 - eta) ** 2]), atol=1e-9)
    label, status = ds.label.values, ds.status.values
    assert np.all(status[label >= 0] == Status.PERIODIC)
    assert not np.any(status == Status.MAX_STEPS)
    # each orbit settles on the cycle on the side where direct iteration ends, or escapes; the
    # grid points x = 0, -1, 1 are fixed points of f (unstable now): not attractors
    end = direct(eta, ds.x.values.copy())
    side = {int(np.sign(ds.attractor_x.sel(attractor=r, state="x"))): int(r) for r in rows}
    expected = np.where(np.isnan(end), -Status.ESCAPED, np.where(end > 0, side[1], side[-1]))
    fixed = np.isin(end, [-1.0, 0.0, 1.0])
    assert fixed.sum() == 3
    expected[fixed] = -Status.NOT_ATTRACTING
    np.testing.assert_array_equal(label, np.broadcast_to(expected[:, None], label.shape))


def test_large_step_diverges():
    ds = basin_probabilities(gd(2.5), UniformBox([-1.5, -1.0], [1.5, 1.0]), 200, seed=0)
    assert ds["attractor"].values.tolist() == [-Status.ESCAPED]
    assert float(ds.fraction.sel(attractor=-Status.ESCAPED)) == 1.0
    assert explain(Status.ESCAPED).startswith("escaped: the state norm exceeded")


def test_logistic_at_four_is_chaotic_with_exponent_log_two():
    ds = basin_probabilities(logistic(4.0), UniformBox(0.0, 1.0), 100, seed=0)
    rows = ds["attractor"].values[ds["attractor"].values >= 0]
    assert len(rows) == 1
    at = ds.sel(attractor=rows[0])
    assert str(at.attractor_type.values) == "chaotic"
    lam, se = float(at.attractor_lyapunov[0]), float(at.attractor_lyapunov_stderr[0])
    assert 0 < se < 1e-3
    assert abs(lam - np.log(2)) < 4 * se
    assert float(at.fraction) > 0.9
    # in floating point a few orbits land exactly on 1 and then on the fixed point 0, a source:
    # they are reported as reaching a point that does not attract, never as chaotic
    others = set(ds["attractor"].values[ds["attractor"].values < 0].tolist())
    assert others <= {-Status.NOT_ATTRACTING}
    assert np.all(ds.status.values[ds.label.values == rows[0]] == Status.RECURRENT)


def test_henon_chaos_and_divergence():
    ds = basin_probabilities(henon(), UniformBox([-1.0, -0.3], [1.0, 0.3]), 200, seed=1)
    rows = ds["attractor"].values[ds["attractor"].values >= 0]
    assert len(rows) == 1
    at = ds.sel(attractor=rows[0])
    assert str(at.attractor_type.values) == "chaotic"
    lam = at.attractor_lyapunov.values
    assert abs(lam[0] - 0.41922) < 4 * float(at.attractor_lyapunov_stderr[0]) + 0.005
    assert lam.sum() == pytest.approx(np.log(0.3), abs=1e-10)
    # starts far from the attractor diverge
    assert set(ds["attractor"].values[ds["attractor"].values < 0].tolist()) <= {-Status.ESCAPED}


def test_cycle_longer_than_the_iteration_detects_is_found_by_recurrence():
    # r = 3.5: a stable 4-cycle; with max_period = 2 the iteration cannot see it and runs out of
    # iterations, and the recurrence finds and verifies it (Newton on g^4(x) - x)
    options = BasinOptions(iterate=IterateOptions(max_period=2, max_steps=2000))
    system = logistic(3.5)
    ds = basin_probabilities(system, UniformBox(0.1, 0.9), 50, seed=0, options=options)
    assert ds["attractor"].values.tolist() == [0]
    at = ds.sel(attractor=0)
    assert str(at.attractor_type.values) == "cycle" and float(at.attractor_period) == 4.0
    assert str(at.attractor_origin.values) == "recurrence"
    x = at.attractor_x.values
    assert abs(system.iterate(x, 4)[0] - x[0]) < 1e-12
    assert min(abs(system.iterate(x, d)[0] - x[0]) for d in (1, 2)) > 0.01  # minimal period
    assert np.all(ds.status.values == Status.PERIODIC)


def test_sweep_of_the_step_converging_cycling_diverging():
    values = [0.5, 1.05, 2.5]
    ds = basin_probability_sweep(
        gd(0.5), "eta", values, UniformBox([-1.2, -0.5], [1.2, 0.5]), 300, seed=0
    )
    types = ds.attractor_type.values
    present = ds.n_orbits.values > 0
    assert sorted(types[0][present[0] & (ds.attractor.values >= 0)]) == ["point", "point"]
    assert sorted(types[1][present[1] & (ds.attractor.values >= 0)]) == ["cycle", "cycle"]
    assert ds.fraction.sel(attractor=-Status.ESCAPED).values[2] == 1.0
    np.testing.assert_allclose(ds.fraction.sum("attractor").values, 1.0)
    # points and cycles are tracked apart: four rows for the four attractors
    assert (ds.attractor.values >= 0).sum() == 4


def test_map_results_in_processes_equal_the_in_process_ones():
    options = BasinOptions(chunk_size=60, workers=2)
    sampler = UniformBox([-1.5, -1.0], [1.5, 1.0])
    here = basin_probabilities(gd(1.05), sampler, 200, seed=4, options=options)
    pool = basin_probabilities(
        gd(1.05), sampler, 200, seed=4, options=options, executor="processes"
    )
    np.testing.assert_array_equal(here.label.values, pool.label.values)
    np.testing.assert_array_equal(here.attractor_x.values, pool.attractor_x.values)


def test_given_points_reference_and_bad_input():
    system = gd(0.5)
    grid = {"x": (-1.5, 1.5, 6), "y": [0.0]}
    ds = basin_map(system, grid, attractors=[[1.0, 0.0], [-1.0, 0.0]], reference=[1.0, 0.0])
    assert ds.attractor_origin.values.tolist() == ["given", "given"]
    assert ds.attractor_role.values.tolist() == ["teacher", "global minimum"]
    with pytest.raises(InputError, match="not fixed points of the map"):
        basin_map(system, grid, attractors=[[0.5, 0.0]])
    with pytest.raises(InputError, match="symmetry"):
        from dynsys.symmetry import ExplicitGroup

        basin_map(system, grid, symmetry=ExplicitGroup([[~0, 1]]))
    with pytest.raises(Exception, match="save_every"):
        BasinOptions(iterate=IterateOptions(save_every=10))
