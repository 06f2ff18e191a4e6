"""Monte-Carlo machinery of the basin probabilities: Wilson intervals (against scipy and by their
coverage of a probability known exactly), per-chunk random streams, samplers, sequential mode."""

import numpy as np
import pytest
from scipy.stats import binomtest

from dynsys.basins import BasinOptions, basin_probabilities
from dynsys.basins._samplers import Gaussian, NetworkInit, SmallBall, UniformBox
from dynsys.basins._statistics import (
    chunk_rng,
    chunk_seed,
    exact_coverage,
    widths_below,
    wilson_interval,
)
from dynsys.models import double_well, pitchfork_normal_form


@pytest.mark.parametrize(
    ("k", "n"), [(0, 10), (3, 10), (50, 100), (99, 100), (100, 100), (1, 1), (13, 37)]
)
def test_wilson_interval_matches_scipy(k, n):
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_vectorised_and_edges():
    low, high = wilson_interval(np.array([0, 5, 10]), 10, confidence=0.99)
    assert low[0] == 0.0 and high[2] == 1.0
    assert np.all(low < high)
    low0, high0 = wilson_interval(0, 0)
    assert (low0, high0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.5)


def test_intervals_cover_an_exact_basin_probability():
    # x' = x - x^3 from x ~ U(-1, 3): the basin of x = +1 is x > 0, probability exactly 3/4.
    # 1,000 repetitions of 100 draws each, independent streams (consecutive draws of one seeded
    # run); the exact coverage of the 95% Wilson interval at (p, n) = (3/4, 100) is 0.951.
    assert exact_coverage(0.75, 100) >= 0.95
    ds = basin_probabilities(
        pitchfork_normal_form(),
        UniformBox(-1.0, 3.0),
        100_000,
        seed=2024,
        options=BasinOptions(chunk_size=25_000),
    )
    right = int(np.flatnonzero(np.isclose(ds.attractor_x.sel(state="x").values, 1.0))[0])
    hits = (ds.label.values == right).reshape(1000, 100).sum(axis=1)
    low, high = wilson_interval(hits, 100)
    covered = int(np.count_nonzero((low <= 0.75) & (high >= 0.75)))
    assert covered >= 930
    # the whole run's own interval covers 3/4 too, and is tight
    assert ds.ci_low[right] <= 0.75 <= ds.ci_high[right]
    assert float(ds.ci_high[right] - ds.ci_low[right]) < 0.006


def test_chunk_streams_are_spawned_children():
    children = np.random.SeedSequence(11).spawn(5)
    for i, child in enumerate(children):
        assert np.array_equal(chunk_seed(11, i).generate_state(4), child.generate_state(4))
    a = chunk_rng(11, 3).random(5)
    assert np.array_equal(a, chunk_rng(11, 3).random(5))
    assert not np.array_equal(a, chunk_rng(11, 4).random(5))


KEEP = BasinOptions(chunk_size=100, keep_states=True)


def test_results_do_not_depend_on_how_the_stream_is_cut():
    # the same seed and chunk size give the same samples whatever else happens
    first = basin_probabilities(double_well(), UniformBox(-2.0, 2.0), 300, seed=5, options=KEEP)
    second = basin_probabilities(double_well(), UniformBox(-2.0, 2.0), 300, seed=5, options=KEEP)
    assert np.array_equal(first.x0.values, second.x0.values)
    other = basin_probabilities(double_well(), UniformBox(-2.0, 2.0), 300, seed=6, options=KEEP)
    assert not np.array_equal(first.x0.values, other.x0.values)


def test_sequential_mode_stops_when_intervals_are_narrow():
    ds = basin_probabilities(
        double_well(),
        UniformBox([-1.0, -1.0], [3.0, 1.0]),
        200,
        seed=3,
        options=BasinOptions(target_width=0.08, chunk_size=100),
    )
    width = ds.ci_high.values - ds.ci_low.values
    assert np.all(width < 0.08)
    n = ds.attrs["n_samples"]
    assert n % 200 == 0 and ds.attrs["n_rounds"] == n // 200 >= 2
    # one round fewer would not have been enough: the rule stops at the first round that is
    counts = [np.count_nonzero(ds.label.values[: n - 200] == a) for a in ds.attractor.values]
    assert not widths_below(counts, n - 200, 0.08)
    capped = basin_probabilities(
        double_well(),
        UniformBox([-1.0, -1.0], [3.0, 1.0]),
        200,
        seed=3,
        options=BasinOptions(target_width=0.001, max_samples=600, chunk_size=100),
    )
    assert capped.attrs["n_samples"] == 600


@pytest.mark.parametrize(
    ("sampler", "mean", "var"),
    [
        (UniformBox(-1.0, 3.0), 1.0, 16 / 12),
        (Gaussian(mean=2.0, std=0.5), 2.0, 0.25),
        (NetworkInit(fan_in=25), 0.0, 1 / 25),
        (NetworkInit(fan_in=10, fan_out=30), 0.0, 2 / 40),
        (NetworkInit(fan_in=4, distribution="uniform"), 0.0, 1 / 4),
    ],
)
def test_sampler_moments(sampler, mean, var):
    x = sampler.sample(np.random.default_rng(0), 40_000, 3)
    assert x.shape == (40_000, 3)
    se = np.sqrt(var / x.size)
    assert abs(x.mean() - mean) < 5 * se
    assert x.var() == pytest.approx(var, rel=0.03)


def test_small_ball_is_uniform_in_the_ball():
    centre = np.array([1.0, -2.0, 0.5, 0.0])
    x = SmallBall(centre=centre, radius=0.3).sample(np.random.default_rng(1), 50_000, 4)
    r = np.linalg.norm(x - centre, axis=1) / 0.3
    assert r.max() <= 1.0
    # uniform in a 4-ball: P(r <= s) = s^4
    for s in (0.5, 0.8):
        p = s**4
        assert abs(np.mean(r <= s) - p) < 5 * np.sqrt(p * (1 - p) / r.size)
    assert np.abs(np.mean(x - centre, axis=0)).max() < 0.01


def test_sampler_errors_name_the_problem():
    with pytest.raises(ValueError, match="`high` must exceed `low`"):
        UniformBox(1.0, 0.0).sample(np.random.default_rng(0), 2, 1)
    with pytest.raises(ValueError, match="has 3 values; the system has 2"):
        UniformBox([0, 0, 0], 1.0).check(2)
    with pytest.raises(ValueError, match="`radius`"):
        SmallBall(radius=-1.0)
    with pytest.raises(ValueError, match="`fan_in`"):
        NetworkInit(fan_in=0)
    with pytest.raises(ValueError, match="`std`"):
        Gaussian(std=0.0)
