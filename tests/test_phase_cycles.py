"""Pictures of periodic orbits, checked against what is drawn (the lines' data, styles, labels)
and the closed forms of two normal forms.

Stuart-Landau ``r' = mu r - r^3``, ``theta' = omega``: for ``mu > 0`` the circle ``r = sqrt(mu)``
is a stable cycle of period ``2 pi / omega``, amplitude ``2 sqrt(mu)`` and nontrivial Floquet
multiplier ``exp(-4 pi mu / omega)``, born at the Hopf point ``mu = 0``.

Bistable Hopf ``r' = mu r + r^3 - r^5``, ``theta' = 1``: cycles ``mu = r^4 - r^2``, stable where
``r^2 > 1/2`` (amplitude ``2 r > sqrt(2)``) and unstable inside; the two meet in a fold of cycles
at ``mu = -1/4``, ``r^2 = 1/2``, and the inner one shrinks onto the origin at the Hopf point
``mu = 0``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_hex

from dynsys.continuation import ContinuationOptions, continue_branch, continue_cycle
from dynsys.cycles import CycleOptions, find_periodic_orbit
from dynsys.errors import InputError, InputTypeError
from dynsys.models import bistable_hopf, stuart_landau
from phase import (
    Region,
    draw_branch,
    draw_cycle_branch,
    draw_cycle_family,
    draw_diagram,
    draw_floquet_multipliers,
    draw_periodic_orbit,
    portrait,
)
from phase.bifurcation import SPECIAL_STYLE, cycle_color, index_color, measure_values

SL_OPTIONS = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=1.0)
BISTABLE = ContinuationOptions(ds_max=0.05, p_min=-0.5, p_max=0.3)
FOLD_AMPLITUDE = np.sqrt(2.0)  # 2 r at r^2 = 1/2


@pytest.fixture(scope="module")
def sl_branch():
    """Stuart-Landau (omega = 1): the cycles from the Hopf point to mu = 1."""
    eq = continue_branch(stuart_landau(mu=-0.5), [0.0, 0.0], "mu", options=SL_OPTIONS)
    return continue_cycle(
        stuart_landau(), eq, "mu", options=SL_OPTIONS, cycle_options=CycleOptions(ntst=20)
    )


@pytest.fixture(scope="module")
def bistable():
    """Bistable Hopf: the equilibrium branch (Hopf at 0) and the branch of cycles through the
    fold, from the stable cycle at mu = -0.1 to the Hopf end and to mu = 0.3."""
    r = np.sqrt((1 + np.sqrt(1 - 0.4)) / 2)
    cycle = find_periodic_orbit(bistable_hopf(mu=-0.1), [r, 0.0], 6.3)
    cycles = continue_cycle(
        bistable_hopf(), cycle, "mu", options=BISTABLE, cycle_options=CycleOptions(ntst=20)
    )
    eq = continue_branch(bistable_hopf(mu=-0.5), [0.0, 0.0], "mu", options=BISTABLE)
    return eq, cycles


def multipliers(ds: xr.Dataset) -> np.ndarray:
    return ds["multiplier_real"].values + 1j * ds["multiplier_imag"].values


# ---------------------------------------------------------------------------- one cycle
def test_stuart_landau_cycle_is_the_circle_of_radius_sqrt_mu():
    mu, omega = 0.5, 2.0
    cycle = find_periodic_orbit(stuart_landau(mu=mu, omega=omega), [0.7, 0.0], 3.0)
    fig, ax = plt.subplots()
    drawn = draw_periodic_orbit(cycle, ax=ax)
    x, y = drawn.line.get_data()
    np.testing.assert_allclose(np.hypot(x, y), np.sqrt(mu), atol=1e-8)
    assert (x[0], y[0]) == (x[-1], y[-1]) and len(x) == cycle.sizes["time"] + 1  # closed
    # it goes once around: the polar angle turns by 2 pi
    turn = np.sum(np.angle(np.exp(1j * np.diff(np.unwrap(np.arctan2(y, x))))))
    assert turn == pytest.approx(2 * np.pi, abs=1e-9)
    assert drawn.line.get_linestyle() == "-"  # stable: multiplier exp(-4 pi mu / omega) < 1
    assert to_hex(drawn.line.get_color()) == cycle_color(0)
    assert drawn.start.get_xydata().tolist() == [[x[0], y[0]]]
    # the arrow points along the motion: theta' = omega > 0, counter-clockwise
    tail, head = np.array(drawn.arrow.xyann), np.array(drawn.arrow.xy)
    step = head - tail
    assert tail[0] * step[1] - tail[1] * step[0] > 0
    assert drawn.line.get_label() == f"stable cycle, T = {2 * np.pi / omega:.4g}"
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    plt.close(fig)


def test_unstable_cycle_is_dashed_and_plane_swaps_the_axes():
    """The inner cycle of the bistable Hopf form, r_u^2 = (1 - sqrt(1 + 4 mu)) / 2."""
    mu = -0.1
    r_u = np.sqrt((1 - np.sqrt(1 + 4 * mu)) / 2)
    cycle = find_periodic_orbit(bistable_hopf(mu=mu), [r_u, 0.0], 6.3)
    assert not bool(cycle["stable"])
    fig, ax = plt.subplots()
    drawn = draw_periodic_orbit(cycle, plane=("y", "x"), ax=ax, mark_start=False, arrow=False)
    y, x = drawn.line.get_data()
    np.testing.assert_allclose(y, np.append(cycle.x.values[:, 1], cycle.x.values[0, 1]))
    np.testing.assert_allclose(np.hypot(x, y), r_u, atol=1e-8)
    assert drawn.line.get_linestyle() == "--"
    assert to_hex(drawn.line.get_color()) == cycle_color(1)  # one multiplier outside
    assert drawn.start is None and drawn.arrow is None
    assert ax.get_xlabel() == "y"
    plt.close(fig)


def test_one_step_of_a_branch(sl_branch):
    k = 7
    mu = float(sl_branch["param"][k])
    fig, ax = plt.subplots()
    drawn = draw_periodic_orbit(sl_branch, step=k, ax=ax)
    x, y = drawn.line.get_data()
    np.testing.assert_allclose(np.hypot(x, y), np.sqrt(mu), atol=1e-8)
    assert f"mu = {mu:.4g}" in drawn.line.get_label()
    with pytest.raises(InputError, match="draw_cycle_family"):
        draw_periodic_orbit(sl_branch, ax=ax)
    with pytest.raises(InputError, match="not a step"):
        draw_periodic_orbit(sl_branch, step=10_000, ax=ax)
    plt.close(fig)


# ---------------------------------------------------------------------------- branches
def test_stuart_landau_branch_against_amplitude_period_and_state(sl_branch):
    fig, (a, b, c) = plt.subplots(1, 3)
    (line,) = draw_cycle_branch(sl_branch, ax=a).lines
    mu, amplitude = line.get_data()
    assert mu.min() > 0 and mu.max() == pytest.approx(1.0)
    np.testing.assert_allclose(amplitude, 2 * np.sqrt(mu), atol=1e-8)
    assert line.get_linestyle() == "-" and to_hex(line.get_color()) == cycle_color(0)
    assert a.get_xlabel() == "mu" and a.get_ylabel() == "amplitude (max - min of x)"
    (line,) = draw_cycle_branch(sl_branch, measure="period", ax=b).lines
    np.testing.assert_allclose(line.get_ydata(), 2 * np.pi, rtol=1e-9)
    high, low = draw_cycle_branch(sl_branch, measure="y", ax=c).lines
    np.testing.assert_allclose(high.get_ydata(), np.sqrt(high.get_xdata()), atol=1e-8)
    np.testing.assert_allclose(low.get_ydata(), -np.sqrt(low.get_xdata()), atol=1e-8)
    plt.close(fig)


def test_norm_envelope_of_a_circle_is_its_radius(sl_branch):
    """|x| is constant on a circle: its largest and smallest value over the cycle agree."""
    fig, ax = plt.subplots()
    high, low = draw_cycle_branch(sl_branch, measure="norm", ax=ax).lines
    np.testing.assert_allclose(high.get_ydata(), np.sqrt(high.get_xdata()), atol=1e-8)
    np.testing.assert_allclose(low.get_ydata(), np.sqrt(low.get_xdata()), atol=1e-8)
    plt.close(fig)


def test_bistable_branch_styles_follow_the_multipliers(bistable):
    _, cycles = bistable
    fig, ax = plt.subplots()
    drawn = draw_cycle_branch(cycles, ax=ax, legend=True)
    # every vertex lies on mu = r^4 - r^2 with r = amplitude / 2
    for line in drawn.lines:
        mu, amplitude = line.get_data()
        r = amplitude / 2
        np.testing.assert_allclose(mu, r**4 - r**2, atol=1e-8)
        # stable exactly outside the fold (r^2 > 1/2), where mu + 3 r^2 - 5 r^4 < 0
        if line.get_linestyle() == "-":
            assert amplitude.min() >= FOLD_AMPLITUDE - 1e-8
            assert to_hex(line.get_color()) == cycle_color(0)
        else:
            assert amplitude.max() <= FOLD_AMPLITUDE + 1e-8
            assert to_hex(line.get_color()) == cycle_color(1)
    assert {line.get_linestyle() for line in drawn.lines} == {"-", "--"}
    # the steps' own stability flags agree with the closed form
    a = cycles["amplitude"].values
    modulus = np.abs(multipliers(cycles))[:, 0]
    inside = (a > 1e-3) & (np.abs(a - FOLD_AMPLITUDE) > 1e-3)
    np.testing.assert_array_equal(modulus[inside] < 1, a[inside] > FOLD_AMPLITUDE)
    # markers at the fold (-1/4, sqrt 2) and at the Hopf end (0, 0)
    texts = {t.get_text(): t.xy for t in drawn.texts}
    assert sorted(texts) == ["H", "LPC"]
    assert texts["LPC"][0] == pytest.approx(-0.25, abs=1e-8)
    assert texts["LPC"][1] == pytest.approx(FOLD_AMPLITUDE, abs=1e-6)
    assert texts["H"][0] == pytest.approx(0.0, abs=1e-8) and abs(texts["H"][1]) < 1e-6
    for marker in drawn.markers:
        kind = "LPC" if marker.get_xdata()[0] < -0.1 else "H"
        assert marker.get_marker() == SPECIAL_STYLE[kind]["marker"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "cycles, index 0",
        "cycles, index 1",
        "stable",
        "unstable",
        "Hopf (H)",
        "fold of cycles (LPC)",
    ]
    plt.close(fig)


def test_diagram_mixes_equilibria_and_their_cycles(bistable):
    eq, cycles = bistable
    fig, (a, b) = plt.subplots(1, 2)
    drawn = draw_diagram([eq, cycles], measure="x", ax=a)
    points = [line for line in drawn.lines if to_hex(line.get_color()) in map(index_color, (0, 2))]
    for line in points:  # the origin
        np.testing.assert_array_equal(line.get_ydata(), 0.0)
    rest = [line for line in drawn.lines if line not in points]
    for line in rest:  # max and min of x over a circle of radius r: +-r, mu = r^4 - r^2
        mu, x = line.get_data()
        np.testing.assert_allclose(mu, x**4 - x**2, atol=1e-8)
    assert sum(line.get_ydata().min() < -0.1 for line in rest) >= 2  # the lower envelope
    # the Hopf point of the equilibria is the Hopf end of the cycles: labelled once
    assert sorted(t.get_text() for t in drawn.texts) == ["H", "LPC"]
    # the fold cycle is the circle r = 1/sqrt(2): x between -r and r (markers on both, the
    # label on the maximum)
    (fold,) = [t.xy for t in drawn.texts if t.get_text() == "LPC"]
    assert fold == pytest.approx((-0.25, np.sqrt(0.5)), abs=1e-6)
    fold_y = sorted(m.get_ydata()[0] for m in drawn.markers if m.get_xdata()[0] < -0.2)
    assert fold_y == pytest.approx([-np.sqrt(0.5), np.sqrt(0.5)], abs=1e-6)
    assert a.get_title() == "bistable_hopf: equilibria and cycles in mu"
    assert a.get_ylabel() == "x (cycles: max and min)"
    legend = [t.get_text() for t in a.get_legend().get_texts()]
    assert legend[:4] == ["index 0", "index 2", "cycles, index 0", "cycles, index 1"]
    # against the amplitude the equilibria lie at 0
    drawn = draw_diagram([eq, cycles], measure="amplitude", ax=b)
    eq_lines = [
        line for line in drawn.lines if to_hex(line.get_color()) in map(index_color, (0, 2))
    ]
    assert all(np.all(line.get_ydata() == 0.0) for line in eq_lines) and eq_lines
    with pytest.raises(InputError, match="no period"):
        draw_diagram([eq, cycles], measure="period", ax=b)
    plt.close(fig)


def test_envelope_of_a_function_peaks_between_samples(bistable):
    """``u = x cos(pi/6) + y sin(pi/6)`` ranges over [-r, r] on the circle of radius r; its
    maximum lies between the profile's samples, so the sampled maximum alone falls short."""
    _, cycles = bistable

    def u(X):
        return X[:, 0] * np.cos(np.pi / 6) + X[:, 1] * np.sin(np.pi / 6)

    fig, ax = plt.subplots()
    drawn = draw_cycle_branch(cycles, measure=u, ax=ax)
    for line in drawn.lines:
        mu, value = line.get_data()
        np.testing.assert_allclose(mu, value**4 - value**2, atol=1e-5)
    fold = sorted(m.get_ydata()[0] for m in drawn.markers if m.get_xdata()[0] < -0.2)
    assert fold == pytest.approx([-np.sqrt(0.5), np.sqrt(0.5)], abs=1e-5)
    assert ax.get_ylabel() == "u"
    plt.close(fig)


def test_draw_branch_draws_a_cycle_branch_as_its_envelope(sl_branch):
    with pytest.raises(InputError, match="draw_cycle_branch"):
        measure_values(sl_branch, "x")
    fig, ax = plt.subplots()
    high, low = draw_branch(sl_branch, ax=ax).lines
    np.testing.assert_allclose(high.get_ydata(), np.sqrt(high.get_xdata()), atol=1e-8)
    np.testing.assert_allclose(low.get_ydata(), -np.sqrt(low.get_xdata()), atol=1e-8)
    plt.close(fig)


# ---------------------------------------------------------------------------- family
def test_cycle_family_colours_by_parameter(bistable):
    _, cycles = bistable
    fig, ax = plt.subplots()
    drawn = draw_cycle_family(cycles, every=3, ax=ax)
    m = cycles.sizes["step"]
    steps = sorted(set(range(0, m, 3)) | {m - 1})
    np.testing.assert_array_equal(drawn.lines.get_array(), cycles["param"].values[steps])
    paths = drawn.lines.get_paths()
    assert len(paths) == len(steps)
    styles = drawn.lines.get_linestyles()
    for k, path, style in zip(steps, paths, styles, strict=True):
        xy = path.vertices
        radius = cycles["amplitude"].values[k] / 2
        np.testing.assert_allclose(np.hypot(xy[:, 0], xy[:, 1]), radius, atol=1e-6)
        if radius > 0.05 and abs(2 * radius - FOLD_AMPLITUDE) > 1e-3:
            assert (style[1] is None) == (2 * radius > FOLD_AMPLITUDE)  # solid when stable
    assert drawn.colorbar.ax.get_ylabel() == "mu"
    # the fold cycle, r = 1/sqrt(2), and the Hopf end at the origin
    (fold,) = [a for a in drawn.specials if len(a.get_xdata()) > 1]
    np.testing.assert_allclose(np.hypot(*fold.get_data()), np.sqrt(0.5), atol=1e-6)
    (hopf,) = [a for a in drawn.specials if len(a.get_xdata()) == 1]
    assert np.hypot(hopf.get_xdata()[0], hopf.get_ydata()[0]) < 1e-6
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["stable cycles", "unstable cycles", "Hopf (H)", "fold of cycles (LPC)"]
    with pytest.raises(InputError, match="`every`"):
        draw_cycle_family(cycles, every=0, ax=ax)
    plt.close(fig)


def test_family_legend_lists_only_stable_cycles_when_all_are(sl_branch):
    fig, ax = plt.subplots()
    draw_cycle_family(sl_branch, ax=ax, colorbar=False)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["stable cycles"]
    plt.close(fig)


# ---------------------------------------------------------------------------- multipliers
def test_floquet_multiplier_of_stuart_landau():
    mu, omega = 0.5, 2.0
    cycle = find_periodic_orbit(stuart_landau(mu=mu, omega=omega), [0.7, 0.0], 3.0)
    fig, ax = plt.subplots()
    drawn = draw_floquet_multipliers(cycle, ax=ax)
    re, im = drawn.multipliers.get_data()
    assert re.tolist() == pytest.approx([np.exp(-4 * np.pi * mu / omega)], rel=1e-8)
    assert im.tolist() == [0.0]
    assert drawn.trivial.get_xdata()[0] == pytest.approx(1.0, abs=1e-8)
    cx, cy = drawn.circle.get_data()
    np.testing.assert_allclose(np.hypot(cx, cy), 1.0)
    assert cx[0] == pytest.approx(cx[-1]) and cy[0] == pytest.approx(cy[-1])
    assert drawn.colorbar is None
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["unit circle", "nontrivial multipliers", "trivial multiplier"]
    plt.close(fig)


def test_floquet_multipliers_along_a_branch(sl_branch):
    fig, (a, b) = plt.subplots(1, 2)
    drawn = draw_floquet_multipliers(sl_branch, ax=a)
    mu = sl_branch["param"].values
    offsets = drawn.multipliers.get_offsets()
    np.testing.assert_allclose(offsets[:, 0], np.exp(-4 * np.pi * mu), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(offsets[:, 1], 0.0, atol=1e-12)
    np.testing.assert_array_equal(drawn.multipliers.get_array(), mu)
    assert drawn.colorbar.ax.get_ylabel() == "mu" and drawn.trivial is None
    one = draw_floquet_multipliers(sl_branch, step=4, ax=b, unit_circle=False)
    assert one.multipliers.get_xdata()[0] == pytest.approx(np.exp(-4 * np.pi * mu[4]), rel=1e-6)
    assert one.circle is None and b.get_title() == f"mu = {mu[4]:.6g}"
    with pytest.raises(InputError, match="not a step"):
        draw_floquet_multipliers(sl_branch, step=999, ax=b)
    plt.close(fig)


# ---------------------------------------------------------------------------- errors, axes
def test_wrong_kinds_name_the_right_function(sl_branch, bistable):
    eq, _ = bistable
    points = xr.Dataset(
        {"x": (("point", "state"), [[0.0, 0.0]]), "kind": ("point", ["sink"])},
        coords={"state": ["x", "y"]},
    )
    fig, ax = plt.subplots()
    with pytest.raises(InputError, match=r"draw those with phase\.draw_fixed_points"):
        draw_cycle_branch(points, ax=ax)
    with pytest.raises(InputError, match=r"branch of equilibria .* phase\.draw_branch"):
        draw_cycle_branch(eq, ax=ax)
    with pytest.raises(InputError, match=r"given a branch of equilibria .* phase\.draw_branch"):
        draw_periodic_orbit(eq, ax=ax)
    with pytest.raises(InputError, match="draw_fixed_points"):
        draw_floquet_multipliers(points, ax=ax)
    with pytest.raises(InputError, match="draw_fixed_points"):
        draw_diagram([eq, points], ax=ax)
    with pytest.raises(InputTypeError, match="got a float"):
        draw_cycle_branch(3.0, ax=ax)
    with pytest.raises(InputTypeError, match="DataTree"):
        draw_cycle_family(xr.DataTree(), ax=ax)
    plt.close(fig)


def test_a_failed_cycle_is_refused():
    cycle = find_periodic_orbit(stuart_landau(mu=0.5), [0.7, 0.0], 6.3)
    failed = cycle.copy()
    failed["x"] = failed["x"] * np.nan
    failed["period"] = np.nan
    with pytest.raises(InputError, match="holds no cycle"):
        draw_periodic_orbit(failed)


def test_draws_on_the_current_axes(sl_branch):
    fig, ax = plt.subplots()
    drawn = draw_cycle_branch(sl_branch)
    assert all(line.axes is ax for line in drawn.lines)
    assert draw_periodic_orbit(sl_branch, step=3).line.axes is ax
    plt.close(fig)


def test_portrait_with_a_cycle():
    system = stuart_landau(mu=0.25)
    cycle = find_periodic_orbit(system, [0.5, 0.0], 6.0)
    fig, ax = plt.subplots()
    portrait(system, Region((-1, -1), (1, 1)), cycles=[cycle], ax=ax)
    (label,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label == f"stable cycle, T = {2 * np.pi:.4g}"
    (line,) = [line for line in ax.get_lines() if line.get_label() == label]
    np.testing.assert_allclose(np.hypot(*line.get_data()), 0.5, atol=1e-8)
    plt.close(fig)
