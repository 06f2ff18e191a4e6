"""Pictures of basins: the image is the label array, attractors sit where they are, bars and
curves show the fractions and their intervals."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from dynsys import Status, System
from dynsys.basins import (
    Plane,
    SmallBall,
    UniformBox,
    basin_map,
    basin_probabilities,
    basin_probability_sweep,
)
from dynsys.models import double_well, pitchfork_normal_form
from phase.basins import (
    basin_colors,
    draw_basin_map,
    draw_probabilities,
    draw_probability_curves,
)


@pytest.fixture(scope="module")
def well_map():
    return basin_map(double_well(), {"x": (-1.8, 1.8, 10), "y": (-1.0, 1.0, 7)})


def test_basin_map_image_and_markers(well_map):
    _fig, ax = plt.subplots()
    drawn = draw_basin_map(well_map, ax=ax)
    assert np.array_equal(np.asarray(drawn["image"].get_array()), well_map.label.values.T)
    (line,) = drawn["points"].values()
    assert sorted(line.get_xdata().tolist()) == [-1.0, 1.0]
    assert line.get_marker() == "o"  # minima: filled circles (phase._style.kind_style)
    texts = [t.get_text() for t in drawn["legend"].get_texts()]
    assert texts == ["0: minimum", "1: minimum", "minimum"]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    # colours of the image: each cell has the colour of its label
    colors = basin_colors(well_map.attractor.values)
    rgba = drawn["image"].to_rgba(drawn["image"].get_array())
    assert np.allclose(rgba[0, 0, :3], colors[int(well_map.label[0, 0])][:3])


def test_basin_map_in_a_tilted_plane_projects_the_attractors():
    def field(x, p):
        return np.stack([x[..., 0] - x[..., 0] ** 3, -x[..., 1], -2.0 * x[..., 2]], axis=-1)

    system = System(field, ["x", "y", "z"])
    plane = Plane(
        {"s": (-1.5, 1.5, 9), "t": (-1, 1, 3)},
        base=[0.0, 0.0, 0.0],
        directions={"s": [1.0, 0.0, 0.0], "t": [0.0, 1.0, 1.0]},
    )
    ds = basin_map(system, plane)
    drawn = draw_basin_map(ds, legend=False)
    # s = 0 lies on the stable manifold of the saddle at the origin: its orbits end there, at a
    # point that does not attract, so they get that outcome and the saddle is no attractor
    assert np.all(ds.label.sel(s=0.0).values == -Status.NOT_ATTRACTING)
    assert set(drawn["points"]) == {"sink node"}
    sinks = drawn["points"]["sink node"]
    # the sinks (+-1, 0, 0) are the points s = +-1, t = 0 of the plane
    points = sorted(zip(sinks.get_xdata(), sinks.get_ydata(), strict=True))
    assert np.allclose(points, [(-1.0, 0.0), (1.0, 0.0)], atol=1e-12)
    assert drawn["legend"] is None


def test_probability_bars_show_fractions_and_intervals():
    ds = basin_probabilities(
        double_well(), UniformBox([-1.0, -1.0], [3.0, 1.0]), 200, seed=2, reference=[1.0, 0.0]
    )
    _fig, ax = plt.subplots()
    drawn = draw_probabilities(ds, ax=ax)
    heights = [bar.get_height() for bar in drawn["bars"]]
    assert heights == ds.fraction.values.tolist()
    segments = drawn["errorbars"].lines[2][0].get_segments()
    for seg, low, high in zip(segments, ds.ci_low.values, ds.ci_high.values, strict=True):
        assert seg[:, 1].min() == pytest.approx(low) and seg[:, 1].max() == pytest.approx(high)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "0: teacher" in labels


def test_probability_curves_follow_the_sweep():
    ds = basin_probability_sweep(
        pitchfork_normal_form(), "radius", [0.25, 1.0, 2.0], SmallBall(centre=0.5), 300, seed=1
    )
    _fig, ax = plt.subplots()
    drawn = draw_probability_curves(ds, ax=ax)
    for c, line in drawn["lines"].items():
        assert np.array_equal(line.get_ydata(), ds.fraction.sel(attractor=c).values)
        assert np.array_equal(line.get_xdata(), [0.25, 1.0, 2.0])
    assert set(drawn["bands"]) == set(drawn["lines"])
    assert ax.get_xlabel() == "radius"


def test_wrong_dataset_is_named():
    ds = basin_probabilities(double_well(), UniformBox(-2.0, 2.0), 50, seed=0)
    with pytest.raises(ValueError, match="basin_map"):
        draw_basin_map(ds)
    with pytest.raises(ValueError, match="basin_probability_sweep"):
        draw_probability_curves(ds)


def test_cycles_are_closed_curves_and_chaotic_sets_point_clouds():
    from dynsys.basins import BasinOptions, FlowOptions
    from dynsys.models import bistable_hopf, henon

    mu = -0.1
    r_s = np.sqrt((1 + np.sqrt(1 + 4 * mu)) / 2)
    options = BasinOptions(flow=FlowOptions(t_max=100.0))
    ds = basin_map(bistable_hopf(mu), {"x": (-1.5, 1.5, 12), "y": (-1.5, 1.5, 12)}, options=options)
    _fig, ax = plt.subplots()
    drawn = draw_basin_map(ds, ax=ax)
    cycle = int(np.flatnonzero(ds.attractor_type.values == "cycle")[0])
    (line,) = drawn["cycles"].values()
    xy = np.stack([line.get_xdata(), line.get_ydata()], axis=1)
    np.testing.assert_allclose(np.hypot(xy[:, 0], xy[:, 1]), r_s, atol=1e-6)
    np.testing.assert_allclose(xy[0], xy[-1])  # closed
    assert set(drawn["points"]) == {"sink focus"} and drawn["sets"] == {}
    texts = [t.get_text() for t in drawn["legend"].get_texts()]
    assert f"cycle {cycle}" in texts and "sink focus" in texts
    assert any(t.startswith(f"{cycle}: cycle (period 6.28") for t in texts)
    # a chaotic set of a map: a cloud of its drawn points; escaped starts are black
    ds = basin_map(henon(), {"x": (-1.5, 1.5, 10), "y": (-0.4, 0.4, 6)})
    _fig, ax = plt.subplots()
    drawn = draw_basin_map(ds, ax=ax)
    (cloud,) = drawn["sets"].values()
    assert len(cloud.get_offsets()) > 100 and drawn["cycles"] == {} and drawn["points"] == {}
    texts = [t.get_text() for t in drawn["legend"].get_texts()]
    assert "chaotic 0" in texts
    labels = set(np.unique(ds.label.values).tolist())
    assert len([t for t in texts if ":" in t]) == len(labels)  # only labels in the image


def test_probability_curves_by_type_sum_the_attractors_of_a_type():
    from dynsys.maps import gradient_descent_map

    gd = gradient_descent_map(double_well(), step=0.5)
    ds = basin_probability_sweep(
        gd, "eta", [0.5, 1.05, 2.5], UniformBox([-1.2, -0.5], [1.2, 0.5]), 200, seed=0
    )
    _fig, ax = plt.subplots()
    drawn = draw_probability_curves(ds, ax=ax, by="type")
    assert set(drawn["lines"]) == {"point", "cycle", "escaped"}
    total = sum(line.get_ydata() for line in drawn["lines"].values())
    np.testing.assert_allclose(total, 1.0)
    np.testing.assert_allclose(drawn["lines"]["point"].get_ydata(), [1.0, 0.0, 0.0])
    assert drawn["lines"]["escaped"].get_ydata()[2] == 1.0
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["converging (points)", "cycling", "diverging (escaped)"]
    with pytest.raises(ValueError, match="`by`"):
        draw_probability_curves(ds, by="kind")


def _ring_probabilities(n_points: int = 40, n_saddles: int = 40):
    """A ring of equilibria: n_points minima reached by orbits, n_saddles saddles by none."""
    counts = np.concatenate([np.arange(1, n_points + 1), np.zeros(n_saddles, dtype=int)])
    total = counts.sum()
    kinds = ["minimum"] * n_points + ["saddle-1"] * n_saddles
    return xr.Dataset(
        {
            "fraction": ("attractor", counts / total),
            "ci_low": ("attractor", 0.8 * counts / total),
            "ci_high": ("attractor", 1.2 * counts / total),
            "n_orbits": ("attractor", counts),
            "attractor_kind": ("attractor", kinds),
        },
        coords={"attractor": np.arange(n_points + n_saddles)},
    )


def test_probability_bars_leave_out_what_no_orbit_reached_and_cap_the_rest():
    ax = plt.figure().gca()
    drawn = draw_probabilities(_ring_probabilities(), ax=ax)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(drawn["bars"]) == 12 and labels[-1] == "29 others"
    assert not any("saddle" in label for label in labels)
    assert "40 reached by no orbit not shown" in ax.get_xlabel()
    heights = [bar.get_height() for bar in drawn["bars"]]
    assert heights[-1] == pytest.approx(sum(range(1, 30)) / sum(range(1, 41)))
    assert sum(heights) == pytest.approx(1.0)


def test_probability_bars_of_few_attractors_are_all_drawn():
    ax = plt.figure().gca()
    drawn = draw_probabilities(_ring_probabilities(3, 2), ax=ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0: minimum",
        "1: minimum",
        "2: minimum",
    ]
    assert len(drawn["bars"]) == 3
