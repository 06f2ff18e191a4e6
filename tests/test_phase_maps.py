"""Pictures of maps: branches of fixed points and cycles with every point of each cycle, orbit
diagrams, and the two on one picture, checked against closed forms.

The logistic map ``x -> r x (1 - x)``: the fixed point ``1 - 1/r`` is stable for ``1 < r < 3`` and
period-doubles at ``r = 3`` (multiplier ``2 - r``); the 2-cycle, the roots of
``r^2 x^2 - r (r + 1) x + (r + 1) = 0``, is stable up to ``r = 1 + sqrt(6)``, where it doubles
again; the 4-cycle doubles at ``r = 3.5440903596``. For ``r < 4`` every orbit in ``(0, 1)``
ends up in ``[g(r/4), r/4]`` (``r/4`` is the map's largest value). The Henon map
``(x, y) -> (1 - a x^2 + y, b x)``: fixed point ``x = (-(1 - b) + sqrt((1 - b)^2 + 4 a)) / (2 a)``,
``y = b x``, which period-doubles at ``a = 3 (1 - b)^2 / 4``; its 2-cycle ``p, q`` has
``p + q = (1 - b) / a`` and ``p q = ((1 - b)^2 - a) / a^2``. Gradient descent with step ``eta`` on
the double well has the multipliers ``1 - eta lambda``: the minimum ``(1, 0)`` (Hessian
eigenvalues 2 and 1) period-doubles at ``eta = 1``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from dynsys.continuation import ContinuationOptions, bifurcation_diagram, continue_branch
from dynsys.errors import InputError, InputTypeError, UnknownParameterError
from dynsys.fixedpoints import find_cycles
from dynsys.maps import Map, gradient_descent_map
from dynsys.models import double_well, henon, logistic
from phase import (
    draw_branch,
    draw_diagram,
    draw_fixed_points,
    draw_floquet_multipliers,
    draw_orbit_diagram,
    orbit_diagram_points,
)
from phase.bifurcation import SPECIAL_STYLE, index_color

R_PD2 = 1 + np.sqrt(6)
R_PD4 = 3.5440903596


def two_cycle(r):
    """The logistic 2-cycle, smaller point first."""
    root = np.sqrt((r - 3) * (r + 1))
    return (r + 1 - root) / (2 * r), (r + 1 + root) / (2 * r)


@pytest.fixture(scope="module")
def cascade():
    opts = ContinuationOptions(ds_max=0.05, p_min=2.5, p_max=3.56)
    tree = bifurcation_diagram(logistic(r=2.5), [0.6], "r", options=opts, max_depth=2)
    return {int(node.attrs["period"]): node.to_dataset() for node in tree.children.values()}


# ---------------------------------------------------------------------------- branches
def test_period_doublings_are_marked_where_they_are(cascade):
    fig, ax = plt.subplots()
    drawn = draw_diagram(list(cascade.values()), ax=ax)
    marks = {}
    for m in drawn.markers:
        assert m.get_marker() == SPECIAL_STYLE["PD"]["marker"]
        marks.setdefault(round(float(m.get_xdata()[0]), 6), set()).add(
            round(float(m.get_ydata()[0]), 9)
        )
    assert sorted(marks) == [3.0, round(R_PD2, 6), round(R_PD4, 6)]
    # r = 3: the fixed point 2/3 (on the period-1 branch and at the start of the 2-cycle)
    assert marks[3.0] == {round(2 / 3, 9)}
    # r = 1 + sqrt(6): both points of the 2-cycle, on the 2-cycle and the start of the 4-cycle
    assert marks[round(R_PD2, 6)] == {round(x, 9) for x in two_cycle(R_PD2)}
    assert len(marks[round(R_PD4, 6)]) == 4  # every point of the 4-cycle
    # one label per special point, on the first point of its cycle
    texts = sorted(round(t.xy[0], 6) for t in drawn.texts)
    assert texts == [3.0, round(R_PD2, 6), round(R_PD4, 6)]
    assert all(t.get_text() == "PD" for t in drawn.texts)
    assert ax.get_title() == "logistic: fixed points and cycles of the map in r"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["index 0", "index 1", "stable", "unstable", "period doubling (PD)"]
    plt.close(fig)


def test_every_point_of_the_two_cycle_is_drawn_styled_by_stability(cascade):
    fig, ax = plt.subplots()
    drawn = draw_branch(cascade[2], ax=ax)
    solid = [line for line in drawn.lines if line.get_linestyle() == "-"]
    dashed = [line for line in drawn.lines if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 2  # one curve per point of the cycle
    for line in drawn.lines:
        r, x = line.get_data()
        np.testing.assert_allclose(r**2 * x**2 - r * (r + 1) * x + (r + 1), 0.0, atol=1e-9)
    for line in solid:
        assert line.get_xdata().max() <= R_PD2 + 1e-9
        assert to_hex(line.get_color()) == index_color(0)
    for line in dashed:
        assert line.get_xdata().min() >= R_PD2 - 1e-9
        assert to_hex(line.get_color()) == index_color(1)
    low, high = sorted(solid, key=lambda line: line.get_ydata().mean())
    r = low.get_xdata()
    np.testing.assert_allclose(low.get_ydata(), two_cycle(r)[0], atol=1e-9)
    np.testing.assert_allclose(high.get_ydata(), two_cycle(r)[1], atol=1e-9)
    plt.close(fig)


def test_fixed_point_branch_and_its_multiplier(cascade):
    one = cascade[1]
    fig, (a, b) = plt.subplots(1, 2)
    stable, unstable = draw_branch(one, ax=a).lines
    for line in (stable, unstable):
        r, x = line.get_data()
        np.testing.assert_allclose(x, 1 - 1 / r, atol=1e-12)
    assert stable.get_xdata().max() == pytest.approx(3.0, abs=1e-9)
    assert unstable.get_linestyle() == "--"
    drawn = draw_floquet_multipliers(one, ax=b)
    offsets = drawn.multipliers.get_offsets()
    np.testing.assert_allclose(offsets[:, 0], 2 - one["param"].values, atol=1e-9)
    assert drawn.colorbar.ax.get_ylabel() == "r"
    plt.close(fig)


def test_legend_lists_only_what_is_drawn():
    opts = ContinuationOptions(ds_max=0.05, p_min=2.5, p_max=2.9)
    branch = continue_branch(logistic(r=2.5), [0.6], "r", options=opts)
    fig, ax = plt.subplots()
    draw_branch(branch, ax=ax, legend=True)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["index 0", "stable"]
    plt.close(fig)


def test_henon_fixed_point_and_two_cycle():
    b = 0.3
    a0 = 0.1
    x0 = (-(1 - b) + np.sqrt((1 - b) ** 2 + 4 * a0)) / (2 * a0)
    opts = ContinuationOptions(ds_max=0.05, p_min=0.1, p_max=0.8)
    tree = bifurcation_diagram(henon(a=a0, b=b), [x0, b * x0], "a", options=opts, max_depth=1)
    fixed, two = (node.to_dataset() for node in tree.children.values())
    fig, (left, right) = plt.subplots(1, 2)
    drawn = draw_branch(fixed, measure="y", ax=left)
    for line in drawn.lines:
        a, y = line.get_data()
        x = (-(1 - b) + np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
        np.testing.assert_allclose(y, b * x, atol=1e-10)
    (pd,) = drawn.texts
    assert pd.get_text() == "PD" and pd.xy[0] == pytest.approx(3 * (1 - b) ** 2 / 4, abs=1e-9)
    first, second = draw_branch(two, measure="x", ax=right).lines[:2]
    a = first.get_xdata()
    np.testing.assert_allclose(first.get_ydata() + second.get_ydata(), (1 - b) / a, atol=1e-9)
    np.testing.assert_allclose(
        first.get_ydata() * second.get_ydata(), ((1 - b) ** 2 - a) / a**2, atol=1e-9
    )
    assert right.get_ylabel() == "x"
    plt.close(fig)


def test_neimark_sacker_of_the_delayed_logistic_map():
    """``(x, y) -> (r x (1 - y), x)``: the fixed point ``x = y = 1 - 1/r`` has multipliers with
    ``mu^2 - mu + (r - 1) = 0``, so ``|mu|^2 = r - 1``: a Neimark-Sacker point at ``r = 2``,
    where ``mu = exp(+-i pi / 3)``."""

    def g(s, p):
        x, y = s[..., 0], s[..., 1]
        return np.stack([p["r"] * x * (1 - y), x], axis=-1)

    delayed = Map(g, ["x", "y"], {"r": 1.5}, name="delayed_logistic")
    opts = ContinuationOptions(ds_max=0.05, p_min=1.5, p_max=2.5)
    branch = continue_branch(delayed, [1 / 3, 1 / 3], "r", options=opts)
    fig, (left, right) = plt.subplots(1, 2)
    drawn = draw_branch(branch, ax=left, legend=True)
    (ns,) = drawn.texts
    assert ns.get_text() == "NS" and ns.xy == pytest.approx((2.0, 0.5), abs=1e-9)
    assert drawn.markers[0].get_marker() == SPECIAL_STYLE["NS"]["marker"]
    stable, unstable = drawn.lines
    assert stable.get_xdata().max() == pytest.approx(2.0, abs=1e-9)
    assert unstable.get_linestyle() == "--" and to_hex(unstable.get_color()) == index_color(2)
    legend = [t.get_text() for t in left.get_legend().get_texts()]
    assert legend == ["index 0", "index 2", "stable", "unstable", "Neimark-Sacker (NS)"]
    k = int(np.argmin(np.abs(branch["param"].values - 2.0)))
    one = draw_floquet_multipliers(branch, step=k, ax=right)
    re, im = one.multipliers.get_data()
    r = float(branch["param"][k])
    np.testing.assert_allclose(np.hypot(re, im), np.sqrt(r - 1), atol=1e-9)
    np.testing.assert_allclose(re, 0.5, atol=1e-9)  # the roots' real part is 1/2 for any r
    plt.close(fig)


# ---------------------------------------------------------------------------- orbit diagrams
def test_orbit_diagram_at_3_2_is_the_two_cycle():
    fig, ax = plt.subplots()
    points = draw_orbit_diagram(logistic(), "r", [2.8, 3.2], [0.1, 0.3, 0.9], ax=ax)
    r, x = points.get_data()
    np.testing.assert_allclose(x[r == 2.8], 1 - 1 / 2.8, atol=1e-9)  # a fixed point, once
    assert np.count_nonzero(r == 2.8) == 3  # per start
    at = x[r == 3.2]
    assert len(at) == 6  # two points per start
    np.testing.assert_allclose(np.unique(at.round(8)), np.round(two_cycle(3.2), 8))
    assert ax.get_xlabel() == "r" and ax.get_ylabel() == "x"
    assert points.get_label() == "orbit diagram (last 100 iterates)"
    plt.close(fig)


def test_chaotic_band_keeps_the_last_iterates_in_the_invariant_interval():
    r = 3.9
    _, X = orbit_diagram_points(logistic(), "r", [r], [0.2, 0.7], n_transient=200, n_keep=150)
    assert X.shape == (300, 1)
    top = r / 4
    bottom = r * top * (1 - top)  # g(r / 4)
    assert X.max() <= top + 1e-12 and X.min() >= bottom - 1e-12
    assert len(np.unique(X.round(10))) > 250  # it does not settle


def test_continuation_lies_on_the_orbit_diagram(cascade):
    """The stable 2-cycle of the continuation is where iteration ends up, step by step."""
    two = cascade[2]
    modulus = np.hypot(two["multiplier_real"].values, two["multiplier_imag"].values)[:, 0]
    steps = np.flatnonzero(two["stable"].values & (modulus < 0.9))
    assert len(steps) >= 5
    r = two["param"].values[steps]
    fig, ax = plt.subplots()
    points = draw_orbit_diagram(logistic(), "r", r, [0.1, 0.5], ax=ax)
    drawn = draw_diagram(two, ax=ax)
    pr, px = points.get_data()
    for k, value in zip(steps, r, strict=True):
        cycle = np.sort(two["x_cycle"].values[k, :, 0])
        found = px[pr == value]
        assert len(found) == 4
        assert np.abs(found[:, None] - cycle[None, :]).min(axis=1).max() < 1e-8
    # the solid curves pass through the orbit diagram's points
    for line in drawn.lines:
        if line.get_linestyle() == "-":
            lr, lx = line.get_data()
            on = np.isin(lr, r)
            assert on.any()
            assert all(
                np.abs(px[pr == a] - b).min() < 1e-8 for a, b in zip(lr[on], lx[on], strict=True)
            )
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "orbit diagram (last 100 iterates)"
    plt.close(fig)


def test_gradient_descent_diagram_and_orbit_diagram_of_the_loss():
    gd = gradient_descent_map(double_well(), step=0.5)
    opts = ContinuationOptions(ds_max=0.05, p_min=0.5, p_max=1.15)
    tree = bifurcation_diagram(gd, [1.0, 0.0], "eta", options=opts, max_depth=1)
    fig, ax = plt.subplots()
    etas = np.array([0.8, 1.05, 1.1])
    points = draw_orbit_diagram(gd, "eta", etas, [1.2, 0.1], measure="loss", ax=ax)
    drawn = draw_diagram(tree, measure="loss", system=gd, ax=ax)
    # the minimum doubles at eta = 2 / lambda_max = 1, where its loss is 0
    pd = [m for m in drawn.markers if m.get_marker() == SPECIAL_STYLE["PD"]["marker"]]
    assert {(round(m.get_xdata()[0], 9), round(m.get_ydata()[0], 12)) for m in pd} == {(1.0, 0.0)}
    eta, loss = points.get_data()
    assert loss[eta == 0.8].tolist() == pytest.approx([0.0], abs=1e-18)  # the minimum
    # beyond, the loss alternates between the values of V at the 2-cycle the iteration finds
    _, X = orbit_diagram_points(gd, "eta", [1.05], [1.2, 0.1])
    np.testing.assert_allclose(np.sort(loss[eta == 1.05]), np.sort(gd.potential(X)))
    assert sorted(X[:, 0].round(4).tolist()) == [0.8729, 1.0911]
    assert ax.get_ylabel() == "loss"
    plt.close(fig)


def test_fixed_points_and_cycles_of_a_map_in_the_plane():
    gd = gradient_descent_map(double_well(), step=1.05)
    cycles = find_cycles(gd, [[0.9, 0.1], [1.1, 0.0], [1.01, 0.0]], period=2)
    fig, ax = plt.subplots()
    drawn = {line.get_label(): line for line in draw_fixed_points(cycles, ax=ax)}
    assert sorted(drawn) == ["flip saddle-1", "sink"]
    np.testing.assert_allclose(drawn["flip saddle-1"].get_xydata(), [[1.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(
        np.sort(drawn["sink"].get_xdata()), np.sort(cycles.x.values[1, :, 0])
    )
    assert drawn["flip saddle-1"].get_marker() == "X"  # styled as a saddle
    plt.close(fig)


# ---------------------------------------------------------------------------- errors
def test_bad_orbit_diagram_input_is_explained():
    fig, ax = plt.subplots()
    with pytest.raises(InputTypeError, match="gradient_descent_map"):
        draw_orbit_diagram(double_well(), "eta", [0.1], [0.0, 0.0], ax=ax)
    with pytest.raises(UnknownParameterError, match="'mu' is not a parameter"):
        draw_orbit_diagram(logistic(), "mu", [3.0], [0.2], ax=ax)
    with pytest.raises(InputError, match="non-empty"):
        draw_orbit_diagram(logistic(), "r", [], [0.2], ax=ax)
    with pytest.raises(InputError, match="`n_keep`"):
        draw_orbit_diagram(logistic(), "r", [3.0], [0.2], n_keep=0, ax=ax)
    with pytest.raises(InputError, match="not a state variable"):
        draw_orbit_diagram(logistic(), "r", [3.0], [0.2], measure="z", ax=ax)
    plt.close(fig)


def test_map_branches_name_the_right_function(cascade):
    fig, ax = plt.subplots()
    cycles = find_cycles(logistic(3.2), [0.3, 0.6], period=2)
    with pytest.raises(InputError, match=r"draw those with phase\.draw_fixed_points"):
        draw_branch(cycles, ax=ax)
    with pytest.raises(InputError, match="no period"):
        draw_branch(cascade[2], measure="period", ax=ax)
    plt.close(fig)
