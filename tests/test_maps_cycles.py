"""find_cycles() and classify() on maps, checked against closed forms and polynomial roots."""

import numpy as np
import pytest
from numpy.polynomial import Polynomial

from dynsys import IterateOptions, Status, classify, find_cycles, iterate, status_names
from dynsys.io import load, save
from dynsys.maps import Map, gradient_descent_map
from dynsys.models import double_well
from dynsys.stability import MAP_KINDS, classify_multipliers


def logistic(r: float) -> Map:
    return Map(
        lambda x, p: p["r"] * x * (1 - x),
        ["x"],
        {"r": r},
        jac=lambda x, p: (p["r"] * (1 - 2 * x))[..., None],
        name="logistic",
    )


# ---------------------------------------------------------------------------- logistic map
def test_logistic_fixed_points_and_two_cycle_closed_forms():
    r = 3.2
    ds = find_cycles(logistic(r), np.linspace(0.02, 0.98, 40), period=2)
    assert ds["period"].values.tolist() == [1, 1, 2]
    # fixed points 0 (multiplier r) and 1 - 1/r (multiplier 2 - r)
    np.testing.assert_allclose(ds["x"].values[:2, 0, 0], [0.0, 1 - 1 / r], atol=1e-14)
    np.testing.assert_allclose(ds["multiplier_real"].values[:2, 0], [r, 2 - r], rtol=1e-12)
    # the 2-cycle (r + 1 -+ sqrt((r - 3)(r + 1))) / (2 r), multiplier 4 + 2 r - r^2
    root = np.sqrt((r - 3) * (r + 1))
    np.testing.assert_allclose(
        ds["x"].values[2, :, 0], [(r + 1 - root) / (2 * r), (r + 1 + root) / (2 * r)], atol=1e-14
    )
    np.testing.assert_allclose(ds["multiplier_real"].values[2, 0], 4 + 2 * r - r * r, atol=1e-12)
    assert ds["kind"].values.tolist() == ["source", "flip source", "sink"]
    assert ds["stable"].values.tolist() == [False, False, True]
    assert np.isnan(ds["x"].values[:2, 1]).all()  # phases beyond the minimal period
    # every converged seed is counted once, at its cycle
    assert ds["n_seeds"].values.sum() == ds.attrs["n_converged"] == 40


def test_one_cycle_whatever_point_the_seeds_reach():
    r = 3.5  # a stable 4-cycle
    m = logistic(r)
    on_cycle = iterate(m, [[0.3]]).x_cycle.values[0, :4]
    seeds = on_cycle + 1e-4  # one seed near each of its four points
    ds = find_cycles(m, seeds, period=4)
    assert ds.sizes["cycle"] == 1 and int(ds["n_seeds"][0]) == 4
    assert ds["period"].item() == 4
    assert (ds["seed_cycle"].values == 0).all()
    # phase 0 is the smallest point and the points follow the map
    x = ds["x"].values[0, :, 0]
    assert x[0] == x.min()
    np.testing.assert_allclose(m.g(x[:, None])[:, 0], np.roll(x, -1), atol=1e-12)


def test_period_three_window_has_a_stable_and_an_unstable_cycle():
    # the 3-cycles are born in pairs at r = 1 + sqrt(8) by a fold of g^3
    r = 3.835
    m = logistic(r)
    ds = find_cycles(m, np.linspace(0.01, 0.99, 300), period=3)
    three = ds.where(ds["period"] == 3, drop=True)
    assert three.sizes["cycle"] == 2
    # past the superstable r = 3.8319 the stable cycle's multiplier is negative
    assert sorted(three["kind"].values.tolist()) == ["flip sink", "source"]
    for c in range(2):
        x = three["x"].values[c, :, 0]
        assert np.abs(m.iterate(x[:, None], 3)[:, 0] - x).max() < 1e-12
        # the multiplier is the product of the derivatives along the cycle (chain rule)
        np.testing.assert_allclose(
            three["multiplier_real"].values[c, 0], np.prod(r * (1 - 2 * x)), rtol=1e-10
        )


def test_seeds_on_a_fixed_point_report_its_minimal_period():
    r = 2.8  # only fixed points
    ds = find_cycles(logistic(r), [[0.64], [0.65], [0.66]], period=2)
    assert ds["period"].values.tolist() == [1]
    np.testing.assert_allclose(ds["x"].values[0, 0, 0], 1 - 1 / r, atol=1e-14)


def test_nan_seeds_are_reported_per_seed(tmp_path):
    ds = find_cycles(logistic(3.2), [[0.3], [np.nan], [0.8]], period=2)
    assert status_names(ds["seed_status"].values).tolist() == [
        "converged",
        "nonfinite",
        "converged",
    ]
    assert ds["seed_cycle"].values[1] == -1 and (ds["seed_cycle"].values[[0, 2]] >= 0).all()
    assert ds.attrs["n_nonfinite"] == 1 and ds.attrs["n_failed"] == 1
    back = load(save(ds, tmp_path / "cycles.nc"))
    assert back["kind"].values.tolist() == ds["kind"].values.tolist()
    np.testing.assert_array_equal(back["x"].values, ds["x"].values)


# ---------------------------------------------------------------------------- gradient descent
ETA = 1.05


def period_two_points(eta: float) -> np.ndarray:
    """Real roots of (g(g(x)) - x) / (g(x) - x) for g(x) = x - eta (x^3 - x), the double well's
    descent map: the points of its 2-cycles (degree 6 after removing the fixed points)."""
    g = Polynomial([0.0, 1.0 + eta, 0.0, -eta])
    x = Polynomial([0.0, 1.0])
    quotient, remainder = divmod(g(g) - x, g - x)
    assert np.abs(remainder.coef).max() < 1e-12
    roots = quotient.roots()
    return np.sort(roots[np.abs(roots.imag) < 1e-9].real)


def test_double_well_two_cycle_equals_the_roots_of_the_period_two_equation():
    roots = period_two_points(ETA)  # -1.704, -1.091, -0.873, 0.873, 1.091, 1.704
    assert roots.size == 6
    gd = gradient_descent_map(double_well(), step=ETA)
    seeds = [[0.9, 0.2], [1.1, -0.3], [1.02, 0.0]]
    ds = find_cycles(gd, seeds, period=2)
    two = ds.where(ds["period"] == 2, drop=True)
    assert two.sizes["cycle"] == 1
    got = two["x"].sel(state="x").values[0]
    np.testing.assert_allclose(got, roots[[3, 4]], atol=1e-12, rtol=0)
    np.testing.assert_allclose(two["x"].sel(state="y").values[0], 0.0, atol=1e-12)
    assert two["kind"].item() == "sink" and bool(two["stable"].item())
    # multipliers: g'(a) g'(b) along x with g'(x) = 1 + eta - 3 eta x^2, (1 - eta)^2 along y
    slope = 1 + ETA - 3 * ETA * got**2
    np.testing.assert_allclose(
        two["multiplier_real"].values[0], [np.prod(slope), (1 - ETA) ** 2], atol=1e-12
    )
    V = double_well().potential(two["x"].values[0])
    np.testing.assert_allclose(two["energy"].values[0], V)
    # the same cycle by iterating gradient descent from nearby starts
    it = iterate(gd, seeds, options=IterateOptions(tol=3e-13))
    assert (it["status"].values == Status.PERIODIC).all() and (it["period"].values == 2).all()
    pairs = np.sort(it["x_cycle"].sel(state="x").values[:, :2], axis=1)
    np.testing.assert_allclose(pairs, np.tile(roots[[3, 4]], (3, 1)), atol=1e-12, rtol=0)


def test_classify_on_the_descent_map_sees_the_flip():
    gd = gradient_descent_map(double_well(), step=ETA)
    ds = classify(gd, [1.0, 0.0])
    assert str(ds["kind"].values) == "flip saddle-1"  # multiplier 1 - 2 eta = -1.1 < -1
    assert not bool(ds["stable"]) and int(ds["index"]) == 1
    np.testing.assert_allclose(ds["multiplier_real"].values, [1 - 2 * ETA, 1 - ETA], atol=1e-14)
    # below the flip the minimum is a sink that overshoots (negative leading multiplier)
    both = classify(gd, [[1.0, 0.0], [0.0, 0.0]], params={"eta": 0.8})
    # multipliers 1 - 0.8 * 2 = -0.6 at the minimum; 1 + 0.8 and 1 - 0.8 at the saddle
    assert both["kind"].values.tolist() == ["flip sink", "saddle-1"]
    assert both["energy"].values.tolist() == [0.0, 0.25]
    at_flip = classify(gd, [1.0, 0.0], params={"eta": 1.0})
    assert str(at_flip["kind"].values) == "flip" and int(at_flip["nullity"]) == 1
    # a flow is still classified by its eigenvalues
    assert str(classify(double_well(), [1.0, 0.0])["kind"].values) == "minimum"


@pytest.mark.parametrize(
    ("multipliers", "kind"),
    [
        ([0.5, 0.2], "sink"),
        ([-0.9, 0.2], "flip sink"),
        ([0.3 + 0.4j, 0.3 - 0.4j], "focus sink"),
        ([2.0, 3.0], "source"),
        ([-3.0, 2.0], "flip source"),
        ([1.5, 0.5], "saddle-1"),
        ([-1.5, 0.5], "flip saddle-1"),
        ([1.2 + 1j, 1.2 - 1j, 0.1], "focus saddle-2"),
        ([1.0, 0.5], "fold"),
        ([-1.0, 0.5], "flip"),
        ([np.exp(1j), np.exp(-1j), 0.5], "neimark-sacker"),
        ([1.0, -1.0], "non-hyperbolic"),
        ([np.nan, 0.5], "undefined"),
    ],
)
def test_map_kinds(multipliers, kind):
    index, nullity, got = classify_multipliers(multipliers)
    assert got.item() == kind
    listed = kind.replace(kind.split("-")[-1], "<k>") if "saddle-" in kind else kind
    assert listed in MAP_KINDS
    mu = np.asarray(multipliers)
    if np.isfinite(mu).all():
        assert index.item() == np.count_nonzero(np.abs(mu) > 1 + 1e-8)
        assert nullity.item() == np.count_nonzero(np.abs(np.abs(mu) - 1) <= 1e-8)
