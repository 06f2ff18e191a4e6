"""Visual regression of every public drawing function of ``phase``: each case draws small,
deterministic data into a fixed-size figure and compares the PNG with a stored reference in
``tests/baseline_images/`` (:func:`matplotlib.testing.compare.compare_images`, RMS tolerance
``TOL`` on the 0-255 scale).

The house style, a font that ships with matplotlib (DejaVu Sans), no hinting and the Agg backend
fix the rendering; seeds fix the data. ``test_every_drawing_function_has_a_visual_case`` fails
when a drawing function of ``phase`` (a name ``draw_*`` or ``portrait`` in ``phase.__all__`` or
in the ``__all__`` of a ``phase`` module) has no case here.

Every figure of the examples is compared too: tests/test_examples.py runs each example in quick
mode and compares each PNG it writes, shrunk to a thumbnail at most ``THUMB`` pixels wide, with
``tests/baseline_images/examples/<script>__<file>.png`` (:func:`compare_example_figure`, tolerance
``EXAMPLE_TOL``); ``test_every_example_figure_has_a_reference`` fails for an example without one.

Regenerating the references (after an intended change of a picture)::

    make baseline-images    # or: DYNSYS_REGEN_BASELINES=1 pytest tests/test_visual.py
                            #                                     tests/test_examples.py

writes every reference anew (the test then passes). Regenerating must be followed by LOOKING AT
the new images in tests/baseline_images/ (and at ``git diff --stat`` of them): a reference is
only as good as the picture someone checked. A failing comparison leaves the picture drawn and
the difference image in the pytest temporary folder (the failure message gives the paths).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import networkx as nx
import numpy as np
import pytest
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.testing import set_font_settings_for_testing, set_reproducibility_for_testing
from matplotlib.testing.compare import compare_images
from matplotlib.testing.exceptions import ImageComparisonFailure

import phase
from phase import Region
from phase._style import RC

BASELINE = Path(__file__).resolve().parent / "baseline_images"
EXAMPLE_BASELINE = BASELINE / "examples"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REGEN = os.environ.get("DYNSYS_REGEN_BASELINES", "") not in ("", "0")
TOL = 3.0  # RMS of the pixel difference, 0-255 scale
DPI = 60
SIZE = (4.0, 3.0)
THUMB = 480  # width in pixels of the thumbnails of example figures
EXAMPLE_TOL = 4.0

CASES: dict[str, tuple[frozenset[str], Callable]] = {}


def case(*covers: str):
    """Register a drawing case: it draws on an Axes and covers the named functions."""

    def register(draw: Callable) -> Callable:
        CASES[draw.__name__.removeprefix("draw_case_")] = (frozenset(covers), draw)
        return draw

    return register


# ------------------------------------------------------------------------------------ data
def _double_well_graph():
    from dynsys.graph import critical_point_graph
    from dynsys.models import double_well

    return critical_point_graph(double_well(), [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])


def _three_minima_graph():
    """Hand-built: minima 0, 1, 2 (energies 0, 0.5, 1), saddles 3 (joins 0, 1 at 2.0) and
    4 (joins 1, 2 at 3.0), a saddle 5 joining 0 to itself at 3.5."""
    G = nx.DiGraph([(3, 0), (3, 1), (4, 1), (4, 2), (5, 0)])
    energy = {0: 0.0, 1: 0.5, 2: 1.0, 3: 2.0, 4: 3.0, 5: 3.5}
    index = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
    kind = {k: "minimum" if index[k] == 0 else "saddle-1" for k in G}
    nx.set_node_attributes(G, energy, "energy")
    nx.set_node_attributes(G, index, "index")
    nx.set_node_attributes(G, kind, "kind")
    return G


def _stuart_landau_cycles():
    from dynsys.continuation import ContinuationOptions, continue_branch, continue_cycle
    from dynsys.models import stuart_landau

    opts = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=1.0)
    eq = continue_branch(stuart_landau(mu=-0.5), [0.0, 0.0], "mu", options=opts)
    return continue_cycle(stuart_landau(), eq, "mu", options=opts)


def _bt_system_branch():
    from dynsys.continuation import ContinuationOptions, continue_branch
    from dynsys.models import bogdanov_takens_normal_form

    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    system = bogdanov_takens_normal_form(b1=-0.5, b2=-0.5)
    return system, continue_branch(system, [-0.5, 0.0], "b1", options=opts), opts


# ------------------------------------------------------------------------------- portraits
@case("draw_vector_field")
def draw_case_vector_field(ax):
    from dynsys.models import duffing

    phase.draw_vector_field(duffing(), Region((-2, -1.5), (2, 1.5)), ax=ax, resolution=30)


@case("draw_energy")
def draw_case_energy(ax):
    from dynsys.models import mueller_brown

    phase.draw_energy(mueller_brown(), Region((-1.5, -0.5), (1.2, 2.0)), ax=ax, resolution=60)


@case("draw_nullclines")
def draw_case_nullclines(ax):
    from dynsys.models import duffing

    phase.draw_nullclines(duffing(), Region((-2, -1.5), (2, 1.5)), ax=ax, resolution=60)
    ax.legend(loc="upper right", fontsize="x-small")


@case("draw_fixed_points")
def draw_case_fixed_points(ax):
    ds = xr.Dataset(
        {
            "x": (("point", "state"), [[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]),
            "kind": ("point", ["minimum", "minimum", "saddle-1", "maximum"]),
        },
        coords={"state": ["x", "y"]},
    )
    ax.set(xlim=(-1.5, 1.5), ylim=(-0.5, 1.5))
    phase.draw_fixed_points(ds, ax=ax)


@case("draw_orbits")
def draw_case_orbits(ax):
    t = np.linspace(0.0, 6.0, 200)
    ds = xr.Dataset(
        {"x": (("time", "state"), np.stack([np.exp(-0.2 * t) * np.cos(t), np.sin(t)], -1))},
        coords={"time": t, "state": ["x", "y"]},
    )
    phase.draw_orbits(ds, ax=ax)


@case("portrait")
def draw_case_portrait_gradient(ax):
    """Energy with its colour bar, streamlines, nullclines in the legend, fixed points."""
    from dynsys.fixedpoints import find_fixed_points
    from dynsys.models import double_well

    system = double_well()
    points = find_fixed_points(system, [[-1.0, 0.1], [1.0, -0.1], [0.1, 0.0]])
    region = {"lower": [-2.0, -1.5], "upper": [2.0, 1.5]}
    phase.portrait(system, region, fixed_points=points, nullclines=True, ax=ax)


@case("portrait")
def draw_case_portrait_projection(ax):
    """A three-state flow: orbits and fixed points projected, the title says so, the origin
    (on the edge of the box) whole."""
    from dynsys.fixedpoints import find_fixed_points
    from dynsys.integrate import trajectory
    from dynsys.models import lorenz

    system = lorenz()
    points = find_fixed_points(system, [[0.1, 0.1, 0.1], [8.0, 8.0, 27.0], [-8.0, -8.0, 27.0]])
    orbit = trajectory(system, [1.0, 1.0, 20.0], 8.0, t_eval=np.linspace(0.0, 8.0, 1200))
    box = Region((-30, -30, 0), (30, 30, 50))
    phase.portrait(system, box, fixed_points=points, orbits=orbit, plane=("x", "z"), ax=ax)


@case("portrait", "draw_periodic_orbit", "draw_attractors")
def draw_case_portrait_cycle_and_attractors(ax):
    from dynsys.attractors import AttractorOptions, find_attractors
    from dynsys.cycles import find_periodic_orbit
    from dynsys.models import stuart_landau

    system = stuart_landau(mu=0.25)
    cycle = find_periodic_orbit(system, [0.5, 0.0], 6.0)
    found = find_attractors(
        system, [[0.9, 0.0], [0.0, 0.2]], options=AttractorOptions(cell_size=0.05)
    )
    phase.portrait(system, Region((-1, -1), (1, 1)), cycles=[cycle], attractors=found, ax=ax)


# ----------------------------------------------------------------------------------- basins
@case("draw_basin_map")
def draw_case_basin_map(ax):
    from dynsys.basins import basin_map
    from dynsys.models import double_well

    ds = basin_map(double_well(), {"x": (-1.8, 1.8, 24), "y": (-1.0, 1.0, 14)})
    phase.draw_basin_map(ds, ax=ax)


@case("draw_probabilities")
def draw_case_probabilities(ax):
    from dynsys.basins import UniformBox, basin_probabilities
    from dynsys.models import double_well

    ds = basin_probabilities(double_well(), UniformBox(-2.0, 2.0), 200, seed=0)
    phase.draw_probabilities(ds, ax=ax)


@case("draw_probability_curves")
def draw_case_probability_curves(ax):
    from dynsys.basins import SmallBall, basin_probability_sweep
    from dynsys.models import pitchfork_normal_form

    ds = basin_probability_sweep(
        pitchfork_normal_form(), "radius", [0.5, 1.0, 2.0], SmallBall(centre=0.5), 100, seed=0
    )
    phase.draw_probability_curves(ds, ax=ax)


# ------------------------------------------------------------------------------------ graphs
@case("draw_graph")
def draw_case_graph_energy(ax):
    G = _three_minima_graph()
    G.add_node(6, energy=3.02, index=1, kind="saddle-1")  # on top of saddle 4: spread apart
    G.add_edges_from([(6, 1), (6, 2)])
    phase.draw_graph(G, ax=ax, layout="energy")


@case("draw_graph_on_portrait")
def draw_case_graph_on_portrait(ax):
    from dynsys.models import double_well

    G = _double_well_graph()
    phase.draw_graph_on_portrait(double_well(), G, Region((-2, -1), (2, 1)), ax=ax, resolution=30)


@case("draw_disconnectivity")
def draw_case_disconnectivity(ax):
    phase.draw_disconnectivity(_three_minima_graph(), ax=ax)


@case("draw_disconnectivity")
def draw_case_disconnectivity_one_minimum(ax):
    """One minimum joined to its symmetric copy by a saddle: the stem reaches the saddle."""
    G = nx.DiGraph([(1, 0)])
    nx.set_node_attributes(G, {0: 0.0, 1: 0.086}, "energy")
    nx.set_node_attributes(G, {0: 0, 1: 1}, "index")
    phase.draw_disconnectivity(G, ax=ax)
    ax.set_ylabel("loss")


# ---------------------------------------------------------------------- bifurcations, cycles
@case("draw_branch")
def draw_case_branch(ax):
    from dynsys.continuation import ContinuationOptions, continue_branch
    from dynsys.models import pitchfork_normal_form

    opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    branch = continue_branch(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    phase.draw_branch(branch, ax=ax)


@case("draw_diagram")
def draw_case_diagram(ax):
    from dynsys.continuation import ContinuationOptions, bifurcation_diagram
    from dynsys.models import pitchfork_normal_form

    opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    tree = bifurcation_diagram(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    phase.draw_diagram(tree, ax=ax)


@case("draw_fold_curve")
def draw_case_fold_curve(ax):
    from dynsys.continuation import ContinuationOptions, continue_fold
    from dynsys.system import System

    cusp = System(lambda x, p: p["b1"] + p["b2"] * x - x**3, ["x"], {"b1": 0.0, "b2": 1.0})
    x_fold = 1 / np.sqrt(3)
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    curve = continue_fold(cusp, [x_fold], "b1", "b2", params={"b1": -2 * x_fold**3}, options=opts)
    phase.draw_fold_curve(curve, ax=ax)


@case("draw_hopf_curve")
def draw_case_hopf_curve(ax):
    from dynsys.continuation import continue_hopf

    system, branch, opts = _bt_system_branch()
    curve = continue_hopf(system, branch, "b1", "b2", options=opts)
    phase.draw_hopf_curve(curve, ax=ax)


@case("draw_two_parameter_diagram")
def draw_case_two_parameter_diagram(ax):
    from dynsys.continuation import two_parameter_diagram

    system, branch, opts = _bt_system_branch()
    tree = two_parameter_diagram(system, branch, "b2", options=opts)
    phase.draw_two_parameter_diagram(tree, ax=ax)


@case("draw_cycle_branch")
def draw_case_cycle_branch(ax):
    phase.draw_cycle_branch(_stuart_landau_cycles(), ax=ax)


@case("draw_cycle_family")
def draw_case_cycle_family(ax):
    phase.draw_cycle_family(_stuart_landau_cycles(), every=5, ax=ax)


@case("draw_floquet_multipliers")
def draw_case_floquet_multipliers(ax):
    from dynsys.cycles import find_periodic_orbit
    from dynsys.models import stuart_landau

    cycle = find_periodic_orbit(stuart_landau(mu=0.1, omega=2.0), [0.3, 0.0], 3.0)
    phase.draw_floquet_multipliers(cycle, ax=ax)


# ------------------------------------------------------------------- maps, attractors, spectra
@case("draw_orbit_diagram")
def draw_case_orbit_diagram(ax):
    from dynsys.models import logistic

    phase.draw_orbit_diagram(logistic(), "r", np.linspace(2.8, 4.0, 60), [0.3], ax=ax)


@case("draw_attractors")
def draw_case_attractors_henon(ax):
    from dynsys.attractors import AttractorOptions, find_attractors
    from dynsys.models import henon

    ds = find_attractors(henon(), [[0.1, 0.1]], options=AttractorOptions(cell_size=0.02))
    phase.draw_attractors(ds, ax=ax)


@case("draw_lyapunov_convergence")
def draw_case_lyapunov_convergence(ax):
    from dynsys.attractors import lyapunov_spectrum
    from dynsys.models import henon

    ds = lyapunov_spectrum(henon(b=0.3), [[0.1, 0.1], [0.2, 0.0]], t_total=500)
    phase.draw_lyapunov_convergence(ds, ax=ax)


@case("draw_spectral_density")
def draw_case_spectral_density(ax):
    from dynsys.spectra import spectral_density

    ds = spectral_density(
        np.diag(np.arange(1.0, 11.0)), n_vectors=2, lanczos_steps=10, thresholds=[5.5]
    )
    phase.draw_spectral_density(ds, ax=ax)


# ------------------------------------------------------------------------------------- tests
def drawing_functions() -> set[str]:
    """Every public drawing function of phase: ``draw_*`` and ``portrait`` in ``phase.__all__``
    and in the ``__all__`` of its public modules."""
    names = set(phase.__all__)
    for info in pkgutil.iter_modules(phase.__path__):
        if not info.name.startswith("_"):
            names |= set(getattr(importlib.import_module(f"phase.{info.name}"), "__all__", ()))
    return {n for n in names if n.startswith("draw_") or n == "portrait"}


def test_every_drawing_function_has_a_visual_case():
    covered = set().union(*(covers for covers, _ in CASES.values()))
    missing = sorted(drawing_functions() - covered)
    assert not missing, f"drawing functions without a visual case in {__name__}: {missing}"
    assert len(drawing_functions()) >= 25


def render(draw: Callable, path: Path) -> None:
    """Draw one case in the house style with fixed fonts and write it as PNG."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        set_font_settings_for_testing()
        set_reproducibility_for_testing()
        matplotlib.rcParams.update(RC)
        fig = Figure(figsize=SIZE, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        with np.errstate(all="ignore"):
            draw(ax)
        fig.savefig(path, dpi=DPI, metadata={"Software": None})


@pytest.mark.parametrize("name", sorted(CASES))
def test_picture_matches_its_reference(name, tmp_path):
    _, draw = CASES[name]
    expected = BASELINE / f"{name}.png"
    if REGEN:
        BASELINE.mkdir(exist_ok=True)
        render(draw, expected)
        return
    assert expected.is_file(), (
        f"no reference {expected}; make one with `make baseline-images` and look at it."
    )
    actual = tmp_path / f"{name}.png"
    render(draw, actual)
    result = compare_images(str(expected), str(actual), tol=TOL, in_decorator=True)
    assert result is None, (
        f"{name}: the picture differs from its reference by RMS {result['rms']:.2f} "
        f"(tolerance {TOL}); drawn {actual}, difference {result['diff']}. If the change is "
        "intended, regenerate with `make baseline-images` and look at the new image."
    )


def test_the_comparison_catches_a_changed_picture(tmp_path):
    """The comparison is not blind: moving one fixed point marker fails it."""

    def moved(ax):
        ds = xr.Dataset(
            {
                "x": (("point", "state"), [[1.0, 0.5], [-1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]),
                "kind": ("point", ["minimum", "minimum", "saddle-1", "maximum"]),
            },
            coords={"state": ["x", "y"]},
        )
        ax.set(xlim=(-1.5, 1.5), ylim=(-0.5, 1.5))
        phase.draw_fixed_points(ds, ax=ax)

    expected = BASELINE / "fixed_points.png"
    if not expected.is_file():
        pytest.skip("no reference yet")
    actual = tmp_path / "moved.png"
    render(moved, actual)
    result = compare_images(str(expected), str(actual), tol=TOL, in_decorator=True)
    assert result is not None and result["rms"] > TOL


# ---------------------------------------------------------------------------- example figures
def thumbnail(source: Path, target: Path) -> None:
    """Shrink a PNG to at most ``THUMB`` pixels wide (area averaging), as opaque RGB."""
    from PIL import Image

    with Image.open(source) as image:
        image = image.convert("RGB")
        width, height = image.size
        scale = min(1.0, THUMB / width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image.resize(size, Image.Resampling.BOX).save(target, format="PNG")


def compare_example_figure(figure: Path, script: str, workdir: Path) -> None:
    """Compare an example's figure with its reference (or write the reference when
    regenerating); fail with the paths of the pictures and their difference."""
    expected = EXAMPLE_BASELINE / f"{script}__{figure.name}"
    if REGEN:
        EXAMPLE_BASELINE.mkdir(parents=True, exist_ok=True)
        thumbnail(figure, expected)
        return
    assert expected.is_file(), (
        f"no reference {expected} for a figure of {script}; make one with "
        "`make baseline-images` and look at it."
    )
    actual = workdir / f"thumb_{script}__{figure.name}"
    thumbnail(figure, actual)
    try:
        result = compare_images(str(expected), str(actual), tol=EXAMPLE_TOL, in_decorator=True)
    except ImageComparisonFailure as exc:  # the sizes differ
        pytest.fail(f"{script}: {figure.name} cannot be compared with {expected}: {exc}")
    assert result is None, (
        f"{script}: {figure.name} differs from its reference by RMS {result['rms']:.2f} "
        f"(tolerance {EXAMPLE_TOL}); drawn {actual}, difference {result['diff']}. If the "
        "change is intended, regenerate with `make baseline-images` and look at the image."
    )


def test_every_example_figure_has_a_reference():
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    stored = {p.name.split("__")[0] for p in EXAMPLE_BASELINE.glob("*__*.png")}
    drawing = [
        s
        for s in scripts
        if "write_figure" in (EXAMPLES / f"{s}.py").read_text()
        or ".png" in (EXAMPLES / f"{s}.py").read_text()
    ]
    missing = [s for s in drawing if s not in stored]
    assert drawing and not missing, f"examples whose figures have no reference: {missing}"
