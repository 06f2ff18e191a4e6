"""Basins of attractors that are not points, for flows, checked against closed forms.

The bistable Hopf normal form ``r' = mu r + r^3 - r^5``, ``theta' = 1`` (model ``bistable_hopf``)
at ``mu = -0.1`` has a stable origin, an unstable cycle at ``r_u^2 = (1 - sqrt(1 + 4 mu)) / 2``
and a stable cycle at ``r_s^2 = (1 + sqrt(1 + 4 mu)) / 2``, both of period ``2 pi``. The radial
equation is autonomous, so the basin of the origin is exactly the disc ``r < r_u``: from a
uniform sampler on a square of side ``2 L`` its probability is ``pi r_u^2 / (2 L)^2``. The radial
Floquet exponent of the stable cycle is ``mu + 3 r_s^2 - 5 r_s^4``.

The Lorenz system at ``sigma = 10, r = 28, beta = 8/3`` has one chaotic attractor with largest
Lyapunov exponent 0.9056 (Viswanath 1998), and the sum of its exponents is the constant trace
``-(sigma + 1 + beta)`` of the Jacobian.
"""

import numpy as np
import pytest

from dynsys import InputError, Status, explain
from dynsys.basins import (
    AttractorOptions,
    BasinOptions,
    FlowOptions,
    Plane,
    UniformBox,
    basin_map,
    basin_probabilities,
    basin_probability_sweep,
    wilson_interval,
)
from dynsys.io import load, save
from dynsys.models import bistable_hopf, lorenz

MU = -0.1


def radii(mu: float) -> tuple[float, float]:
    """Radii of the unstable and the stable cycle."""
    root = np.sqrt(1 + 4 * mu)
    return float(np.sqrt((1 - root) / 2)), float(np.sqrt((1 + root) / 2))


R_U, R_S = radii(MU)
HALF = 1.5  # the square [-1.5, 1.5]^2
HOPF = BasinOptions(flow=FlowOptions(t_max=100.0))
N_HOPF = 2000


@pytest.fixture(scope="module")
def hopf_probabilities():
    return basin_probabilities(
        bistable_hopf(MU), UniformBox(-HALF, HALF), N_HOPF, seed=2, options=HOPF
    )


def rows_of(ds) -> dict[str, int]:
    """Attractor label by type (each type occurs once here)."""
    rows = ds["attractor"].values[ds["attractor"].values >= 0]
    return {str(ds["attractor_type"].sel(attractor=r).values): int(r) for r in rows}


def test_hopf_probability_of_the_origin_is_the_area_ratio(hopf_probabilities):
    ds = hopf_probabilities
    assert ds["attractor"].values.tolist() == [0, 1]  # no outcome without an attractor
    rows = rows_of(ds)
    assert set(rows) == {"point", "cycle"}
    origin, cycle = rows["point"], rows["cycle"]
    exact = np.pi * R_U**2 / (2 * HALF) ** 2  # 0.03934
    at = ds.sel(attractor=origin)
    assert float(at.ci_low) <= exact <= float(at.ci_high)  # the 95% Wilson interval
    low, high = wilson_interval(int(at.n_orbits), N_HOPF, confidence=0.999)
    assert low <= exact <= high
    assert int(ds.n_orbits.sum()) == N_HOPF
    # the origin: a Newton-verified stable focus with eigenvalues mu +- i
    np.testing.assert_allclose(ds.attractor_x.sel(attractor=origin).values, 0.0, atol=1e-12)
    assert str(at.attractor_kind.values) == "sink focus"
    eig = at.attractor_eigenvalue_real.values + 1j * at.attractor_eigenvalue_imag.values
    np.testing.assert_allclose(np.sort_complex(eig), [MU - 1j, MU + 1j], atol=1e-12)
    # orbits at the origin converged, orbits at the cycle are periodic
    label, status = ds.label.values, ds.status.values
    assert np.all(status[label == origin] == Status.CONVERGED)
    assert np.all(status[label == cycle] == Status.PERIODIC)


def test_hopf_cycle_is_one_attractor_with_its_period_radius_and_multipliers(hopf_probabilities):
    ds = hopf_probabilities
    at = ds.sel(attractor=rows_of(ds)["cycle"])
    assert str(at.attractor_kind.values) == "cycle"
    assert str(at.attractor_origin.values) == "recurrence"
    # the cycle refined by collocation: its period 2 pi to 1e-10, its error estimated
    assert str(at.attractor_period_method.values) == "collocation"
    assert float(at.attractor_period) == pytest.approx(2 * np.pi, abs=1e-10)
    assert float(at.attractor_period_error) < 1e-10
    drawn = at.attractor_samples.values
    drawn = drawn[np.isfinite(drawn).all(axis=1)]
    assert len(drawn) >= 100
    np.testing.assert_allclose(np.linalg.norm(drawn, axis=1), R_S, atol=1e-6)
    assert np.linalg.norm(at.attractor_x.values) == pytest.approx(R_S, abs=1e-6)
    # Floquet exponents 0 (along the flow) and mu + 3 r^2 - 5 r^4; multipliers e^{T lambda}
    floquet = MU + 3 * R_S**2 - 5 * R_S**4
    np.testing.assert_allclose(at.attractor_lyapunov.values, [0.0, floquet], atol=1e-9)
    mu = np.abs(at.attractor_eigenvalue_real.values + 1j * at.attractor_eigenvalue_imag.values)
    np.testing.assert_allclose(mu, [1.0, np.exp(2 * np.pi * floquet)], rtol=1e-8, atol=1e-12)
    assert int(at.attractor_index) == 0 and int(at.attractor_nullity) == 0
    assert str(at.attractor_lyapunov_method.values) == "floquet"
    # the automatic cell size is recorded with its rule
    assert ds.attrs["attractor_kinds_used"] == "any"
    assert ds.attrs["recurrence_cell_rule"].startswith("auto: largest spread")
    assert 0 < ds.attrs["recurrence_cell_size_used"] < 0.1


def test_without_collocation_the_period_comes_from_poincare_returns():
    options = HOPF.replace(refine_cycles=False)
    ds = basin_map(bistable_hopf(MU), {"x": [1.0], "y": [0.0, 0.5]}, options=options)
    at = ds.sel(attractor=rows_of(ds)["cycle"])
    assert str(at.attractor_period_method.values) == "poincare returns"
    # returns to a section of orbits integrated with rtol = 1e-9: 2 pi to 1e-6
    assert float(at.attractor_period) == pytest.approx(2 * np.pi, abs=1e-6)
    assert float(at.attractor_period_error) < 1e-6
    floquet = MU + 3 * R_S**2 - 5 * R_S**4
    np.testing.assert_allclose(at.attractor_lyapunov.values, [0.0, floquet], atol=1e-6)


def test_hopf_basin_map_is_split_by_the_unstable_cycle():
    ds = basin_map(bistable_hopf(MU), {"x": (-1.5, 1.5, 41), "y": (-1.5, 1.5, 41)}, options=HOPF)
    rows = rows_of(ds)
    r = np.hypot(ds.x.values[:, None], ds.y.values[None, :])
    label = ds.label.values
    band = 0.02
    assert np.all(label[r < R_U - band] == rows["point"])
    assert np.all(label[r > R_U + band] == rows["cycle"])
    assert (r < R_U - band).sum() > 20 and (r > R_U + band).sum() > 1000
    assert set(np.unique(label).tolist()) <= {0, 1}


def test_points_only_keeps_the_old_outcomes():
    options = HOPF.replace(attractor_kinds="points")
    ds = basin_map(bistable_hopf(MU), {"x": [0.1, 1.0], "y": [0.0]}, options=options)
    assert ds.attrs["attractor_kinds_used"] == "points"
    assert "recurrence_cell_size_used" not in ds.attrs
    # r = 1 goes to the stable cycle: without recurrence it runs out of time, as before
    assert int(ds.label.sel(x=1.0, y=0.0)) == -Status.TIME_LIMIT
    assert "raise `t_max`" in explain(-int(ds.label.sel(x=1.0, y=0.0)))


def test_gradient_flows_need_no_recurrence():
    from dynsys.models import double_well

    ds = basin_map(double_well(), {"x": [-1.2, 1.2], "y": [0.0]}, options=BasinOptions())
    assert ds.attrs["attractor_kinds_used"] == "points"
    assert ds.attractor_type.values.tolist() == ["point", "point"]


def test_rounds_chunks_and_resume_give_one_table(tmp_path):
    # a sequential run in rounds, cut in chunks, resumed from its folder, run on a process pool:
    # the cycle found in the first round is recognised in the later ones (its row does not
    # change), and the result does not depend on where the chunks ran
    system = bistable_hopf(MU)
    sampler = UniformBox(-HALF, HALF)
    options = HOPF.replace(target_width=0.2, chunk_size=50)
    ds = basin_probabilities(system, sampler, 100, seed=5, options=options, run_dir=tmp_path)
    assert ds.attrs["n_rounds"] == 1
    more = options.replace(target_width=0.01, max_samples=400)  # four rounds
    rounds = basin_probabilities(system, sampler, 100, seed=5, options=more)
    assert rounds.attrs["n_rounds"] == 4
    assert rounds.attrs["recurrence_n_searched"] < rounds.attrs["recurrence_n_followed"]
    assert rows_of(rounds).keys() == {"point", "cycle"}
    np.testing.assert_array_equal(rounds.label.values[:100], ds.label.values)
    again = basin_probabilities(system, sampler, 100, seed=5, options=options, run_dir=tmp_path)
    np.testing.assert_array_equal(again.label.values, ds.label.values)
    pool = basin_probabilities(
        system, sampler, 100, seed=5, options=options.replace(workers=2), executor="processes"
    )
    np.testing.assert_array_equal(pool.label.values, ds.label.values)
    np.testing.assert_array_equal(pool.attractor_samples.values, ds.attractor_samples.values)


def test_sweep_tracks_the_cycle_over_mu():
    values = [-0.2, -0.1, -0.05]
    ds = basin_probability_sweep(
        bistable_hopf(MU), "mu", values, UniformBox(-HALF, HALF), 300, seed=1, options=HOPF
    )
    assert ds.sizes["attractor"] == 2  # the origin and one cycle, followed over mu
    kinds = ds.attractor_type.values
    assert (kinds == kinds[:1]).all()  # the same row holds the same attractor at each value
    cycle = int(np.flatnonzero(kinds[0] == "cycle")[0])
    for i, mu in enumerate(values):
        drawn = ds.attractor_samples.isel(param=i, attractor=cycle).values
        drawn = drawn[np.isfinite(drawn).all(axis=1)]
        np.testing.assert_allclose(np.linalg.norm(drawn, axis=1), radii(mu)[1], atol=1e-6)
        assert float(ds.attractor_period[i, cycle]) == pytest.approx(2 * np.pi, abs=1e-6)
    # the disc r < r_u grows with mu: so does the probability of the origin
    origin = 1 - cycle
    exact = [np.pi * radii(mu)[0] ** 2 / (2 * HALF) ** 2 for mu in values]
    z = 3.29  # 99.9%
    p = ds.fraction.sel(attractor=origin).values
    assert np.all(np.abs(p - exact) <= z * np.sqrt(np.multiply(exact, 1 - np.array(exact)) / 300))
    assert np.isfinite(ds.recurrence_cell_size_used.values).all()


def test_result_saves_and_loads(tmp_path, hopf_probabilities):
    path = save(hopf_probabilities, tmp_path / "hopf.nc")
    back = load(path)
    for name in ("attractor_type", "attractor_kind", "attractor_lyapunov_method"):
        assert back[name].values.tolist() == hopf_probabilities[name].values.tolist()
    np.testing.assert_array_equal(
        back.attractor_samples.values, hopf_probabilities.attractor_samples
    )


def test_cell_size_of_the_wrong_length_is_an_error():
    options = HOPF.replace(recurrence=AttractorOptions(cell_size=[0.1, 0.1, 0.1]))
    with pytest.raises(InputError, match="one value or one per state"):
        basin_map(bistable_hopf(MU), {"x": [1.0], "y": [0.0]}, options=options)


LORENZ_BOX = UniformBox([-20.0, -25.0, 0.0], [20.0, 25.0, 50.0])
TRACE = -(10.0 + 1.0 + 8.0 / 3.0)
LAMBDA_1 = 0.9056


def lorenz_options(orbits: int, time: float = 100.0) -> BasinOptions:
    """A transient of 20 time units before the recurrence; Lyapunov exponents from ``orbits``
    orbits of ``0.9 time`` each (re-orthonormalized every 0.5: ``(l_1 - l_3) 0.5 = 7.7``)."""
    return BasinOptions(
        flow=FlowOptions(t_max=20.0),
        recurrence=AttractorOptions(
            dt=0.05, lyapunov_time=time, lyapunov_orbits=orbits, lyapunov_dt=0.5
        ),
    )


def check_lorenz(ds, tolerance: float) -> None:
    assert ds["attractor"].values.tolist() == [0]  # every orbit: one attractor
    at = ds.sel(attractor=0)
    assert str(at.attractor_type.values) == "chaotic"
    assert str(at.attractor_lyapunov_method.values) == "qr"
    lam, se = at.attractor_lyapunov.values, at.attractor_lyapunov_stderr.values
    assert abs(lam[0] - LAMBDA_1) < tolerance
    assert abs(lam[1]) < 4 * se[1] + 1e-3  # the exponent along the flow is 0
    assert lam.sum() == pytest.approx(TRACE, abs=1e-6)
    assert np.all(ds.status.values == Status.RECURRENT)
    drawn = at.attractor_samples.values
    drawn = drawn[np.isfinite(drawn).all(axis=1)]
    assert drawn[:, 0].min() < -10 < 10 < drawn[:, 0].max()  # both wings


def test_lorenz_has_one_chaotic_attractor_with_its_largest_exponent():
    # 64 Lyapunov orbits of 90 time units: standard error about 0.0025, so 0.01 is 4 of them
    ds = basin_probabilities(lorenz(), LORENZ_BOX, 300, seed=0, options=lorenz_options(64))
    assert float(ds.attractor_lyapunov_stderr[0, 0]) < 0.003
    check_lorenz(ds, 0.01)
    assert ds.attrs["recurrence_cell_rule"].startswith("auto")


def test_lorenz_starts_on_the_z_axis_reach_the_saddle_at_the_origin():
    # the z-axis is invariant and z' = -beta z there: orbits from it reach the origin, a saddle
    # (not an attractor); a start off the axis goes to the chaotic attractor
    plane = Plane({"x": [0.0, 1.0], "z": [10.0, 30.0]})
    ds = basin_map(lorenz(), plane, options=lorenz_options(2, time=20.0))
    on_axis = ds.label.sel(x=0.0).values
    assert np.all(on_axis == -Status.NOT_ATTRACTING)
    assert "not an attractor" in explain(Status.NOT_ATTRACTING)
    assert np.all(ds.status.sel(x=1.0).values == Status.RECURRENT)
    assert str(ds.attractor_type.sel(attractor=int(ds.label[1, 0])).values) == "chaotic"
