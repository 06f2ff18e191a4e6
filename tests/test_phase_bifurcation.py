"""Bifurcation diagrams: what is drawn where (branch data against the measure, line styles by
stability, colours by index, special points at their located values, labels), on the pitchfork
and Lorenz, where every number is known in closed form."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_hex

from dynsys import Status
from dynsys.continuation import (
    ContinuationOptions,
    bifurcation_diagram,
    continue_branch,
    continue_fold,
)
from dynsys.errors import InputError, InputTypeError
from dynsys.models import lorenz, pitchfork_normal_form
from dynsys.system import GradientSystem, System
from phase.bifurcation import (
    DiagramArtists,
    draw_branch,
    draw_diagram,
    draw_fold_curve,
    index_color,
    measure_values,
)

PITCHFORK = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
SIGMA, BETA = 10.0, 8.0 / 3.0
R_HOPF = SIGMA * (SIGMA + BETA + 3) / (SIGMA - BETA - 1)


def pitchfork_potential() -> GradientSystem:
    """``V = x^4/4 - mu x^2/2``: the gradient form of ``x' = mu x - x^3``."""
    return GradientSystem(
        lambda x, p: x[..., 0] ** 4 / 4 - p["mu"] * x[..., 0] ** 2 / 2,
        ["x"],
        {"mu": -1.0},
        grad=lambda x, p: x**3 - p["mu"] * x,
        hess=lambda x, p: (3 * x**2 - p["mu"])[..., None],
        name="pitchfork_potential",
    )


@pytest.fixture(scope="module")
def trivial():
    return continue_branch(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=PITCHFORK)


@pytest.fixture(scope="module")
def lorenz_tree():
    opts = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
    return bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=opts, max_depth=1)


# ---------------------------------------------------------------------------- measures
def test_measures_of_the_lorenz_branches(lorenz_tree):
    branch = lorenz_tree["branch1"].to_dataset()
    x, at_special, label = measure_values(branch, "x")
    np.testing.assert_array_equal(x, branch["x"].values[:, 0])
    assert label == "x"
    # at the Hopf points x = +-sqrt(beta (r - 1))
    hopf = branch["special_type"].values == "H"
    np.testing.assert_allclose(np.abs(at_special[hopf]), np.sqrt(BETA * (R_HOPF - 1)), rtol=1e-9)
    z, _, _ = measure_values(branch, 2)
    np.testing.assert_array_equal(z, branch["x"].values[:, 2])
    norm, _, label = measure_values(branch, "norm")
    np.testing.assert_allclose(norm, np.linalg.norm(branch["x"].values, axis=1))
    assert label == "|x|"
    # a callable: vectorised over steps, or applied state by state
    vec, _, name = measure_values(branch, lambda X: X[:, 0] * X[:, 1])
    one, _, _ = measure_values(branch, lambda s: s[0] * s[1] if s.ndim == 1 else np.nan)
    np.testing.assert_allclose(vec, branch["x"].values[:, 0] * branch["x"].values[:, 1])
    np.testing.assert_allclose(one, vec)
    assert name == "<lambda>"


def test_loss_measure_uses_the_parameter_of_each_step():
    system = pitchfork_potential()
    tree = bifurcation_diagram(system, [0.0], "mu", options=PITCHFORK)
    branch = tree["branch1"].to_dataset()  # x^2 = mu, where V = -mu^2 / 4
    loss, at_special, label = measure_values(branch, "loss", system=system)
    mu = branch["param"].values
    np.testing.assert_allclose(loss, -(mu**2) / 4, atol=1e-12)
    np.testing.assert_allclose(at_special, 0.0, atol=1e-12)  # the branch point at mu = 0
    assert label == "loss"


def test_bad_measures_are_explained(trivial):
    with pytest.raises(InputError, match="'speed' is not a state variable"):
        measure_values(trivial, "speed")
    with pytest.raises(InputError, match="needs `system=`"):
        measure_values(trivial, "loss")
    with pytest.raises(InputError, match="needs `system=`"):
        measure_values(trivial, "loss", system=pitchfork_normal_form())  # no potential
    with pytest.raises(InputError, match="not a state index"):
        measure_values(trivial, 3)
    with pytest.raises(InputTypeError, match="`measure` must be"):
        measure_values(trivial, 1.5)


# ---------------------------------------------------------------------------- one branch
def test_pitchfork_trivial_branch_styles(trivial):
    fig, ax = plt.subplots()
    drawn = draw_branch(trivial, ax=ax)
    assert isinstance(drawn, DiagramArtists)
    stable, unstable = drawn.lines
    # x' = mu x - x^3 on x = 0: a stable sink for mu < 0 (index 0), unstable for mu > 0
    assert stable.get_linestyle() == "-" and unstable.get_linestyle() == "--"
    assert to_hex(stable.get_color()) == index_color(0)
    assert to_hex(unstable.get_color()) == index_color(1)
    assert stable.get_xdata().max() <= 1e-12 and unstable.get_xdata().min() >= -1e-12
    np.testing.assert_array_equal(stable.get_ydata(), 0.0)
    # the parts meet at the branch point (inserted between two steps) and cover every step
    bp = float(trivial["special_param"][0])
    assert stable.get_xdata()[-1] == unstable.get_xdata()[0] == bp
    steps = len(stable.get_xdata()) + len(unstable.get_xdata())
    assert steps == trivial.sizes["step"] + 2
    (marker,) = drawn.markers
    assert abs(marker.get_xdata()[0]) < 1e-10 and marker.get_ydata()[0] == 0.0
    assert [t.get_text() for t in drawn.texts] == ["BP"]
    assert ax.get_xlabel() == "mu" and ax.get_ylabel() == "x"
    plt.close(fig)


def test_guess_status_is_an_open_marker_with_a_question_mark(trivial):
    guessed = trivial.copy()
    guessed["special_status"] = ("special", np.array([Status.MAX_ITER], dtype=np.int8))
    fig, ax = plt.subplots()
    drawn = draw_branch(guessed, ax=ax, legend=True)
    assert drawn.texts[0].get_text() == "BP?"
    assert drawn.markers[0].get_markerfacecolor() == "white"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["index 0", "index 1", "stable", "unstable", "branch point (BP)"]
    plt.close(fig)


def test_status_names_of_files_written_before_the_status_table_still_draw(trivial):
    for status, text in (("guess", "BP?"), ("converged", "BP")):
        old = trivial.copy()
        old["special_status"] = ("special", np.array([status], dtype="<U9"))
        fig, ax = plt.subplots()
        assert [t.get_text() for t in draw_branch(old, ax=ax).texts] == [text]
        plt.close(fig)


def test_draws_on_the_current_axes_without_labels(trivial):
    fig, ax = plt.subplots()
    drawn = draw_branch(trivial, label_specials=False)
    assert drawn.texts == [] and len(drawn.markers) == 1
    assert all(line.axes is ax for line in drawn.lines)
    plt.close(fig)


# ---------------------------------------------------------------------------- diagrams
def test_lorenz_diagram(lorenz_tree):
    fig, ax = plt.subplots()
    drawn = draw_diagram(lorenz_tree, measure="x", ax=ax)
    texts = sorted(t.get_text() for t in drawn.texts)
    # the branch point appears on both branches but is labelled once; a Hopf point on C+ and C-
    assert texts == ["BP", "H", "H"]
    hopf = [t.xy for t in drawn.texts if t.get_text() == "H"]
    for r, x in hopf:
        assert abs(r - R_HOPF) < 1e-8
        assert abs(abs(x) - np.sqrt(BETA * (R_HOPF - 1))) < 1e-8
    (bp,) = [t.xy for t in drawn.texts if t.get_text() == "BP"]
    assert abs(bp[0] - 1.0) < 1e-10 and bp[1] == 0.0
    # C+- are stable (index 0, solid) below the Hopf value and index 2 (dashed) above it
    styles = {(to_hex(line.get_color()), line.get_linestyle()) for line in drawn.lines}
    assert (index_color(0), "-") in styles and (index_color(2), "--") in styles
    for line in drawn.lines:
        if to_hex(line.get_color()) == index_color(2):
            assert line.get_xdata().min() >= R_HOPF - 1e-6
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "index 0",
        "index 1",
        "index 2",
        "stable",
        "unstable",
        "branch point (BP)",
        "Hopf (H)",
    ]
    assert ax.get_title() == "lorenz: equilibria in r"
    plt.close(fig)


def test_diagram_accepts_lists_and_mappings(lorenz_tree):
    branches = [node.to_dataset() for node in lorenz_tree.children.values()]
    fig, (a, b) = plt.subplots(1, 2)
    from_list = draw_diagram(branches, ax=a, title="")
    from_dict = draw_diagram(dict(enumerate(branches)), ax=b, legend=False)
    assert len(from_list.lines) == len(from_dict.lines) > 2
    assert a.get_title() == "" and b.get_legend() is None
    with pytest.raises(InputTypeError, match="`diagram` must be"):
        draw_diagram(3.0)
    plt.close(fig)


def test_fold_curve_of_the_cusp():
    """``x' = b1 + b2 x - x^3``: folds on ``27 b1^2 = 4 b2^3``, a cusp at the origin."""
    cusp = System(lambda x, p: p["b1"] + p["b2"] * x - x**3, ["x"], {"b1": 0.0, "b2": 1.0})
    x_fold = 1 / np.sqrt(3)
    curve = continue_fold(
        cusp,
        [x_fold],
        "b1",
        "b2",
        params={"b1": -2 * x_fold**3},
        options=ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0),
    )
    fig, ax = plt.subplots()
    drawn = draw_fold_curve(curve, ax=ax, label="fold")
    for line in drawn.lines:
        b1, b2 = line.get_xdata(), line.get_ydata()
        np.testing.assert_allclose(27 * b1**2, 4 * b2**3, atol=1e-9)
    # the two sides of the cusp are the two signs of the fold coefficient
    assert {line.get_linestyle() for line in drawn.lines} == {"-", "--"}
    assert [t.get_text() for t in drawn.texts] == ["CP"]
    cp = drawn.markers[0]
    assert abs(cp.get_xdata()[0]) < 1e-10 and abs(cp.get_ydata()[0]) < 1e-10
    assert ax.get_xlabel() == "b1" and ax.get_ylabel() == "b2"
    plt.close(fig)


def test_exported_from_phase():
    import phase

    assert phase.draw_diagram is draw_diagram and phase.measure_values is measure_values
    assert isinstance(xr.Dataset(), xr.Dataset)
