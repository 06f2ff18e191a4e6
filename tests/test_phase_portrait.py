"""Publication defaults of the portraits: a colour bar on the shaded energy, nullclines in the
legend, 3-D systems drawn as projections or slices (never both, the title says which), legends
capped, the palette colour-blind safe."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from dynsys.models import double_well, lorenz, mueller_brown
from phase import Region, draw_energy, portrait
from phase._style import PALETTE, capped_legend


def test_energy_has_a_labelled_colour_bar_and_a_dozen_levels():
    fig = plt.figure()
    ax = fig.gca()
    shade = draw_energy(mueller_brown(), Region((-1.5, -0.5), (1.2, 2.0)), ax=ax, resolution=40)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "energy V"
    assert len(shade.levels) <= 13 and shade.extend == "max"


def test_nullclines_are_in_the_legend():
    ax = plt.figure().gca()
    portrait(double_well(), Region((-2, -1), (2, 1)), nullclines=True, ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["x-nullcline (dx/dt = 0)", "y-nullcline (dy/dt = 0)"]


def test_a_three_state_portrait_with_orbits_is_a_projection_and_keeps_the_origin_whole():
    t = np.linspace(0.0, 1.0, 20)
    orbit = xr.Dataset(
        {"x": (("time", "state"), np.stack([10 * t, t, 40 * t], -1))},
        coords={"time": t, "state": ["x", "y", "z"]},
    )
    ax = plt.figure().gca()
    portrait(lorenz(), Region((-30, -30, 0), (30, 30, 50)), orbits=orbit, plane=("x", "z"), ax=ax)
    assert ax.get_title() == "lorenz: projection onto the (x, z) plane"
    assert not ax.collections  # no streamlines of a slice under the projection
    low, high = ax.get_ylim()
    assert low < 0.0 and high > 50.0  # the margin keeps z = 0 whole


def test_a_three_state_portrait_without_orbits_is_a_slice_and_says_so():
    ax = plt.figure().gca()
    portrait(lorenz(), Region((-30, -30, 0), (30, 30, 50)), plane=("x", "z"), ax=ax)
    assert ax.get_title() == "lorenz: field in the slice y = 0"
    assert ax.collections  # the streamlines


def test_long_legends_are_capped():
    ax = plt.figure().gca()
    for k in range(30):
        ax.plot([k], [k], "o", label=f"point {k}")
    texts = [t.get_text() for t in capped_legend(ax).get_texts()]
    assert len(texts) == 8 and texts[-1] == "+23 more"


def test_the_palette_is_okabe_ito():
    assert PALETTE[:3] == ("#0072b2", "#e69f00", "#009e73")
