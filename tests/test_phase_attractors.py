"""Pictures of attractors and Lyapunov exponents, checked against the data and closed forms.

Bistable Hopf ``r' = mu r + r^3 - r^5``, ``theta' = 1`` at ``mu = -0.1``: a stable origin
(eigenvalues ``mu +- i``, so both Lyapunov exponents ``mu``) and a stable cycle of radius
``r_s^2 = (1 + sqrt(1 + 4 mu)) / 2``, period ``2 pi``. Henon ``(x, y) -> (1 - a x^2 + y, b x)``:
at ``a = 0.6``, ``b = 0.3`` an attracting 2-cycle with ``p + q = (1 - b) / a`` and
``p q = ((1 - b)^2 - a) / a^2``; at ``a = 1.4`` a chaotic attractor; its Jacobian has determinant
``-b``, so its exponents sum to ``log b``. Lorenz (``sigma = 10``, ``r = 28``, ``beta = 8/3``): a
chaotic attractor with two wings and ``z`` between about 5 and 48.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from dynsys.attractors import AttractorOptions, find_attractors, lyapunov_spectrum
from dynsys.errors import InputError, InputTypeError
from dynsys.models import bistable_hopf, henon, logistic, lorenz
from phase import (
    Region,
    attractor_label,
    draw_attractors,
    draw_lyapunov_convergence,
    portrait,
)
from phase._style import attractor_color

MU = -0.1
R_STABLE = np.sqrt((1 + np.sqrt(1 + 4 * MU)) / 2)
R_UNSTABLE = np.sqrt((1 - np.sqrt(1 + 4 * MU)) / 2)


@pytest.fixture(scope="module")
def hopf():
    """Seeds inside and outside the unstable cycle, and one non-finite seed (an outcome row)."""
    theta = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    radii = np.where(np.arange(12) % 3 == 0, 0.2, 1.2)
    seeds = np.stack([radii * np.cos(theta), radii * np.sin(theta)], axis=1)
    seeds = np.concatenate([seeds, [[np.nan, 0.0]]])
    options = AttractorOptions(cell_size=0.05, dt=0.1)
    return find_attractors(bistable_hopf(MU), seeds, options=options)


@pytest.fixture(scope="module")
def henon_chaos():
    return find_attractors(henon(), [[0.1, 0.1]], options=AttractorOptions(cell_size=0.02))


def rows_of(ds, kind):
    return [r for r, k in enumerate(ds.attractor_kind.values) if str(k) == kind]


# ---------------------------------------------------------------------------- attractors
def test_point_and_cycle_of_the_bistable_hopf_form(hopf):
    (point,), (cycle,) = rows_of(hopf, "point"), rows_of(hopf, "cycle")
    fig, ax = plt.subplots()
    drawn = draw_attractors(hopf, ax=ax)
    assert len(drawn) == 2  # the nonfinite seed's outcome row is not an attractor
    by_label = {line.get_label(): line for line in drawn}
    p = by_label[attractor_label(hopf, point)]
    c = by_label[attractor_label(hopf, cycle)]
    # the origin, a marker
    np.testing.assert_allclose(p.get_xydata(), [[0.0, 0.0]], atol=1e-10)
    assert p.get_linestyle() == "None" and p.get_marker() == "o"
    # the cycle, a closed curve of radius r_s
    x, y = c.get_data()
    np.testing.assert_allclose(np.hypot(x, y), R_STABLE, atol=1e-6)
    assert (x[0], y[0]) == (x[-1], y[-1]) and c.get_linestyle() == "-"
    assert to_hex(c.get_color()) == attractor_color(cycle)
    # labels: kind, then the period or the largest exponent, then the share of seeds
    assert c.get_label() == f"cycle, T = {2 * np.pi:.4g}, 62% of seeds"  # 8 seeds of 13
    assert p.get_label() == r"point, $\lambda_1$ = -0.1, 31% of seeds"  # 4 seeds of 13
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [line.get_label() for line in drawn]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    plt.close(fig)


def test_rows_select_what_is_drawn(hopf):
    (cycle,) = rows_of(hopf, "cycle")
    fig, ax = plt.subplots()
    (line,) = draw_attractors(hopf, rows=[cycle], ax=ax, fraction=False)
    assert line.get_label() == f"cycle, T = {2 * np.pi:.4g}"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [line.get_label()]
    with pytest.raises(InputError, match="name no attractor"):
        draw_attractors(hopf, rows=[-1], ax=ax)  # the outcome row "nonfinite"
    plt.close(fig)


def test_a_cycle_of_a_map_is_its_points():
    a, b = 0.6, 0.3
    ds = find_attractors(henon(a=a, b=b), [[0.1, 0.1]], options=AttractorOptions(cell_size=0.01))
    fig, ax = plt.subplots()
    (line,) = draw_attractors(ds, ax=ax)
    x, y = line.get_data()
    assert line.get_linestyle() == "None" and line.get_marker() == "D" and len(x) == 2
    assert x.sum() == pytest.approx((1 - b) / a, abs=1e-9)
    assert x.prod() == pytest.approx(((1 - b) ** 2 - a) / a**2, abs=1e-9)
    np.testing.assert_allclose(np.sort(y), np.sort(b * x), atol=1e-9)  # y_{k+1} = b x_k
    assert line.get_label() == "cycle, period 2, 100% of seeds"
    plt.close(fig)


def test_a_chaotic_set_is_a_cloud_of_its_samples(henon_chaos):
    fig, ax = plt.subplots()
    (cloud,) = draw_attractors(henon_chaos, ax=ax)
    samples = henon_chaos.attractor_samples.values[0]
    samples = samples[np.isfinite(samples).all(axis=1)]
    np.testing.assert_array_equal(cloud.get_xydata(), samples)
    assert cloud.get_linestyle() == "None" and cloud.get_marker() == "."
    lam = float(henon_chaos.attractor_lyapunov[0, 0])
    se = float(henon_chaos.attractor_lyapunov_stderr[0, 0])
    assert abs(lam - 0.41922) < 4 * se + 0.01  # the Henon attractor's largest exponent
    assert cloud.get_label() == rf"chaotic, $\lambda_1$ = {lam:.3g} ± {se:.2g}, 100% of seeds"
    # the legend shows a marker big enough to see
    (handle,) = ax.get_legend().legend_handles
    assert handle.get_markersize() >= 6
    plt.close(fig)


def test_lorenz_is_projected_onto_a_named_plane():
    options = AttractorOptions(
        cell_size=2.0, dt=0.05, rtol=1e-7, atol=1e-9, lyapunov_time=10.0, lyapunov_dt=0.25
    )
    ds = find_attractors(lorenz(), [[1.0, 1.0, 1.0]], options=options)
    fig, ax = plt.subplots()
    (cloud,) = draw_attractors(ds, plane=("x", "z"), ax=ax)
    samples = ds.attractor_samples.values[0]
    samples = samples[np.isfinite(samples).all(axis=1)]
    np.testing.assert_array_equal(cloud.get_xydata(), samples[:, [0, 2]])
    x, z = cloud.get_data()
    assert x.min() < -5 < 5 < x.max()  # both wings
    assert z.min() > 0 and z.max() < 50
    assert ax.get_xlabel() == "x (projection onto the x-z plane)" and ax.get_ylabel() == "z"
    assert cloud.get_label().startswith("chaotic")
    plt.close(fig)


def test_portrait_with_attractors(hopf):
    fig, ax = plt.subplots()
    portrait(bistable_hopf(MU), Region((-1.5, -1.5), (1.5, 1.5)), attractors=hopf, ax=ax)
    legend = sorted(t.get_text() for t in ax.get_legend().get_texts())
    assert legend == sorted(attractor_label(hopf, r) for r in range(2))
    plt.close(fig)


def test_wrong_input_is_explained(hopf):
    spectrum = lyapunov_spectrum(henon(), [[0.1, 0.1]], t_transient=10, t_total=200)
    fig, ax = plt.subplots()
    with pytest.raises(InputError, match=r"draw those with phase\.draw_lyapunov_convergence"):
        draw_attractors(spectrum, ax=ax)
    with pytest.raises(InputError, match=r"draw those with phase\.draw_attractors"):
        draw_lyapunov_convergence(hopf, ax=ax)
    with pytest.raises(InputTypeError, match="got a ndarray"):
        draw_attractors(np.zeros(3), ax=ax)
    one_state = find_attractors(logistic(3.2), [0.3], options=AttractorOptions(cell_size=0.01))
    with pytest.raises(InputError, match="draw_orbit_diagram"):
        draw_attractors(one_state, ax=ax)
    with pytest.raises(InputError, match="not a state variable"):
        draw_attractors(hopf, plane=("x", "w"), ax=ax)
    plt.close(fig)


# ---------------------------------------------------------------------------- Lyapunov
def test_lyapunov_convergence_of_the_henon_map():
    b = 0.3
    ds = lyapunov_spectrum(henon(b=b), [[0.1, 0.1], [0.2, 0.0], [0.0, 0.2]], t_total=3000)
    fig, ax = plt.subplots()
    drawn = draw_lyapunov_convergence(ds, ax=ax)
    assert len(drawn.running) == 3 * 2 and len(drawn.finals) == 2 and len(drawn.bands) == 2
    t = ds["time"].values
    for k, line in enumerate(drawn.running):
        exponent, orbit = divmod(k, 3)
        np.testing.assert_array_equal(line.get_xdata(), t)
        np.testing.assert_array_equal(
            line.get_ydata(), ds.lyapunov_running.values[orbit, :, exponent]
        )
    finals = [line.get_ydata()[0] for line in drawn.finals]
    np.testing.assert_array_equal(finals, ds.lyapunov.values)
    assert sum(finals) == pytest.approx(np.log(b), abs=1e-10)  # det Dg = -b
    # the running sums too, at every checkpoint: the QR method keeps log |det|
    np.testing.assert_allclose(ds.lyapunov_running.values.sum(axis=-1), np.log(b), atol=1e-10)
    for band, value, se in zip(drawn.bands, finals, ds.lyapunov_stderr.values, strict=True):
        low, high = band.get_y(), band.get_y() + band.get_height()  # y in data coordinates
        assert low == pytest.approx(value - se) and high == pytest.approx(value + se)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    se = ds.lyapunov_stderr.values
    assert legend == [rf"$\lambda_{{{k + 1}}}$ = {finals[k]:.4g} ± {se[k]:.2g}" for k in range(2)]
    assert ax.get_xlabel() == "iteration since transient"
    plt.close(fig)


def test_lyapunov_convergence_of_one_exponent_on_a_log_axis():
    ds = lyapunov_spectrum(henon(), [[0.1, 0.1]], t_total=2000)
    fig, ax = plt.subplots()
    drawn = draw_lyapunov_convergence(ds, exponents=[0], ax=ax, log_time=True)
    assert len(drawn.running) == 1 and len(drawn.finals) == 1
    assert ax.get_xscale() == "log"
    (label,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label.startswith(r"$\lambda_{1}$ = ")
    with pytest.raises(InputError, match="not exponents"):
        draw_lyapunov_convergence(ds, exponents=[2], ax=ax)
    plt.close(fig)


def test_attractors_no_seed_reached_are_neither_drawn_nor_listed():
    from dynsys.attractors import AttractorOptions, find_attractors
    from dynsys.models import henon

    ds = find_attractors(henon(), [[0.1, 0.1]], options=AttractorOptions(cell_size=0.02))
    assert len(draw_attractors(ds, ax=plt.figure().gca())) == 1
    unreached = ds.assign(fraction=ds["fraction"] * 0.0)
    ax = plt.figure().gca()
    assert draw_attractors(unreached, ax=ax) == [] and ax.get_legend() is None
    assert len(draw_attractors(unreached, rows=[0], ax=plt.figure().gca())) == 1  # when asked
