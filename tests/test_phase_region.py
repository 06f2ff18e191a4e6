"""One region convention in phase: corners (lower, upper), as the specs' [region]; a bare pair of
pairs, which reads as corners and as (min, max) ranges alike, is refused with the accepted forms."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dynsys.errors import InputError
from dynsys.models import double_well, lorenz
from phase import Region, draw_energy, draw_nullclines, draw_vector_field, portrait
from phase._region import as_region, plane_box


@pytest.mark.parametrize(
    "draw", [portrait, draw_vector_field, draw_energy, draw_nullclines], ids=lambda f: f.__name__
)
def test_a_bare_nested_tuple_is_refused_with_the_accepted_forms(draw):
    ax = plt.figure().gca()
    with pytest.raises(InputError, match=r"Region\(lower=\(x_min, y_min\), upper="):
        draw(double_well(), ((-2, 2), (-1, 1)), ax=ax)
    plt.close("all")


def test_corners_and_a_spec_mapping_draw_the_same_box():
    for region in (Region((-2, -1), (2, 1.5)), {"lower": [-2, -1], "upper": [2, 1.5]}):
        ax = plt.figure().gca()
        portrait(double_well(), region, ax=ax)
        assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 1.5)
        plt.close("all")


def test_the_other_convention_is_an_error_not_a_misread():
    # (x_min, x_max), (y_min, y_max) = (-2, 2), (-1, 1) given as corners: upper (-1, 1) is not
    # above lower (-2, 2) in y, so it cannot pass as a box.
    with pytest.raises(InputError, match="upper corner must exceed its lower corner"):
        Region(lower=(-2, 2), upper=(-1, 1))


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"lower": [0, 0]}, "lacks \\['upper'\\]"),
        ({"lower": [0, 0], "upper": [1, np.inf]}, "must be finite"),
        ({"lower": [0, 0], "upper": [1, 1, 1]}, "3 values"),
        ({"lower": 0, "upper": 1}, "one per variable"),
        ([[0, 1], [0, 1]], "not accepted as a region"),
        ("box", "cannot read"),
        (3.0, "cannot read"),
    ],
)
def test_malformed_regions_name_the_problem(bad, message):
    with pytest.raises(InputError, match=message):
        as_region(bad)


def test_full_state_corners_are_cut_to_the_plane():
    box = Region((-30, -30, 0), (30, 30, 50))
    assert plane_box(box, 3, 0, 2) == ((-30.0, 30.0), (0.0, 50.0))
    assert plane_box(Region((-1, 0), (1, 5)), 3, 0, 2) == ((-1.0, 1.0), (0.0, 5.0))
    with pytest.raises(InputError, match="give 2"):
        plane_box(Region((0, 0, 0, 0), (1, 1, 1, 1)), 3, 0, 2)
    ax = plt.figure().gca()
    portrait(lorenz(), box, plane=("x", "z"), ax=ax)
    assert ax.get_ylim() == (0.0, 50.0)
    plt.close("all")
