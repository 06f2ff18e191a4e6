"""Basin maps and probabilities against basins known exactly: symmetric and tilted double wells,
the Newton flow of z^3 - 1, and the damped Duffing oscillator against independent integrations."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dynsys import Status, System
from dynsys.basins import (
    BasinOptions,
    FlowOptions,
    Plane,
    SmallBall,
    UniformBox,
    basin_map,
    basin_probabilities,
)
from dynsys.fixedpoints import find_fixed_points
from dynsys.models import double_well, duffing


# ----------------------------------------------------------------------------- systems
def _tilted_field(x, p):
    u, y = x[..., 0], x[..., 1]
    return np.stack([p["mu"] * u - u**3 + p["c"], -y], axis=-1)


def tilted_well(mu=1.0, c=0.1):
    """x' = mu x - x^3 + c, y' = -y: two sinks; the basin boundary is the line x = saddle's x."""
    return System(_tilted_field, ["x", "y"], {"mu": mu, "c": c}, name="tilted_well")


def tilted_roots(mu=1.0, c=0.1):
    return np.sort(np.roots([-1.0, 0.0, mu, c]).real)  # left sink, saddle, right sink


def _newton_field(x, p):
    z = x[..., 0] + 1j * x[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = (z**3 - 1.0) / (3.0 * z**2)  # the Newton step N(z); infinite at z = 0
    return np.stack([-step.real, -step.imag], axis=-1)


def newton_flow():
    """z' = -(z^3 - 1)/(3 z^2) as a real system: w = z^3 - 1 obeys w' = -w, so an orbit runs
    along w0 e^{-t} to the root on its branch; the basins are the sectors |arg z - 2 pi k/3| <
    pi/3, and orbits on the rays z^3 < 0 run into the pole z = 0."""
    return System(_newton_field, ["x", "y"], name="newton_z3")


ROOTS = np.array([[1.0, 0.0], [-0.5, np.sqrt(3) / 2], [-0.5, -np.sqrt(3) / 2]])


# ----------------------------------------------------------------------------- double well
def test_double_well_symmetric_grid_gives_exact_halves():
    xs = (np.arange(60) - 29.5) / 15.0  # symmetric about 0, never on the line x = 0
    ds = basin_map(double_well(), {"x": xs, "y": np.linspace(-2.0, 2.0, 21)})
    assert ds.fraction.values.tolist() == [0.5, 0.5]
    assert ds.attractor_kind.values.tolist() == ["minimum", "minimum"]
    assert ds.attractor_energy.values.tolist() == [0.0, 0.0]
    left = int(np.flatnonzero(ds.attractor_x.sel(state="x").values < 0)[0])
    assert np.all((ds.label.values == left) == (xs < 0)[:, None])
    assert np.all(ds.status.values == Status.CONVERGED)
    assert ds.label.dims == ("x", "y") and ds.sizes["attractor"] == 2


def test_given_attractors_keep_their_order_and_saddle_orbits_are_explicit():
    fixed = find_fixed_points(double_well(), np.random.default_rng(0).uniform(-2, 2, (40, 2)))
    # a grid that includes the stable manifold of the saddle: those orbits converge to it, and
    # the saddle is a known point but not an attractor: their outcome says so
    ds = basin_map(double_well(), {"x": [-1.0, 0.0, 1.0], "y": [-1.0, 1.0]}, attractors=fixed)
    assert ds.attractor_kind.sel(attractor=[0, 1]).values.tolist() == ["minimum", "minimum"]
    assert ds.attractor_origin.sel(attractor=[0, 1]).values.tolist() == ["given"] * 2
    stalled = -Status.NOT_ATTRACTING
    assert ds.label.values.tolist() == [[0, 0], [stalled, stalled], [1, 1]]
    assert ds.attractor_index.sel(attractor=[0, 1]).values.tolist() == [0, 0]
    assert ds.attractor_kind.sel(attractor=stalled).item() == "not_attracting"
    assert np.all(ds.status.values[1] == Status.NOT_ATTRACTING)
    with pytest.raises(ValueError, match=r"`attractors` rows \[0\] are not fixed points"):
        basin_map(double_well(), {"x": [0.5], "y": [0.0]}, attractors=[[0.5, 0.5]])


# ----------------------------------------------------------------------------- tilted well
def test_tilted_well_boundary_is_the_saddle_line():
    left, saddle, right = tilted_roots()
    xs = np.linspace(-2.0, 2.0, 81) + 0.0123  # no grid point within 1e-3 of the saddle's x
    assert np.min(np.abs(xs - saddle)) > 1e-3
    ds = basin_map(tilted_well(), Plane({"x": xs, "y": (-1.0, 1.0, 5)}))
    rows = ds.attractor_x.sel(state="x").values
    assert np.allclose(sorted(rows), [left, right], atol=1e-10)
    i_left, i_right = int(np.argmin(rows)), int(np.argmax(rows))
    expected = np.where(xs < saddle, i_left, i_right)
    assert np.array_equal(ds.label.values, np.broadcast_to(expected[:, None], (81, 5)))
    assert ds.fraction[i_left] == np.count_nonzero(xs < saddle) / 81


def test_tilted_well_plane_with_directions_and_base():
    # a 3-state system: the tilted well plus z' = -z; map the (x, z) plane at y = 0.3
    def field(x, p):
        return np.concatenate([_tilted_field(x[..., :2], p), -x[..., 2:]], axis=-1)

    system = System(field, ["x", "y", "z"], {"mu": 1.0, "c": 0.1})
    _, saddle, _ = tilted_roots()
    plane = Plane(
        {"s": np.linspace(-1.5, 1.5, 31) + 0.01, "t": [-1.0, 1.0]},
        base=[0.0, 0.3, 0.0],
        directions={"s": [1, 0, 0], "t": [0, 0, 1]},
    )
    ds = basin_map(system, plane)
    assert ds.label.dims == ("s", "t")
    assert ds.plane_base.values.tolist() == [0.0, 0.3, 0.0]
    s = ds.s.values
    right = int(np.argmax(ds.attractor_x.sel(state="x").values))
    assert np.array_equal(ds.label.values[:, 0] == right, s > saddle)


# ----------------------------------------------------------------------------- Newton flow
def _sector(points):
    """The root whose sector |arg z - arg root| < pi/3 holds each point, and the angular
    distance to the nearest sector boundary."""
    angle = np.arctan2(points[..., 1], points[..., 0])
    k = np.round(angle / (2 * np.pi / 3)).astype(int) % 3
    offset = np.abs((angle - 2 * np.pi / 3 * k + np.pi) % (2 * np.pi) - np.pi)
    return k, np.pi / 3 - offset


def _root_rows(ds):
    """Row of each root of z^3 = 1 in the attractor table."""
    x = ds.attractor_x.sel(attractor=ds.attractor >= 0).values
    return np.array([int(np.argmin(np.linalg.norm(x - r, axis=1))) for r in ROOTS])


def test_newton_flow_disk_has_three_equal_basins():
    ds = basin_probabilities(
        newton_flow(),
        SmallBall(centre=[0.0, 0.0], radius=1.5),
        3000,
        seed=7,
        options=BasinOptions(chunk_size=1500),
    )
    rows = _root_rows(ds)
    assert np.allclose(ds.attractor_x.values[rows], ROOTS, atol=1e-10)
    for r in rows:
        assert ds.ci_low[r] <= 1 / 3 <= ds.ci_high[r]
    assert ds.fraction[rows].sum() == 1.0


def test_newton_flow_square_sector_and_area_fraction():
    exact = (8 - 4 / np.sqrt(3)) / 16
    mc = basin_probabilities(
        newton_flow(), UniformBox(-2.0, 2.0), 4000, seed=3, options=BasinOptions(chunk_size=2000)
    )
    one = _root_rows(mc)[0]
    assert mc.ci_low[one] <= exact <= mc.ci_high[one]

    ds = basin_map(newton_flow(), {"x": (-2, 2, 61), "y": (-2, 2, 61)})
    rows = _root_rows(ds)
    grid = np.stack(np.meshgrid(ds.x.values, ds.y.values, indexing="ij"), axis=-1)
    k, margin = _sector(grid)
    radius = np.linalg.norm(grid, axis=-1)
    away = (margin > 0.02) & (radius > 0.05)
    assert np.array_equal(ds.label.values[away], rows[k[away]])
    # the pole z = 0 is a grid point: its orbit is non-finite at once, not a wrong root
    centre = ds.label.sel(x=0.0, y=0.0, method="nearest")
    assert int(centre) == -Status.NONFINITE
    # orbits on the negative real axis run into the pole: never labelled as a root
    ray = ds.label.sel(y=0.0, method="nearest").values[ds.x.values < 0]
    assert np.all(ray < 0)


# ----------------------------------------------------------------------------- Duffing
def _duffing_energy(t, s):
    return 0.5 * s[1] ** 2 - 0.5 * s[0] ** 2 + 0.25 * s[0] ** 4


_duffing_energy.terminal = True
_duffing_energy.direction = -1


@pytest.mark.slow
def test_duffing_map_agrees_with_independent_integrations():
    system = duffing()
    ds = basin_map(system, {"x": (-2, 2, 200), "v": (-2, 2, 200)})
    assert np.all(ds.label.values >= 0)
    assert ds.fraction.sum() == 1.0
    print(
        "Duffing 200 x 200 fractions:",
        dict(
            zip(
                ds.attractor_x.sel(state="x").values.tolist(),
                ds.fraction.values.tolist(),
                strict=True,
            )
        ),
    )
    # Energy E = v^2/2 - x^2/2 + x^4/4 decreases (E' = -delta v^2); {E < 0} has one component
    # per well, so an orbit is decided once E < 0: the sign of x there is its attractor.
    rng = np.random.default_rng(500)
    picks = rng.choice(200 * 200, size=500, replace=False)
    i, j = np.unravel_index(picks, (200, 200))
    positive = int(np.argmax(ds.attractor_x.sel(state="x").values))

    def rhs(t, s):
        return system.f(s)

    for a, b in zip(i, j, strict=True):
        start = [float(ds.x[a]), float(ds.v[b])]
        if _duffing_energy(0.0, start) < 0:
            x_end = start[0]
        else:
            sol = solve_ivp(
                rhs,
                (0.0, 400.0),
                start,
                method="DOP853",
                rtol=1e-11,
                atol=1e-12,
                events=_duffing_energy,
            )
            assert sol.status == 1, start
            x_end = sol.y_events[0][0][0]
        assert (int(ds.label[a, b]) == positive) == (x_end > 0), start


def test_unconverged_and_escaped_orbits_get_their_own_labels():
    # x' = x^2 - 1: x(t) = -tanh(t - atanh(x0)) for |x0| < 1 reaches |f| <= 1e-8 at about
    # t = atanh(x0) + 9.9, so by t_max = 12 every x0 < 0.5 has converged and none above 0.98;
    # x0 > 1 blows up at t = acoth(x0) (escapes)
    system = System(lambda x, p: x**2 - 1.0, ["x"], name="riccati")
    opts = FlowOptions(t_max=12.0, rtol=1e-10, atol=1e-12, converge_tol=1e-8, escape_radius=1e3)
    ds = basin_probabilities(
        system,
        UniformBox(-0.5, 1.5),
        400,
        seed=0,
        options=BasinOptions(flow=opts, keep_states=True),
    )
    x0 = ds.x0.values[:, 0]
    labels = ds.label.values
    time_limit, escaped = -Status.TIME_LIMIT, -Status.ESCAPED
    assert set(np.unique(labels)) <= {0, time_limit, escaped}
    assert np.all(labels[x0 > 1.05] == escaped)
    assert np.all(labels[x0 < 0.5] == 0)
    slow = (x0 > 0.98) & (x0 < 1.0)
    assert slow.any() and np.all(labels[slow] == time_limit)
    assert np.all(ds.status.values[slow] == Status.TIME_LIMIT)
    assert ds.attractor_kind.sel(attractor=time_limit).item() == "time_limit"
    assert ds.attractor_kind.sel(attractor=escaped).item() == "escaped"
    assert ds.fraction.sum() == pytest.approx(1.0)


def test_circle_of_minima_is_verified_by_newton():
    # V = (x^2 + y^2 - 1)^2 / 4: a circle of minima (nullity 1); each orbit runs radially, so
    # it ends at x0 / |x0|. End points closer than match_tol share a row; no wrong labels, and
    # every row is a Newton-verified point of the circle.
    from dynsys import GradientSystem

    system = GradientSystem(lambda x, p: 0.25 * ((x**2).sum(-1) - 1.0) ** 2, ["x", "y"])
    ds = basin_probabilities(
        system,
        SmallBall(centre=[0.0, 0.0], radius=2.0),
        60,
        seed=8,
        options=BasinOptions(match_tol=1e-3, keep_states=True),
    )
    assert np.all(ds.label.values >= 0)
    assert set(ds.attractor_kind.values) == {"degenerate"}
    assert set(ds.attractor_nullity.values) == {1}
    assert set(ds.attractor_origin.values) == {"found"}
    assert np.all(ds.attractor_residual.values <= 1e-10)
    target = ds.attractor_x.values[ds.label.values]
    assert np.allclose(np.linalg.norm(target, axis=1), 1.0, atol=1e-7)
    radial = ds.x0.values / np.linalg.norm(ds.x0.values, axis=1, keepdims=True)
    assert np.abs(target - radial).max() <= 1e-3 * 1.0 + 1e-7


def test_stiff_landscape_converges_with_the_default_options():
    # Mueller-Brown has Jacobian eigenvalues up to 4e3: with rtol = 1e-8 an explicit RK orbit
    # hovers at |f| ~ 1e-5 next to a minimum, above the default converge_tol = 1e-8. The
    # tolerance is raised to where orbits can arrive, and every grid point is labelled.
    from dynsys.fixedpoints import find_fixed_points
    from dynsys.models import mueller_brown

    system = mueller_brown()
    seeds = np.random.default_rng(0).uniform([-1.5, -0.5], [1.2, 2.0], (300, 2))
    points = find_fixed_points(system, seeds)
    ds = basin_map(system, {"x": (-1.5, 1.2, 28), "y": (-0.5, 2.0, 26)}, attractors=points)
    assert ds.attrs["converge_tol_requested"] == "auto"  # chosen by the arrival rule
    lam = np.abs(points["eigenvalue_real"].values + 1j * points["eigenvalue_imag"].values).max()
    scale = max(1.0, np.abs(points["x"].values).max())
    floor = 10 * lam * (1e-10 + 1e-8 * scale)  # the rule, with the default rtol and atol
    assert ds.attrs["converge_tol_used"] == pytest.approx(floor, rel=1e-12)
    assert 1e-8 < ds.attrs["converge_tol_used"] < 1e-2
    # a request below the floor is raised with a warning and a note, never silently
    from dynsys._points import ToleranceWarning

    tight = BasinOptions(flow=BasinOptions().flow.replace(converge_tol=1e-8))
    with pytest.warns(ToleranceWarning, match="raised"):
        raised = basin_map(
            system, {"x": (-0.6, -0.5, 2), "y": (1.4, 1.48, 2)}, attractors=points, options=tight
        )
    assert raised.attrs["converge_tol_requested"] == 1e-8
    assert raised.attrs["converge_tol_used"] == pytest.approx(floor, rel=1e-12)
    assert "raised" in raised.attrs["converge_tol_note"]
    assert np.all(ds["label"].values >= 0)  # no orbit ends "not converged"
    minima = np.flatnonzero(ds["attractor_kind"].values == "minimum")
    assert minima.size == 3 and ds["fraction"].values[minima].sum() == 1.0
    # a start next to a minimum (inside its quadratic well) is labelled by that minimum
    near = basin_map(
        system,
        {"x": (-0.6, -0.5, 2), "y": (1.40, 1.48, 2)},
        attractors=points,
    )
    row = int(np.argmin(np.linalg.norm(points["x"].values - [-0.558, 1.442], axis=1)))
    assert np.all(near["label"].values == row)


# ----------------------------------------------------------------------------- stiff system
def _stiff_field(x, p):
    u, v = x[..., 0], x[..., 1]
    return np.stack([-u + v, -(v - u**2) / 1e-6], axis=-1)


def _stiff_jacobian(x, p):
    one = np.ones(x.shape[:-1])
    rows = [np.stack([-one, one], axis=-1), np.stack([2 * x[..., 0] / 1e-6, -one / 1e-6], axis=-1)]
    return np.stack(rows, axis=-2)


def test_stiff_system_reports_only_verified_attractors():
    # x' = -x + y, y' = -(y - x^2)/1e-6: a sink at (0, 0) and a saddle at (1, 1); explicit
    # Runge-Kutta orbits stall on the slow manifold y = x^2 where |f| is not small. Every
    # reported attractor is a fixed point of the field (|f| <= 1e-8), and every orbit without
    # one carries an outcome that says why.
    system = System(_stiff_field, ["x", "y"], jac=_stiff_jacobian, name="stiff")
    grid = {"x": (-2.0, 2.0, 21), "y": (-2.0, 2.0, 21)}
    for attractors in (None, [[0.0, 0.0], [1.0, 1.0]]):
        ds = basin_map(system, grid, attractors=attractors)
        rows = ds.attractor.values >= 0
        x = ds.attractor_x.values[rows]
        assert np.all(np.linalg.norm(system.f(x), axis=-1) <= 1e-8)
        assert np.allclose(x, [[0.0, 0.0]], atol=1e-12) or len(x) == 0
        labels, status = ds.label.values, ds.status.values
        # labelled orbits converged to a verified attractor; the others say why, from the table
        assert np.all(status[labels >= 0] == Status.CONVERGED)
        assert np.all(status[labels < 0] == -labels[labels < 0])
        assert set(np.unique(status[labels < 0])) <= {
            Status.MAX_STEPS,
            Status.TIME_LIMIT,
            Status.STEP_UNDERFLOW,
            Status.UNVERIFIED,
            Status.NOT_ATTRACTING,
            Status.MAX_ITER,
            Status.SINGULAR_JACOBIAN,
        }
