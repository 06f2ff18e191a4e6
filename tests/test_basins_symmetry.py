"""Attractors up to symmetry and their roles (teacher-student networks), parameter sweeps with
common random numbers, and runs from a spec table."""

import numpy as np
import pytest

from dynsys import System
from dynsys.basins import (
    BasinOptions,
    FlowOptions,
    NetworkInit,
    SmallBall,
    UniformBox,
    basin_probabilities,
    basin_probability_sweep,
)
from dynsys.cli.basins_spec import BASINS_TABLE, run_basins_table
from dynsys.cli.spec import validate
from dynsys.errors import SpecError
from dynsys.models import pitchfork_normal_form
from dynsys.models.relu import teacher_student
from dynsys.symmetry import PermutationSymmetry

DESCENT = FlowOptions(
    method="gradient_descent",
    learning_rate=0.1,
    converge_tol=1e-9 / (2 * np.pi),
    t_max=np.inf,
    max_steps=200_000,
)


@pytest.fixture(scope="module")
def two_units():
    """K = K* = d = 2, teacher the identity: every run ends at the teacher up to a swap."""
    system = teacher_student(np.eye(2))
    kw = {
        "options": BasinOptions(flow=DESCENT, chunk_size=60, keep_states=True),
        "reference": np.eye(2).ravel(),
        "seed": 0,
    }
    plain = basin_probabilities(system, NetworkInit(fan_in=2), 120, **kw)
    sym = basin_probabilities(
        system, NetworkInit(fan_in=2), 120, symmetry=PermutationSymmetry(2, 2), **kw
    )
    return plain, sym


def test_teacher_up_to_permutation_is_one_attractor(two_units):
    _, ds = two_units
    assert ds.sizes["attractor"] == 1
    assert ds.attractor_role.values.tolist() == ["teacher"]
    assert ds.attractor_kind.values.tolist() == ["minimum"]
    assert abs(float(ds.attractor_energy[0])) < 1e-14
    assert ds.fraction.values.tolist() == [1.0]
    # the teacher itself is the table's state, and the recorded element maps each end point
    # onto it: x_final[g] ~ teacher
    assert ds.attractor_origin.values.tolist() == ["reference"]
    assert ds.attractor_x.values[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    table = ds.permutation_table.values
    assert table[0].tolist() == [0, 1, 2, 3]  # row 0 is the identity
    teacher = np.eye(2).ravel()
    for x_final, k in zip(ds.x_final.values, ds.permutation.values, strict=True):
        assert np.abs(x_final[table[k]] - teacher).max() < 1e-8
    swapped = ds.permutation.values == 1
    assert table[1].tolist() == [2, 3, 0, 1] and 0 < swapped.sum() < 120
    assert np.all(np.abs(ds.x_final.values[swapped] - [0, 1, 1, 0]).max(axis=1) < 1e-8)


def test_without_symmetry_the_swapped_teacher_is_a_global_minimum(two_units):
    plain, sym = two_units
    assert plain.sizes["attractor"] == 2
    roles = dict(zip(plain.attractor_role.values.tolist(), plain.fraction.values, strict=True))
    assert set(roles) == {"teacher", "global minimum"}
    # the same runs: the teacher's share plus the swapped one's is everything
    assert np.array_equal(sym.x_final.values, plain.x_final.values)
    assert sum(roles.values()) == 1.0
    assert roles["teacher"] == np.mean(sym.permutation.values == 0)


def test_spurious_minimum_and_saddle_roles():
    # V = (x^2 - 1)^2/4 + x^3/10 + y^2/2: a deep (reference) and a shallow (spurious) minimum,
    # and the saddle between them, given beforehand; the flow in x is 1-D, so the basins are the
    # two sides of the saddle's x
    from dynsys import GradientSystem

    def V(x, p):
        return 0.25 * (x[..., 0] ** 2 - 1) ** 2 + 0.1 * x[..., 0] ** 3 + 0.5 * x[..., 1] ** 2

    system = GradientSystem(V, ["x", "y"])
    roots = np.sort(np.roots([1.0, 0.3, -1.0, 0.0]).real)  # V_x = x^3 + 0.3 x^2 - x
    deep = [roots[0], 0.0]
    ds = basin_probabilities(
        system,
        UniformBox([-2.0, -1.0], [2.0, 1.0]),
        200,
        seed=1,
        reference=deep,
        options=BasinOptions(reference_name="global", keep_states=True),
        attractors=[[roots[1], 0.0]],
    )
    # the given saddle is known but not an attractor: the table holds the two minima
    assert ds.attractor_origin.values.tolist() == ["reference", "found"]
    assert ds.attractor_kind.values.tolist() == ["minimum", "minimum"]
    by_role = {r: i for i, r in enumerate(ds.attractor_role.values)}
    assert set(by_role) == {"global", "spurious minimum"}
    assert np.allclose(ds.attractor_x.values[by_role["global"]], deep)
    # basins: left of the saddle's x goes to the global minimum (exact, 1-D in x)
    left = ds.x0.values[:, 0] < roots[1]
    assert np.all(ds.label.values[left] == by_role["global"])
    assert np.all(ds.label.values[~left] == by_role["spurious minimum"])


# ----------------------------------------------------------------------------- sweeps
def test_sweep_over_sampler_radius_uses_common_random_numbers():
    # x' = x - x^3 from a ball (an interval) about 0.5 of radius r: P(x > 0) = 1 for r <= 1/2,
    # (r + 1/2) / (2 r) beyond. With one seed the draws are the same points rescaled.
    radii = [0.25, 1.0, 2.0]
    ds = basin_probability_sweep(
        pitchfork_normal_form(),
        "radius",
        radii,
        SmallBall(centre=0.5, radius=1.0),
        2000,
        seed=4,
        options=BasinOptions(chunk_size=1000),
    )
    assert ds.fraction.dims == ("param", "attractor")
    assert ds.attrs["param_target"] == "sampler"
    right = int(np.argmax(ds.attractor_x.isel(param=0).sel(state="x").values))
    exact = [1.0, 0.75, 0.625]
    for i, p in enumerate(exact):
        assert float(ds.ci_low[i, right]) <= p <= float(ds.ci_high[i, right])
    # common random numbers: a draw that lands left of 0 at r = 1 does so at r = 2 as well
    left_1 = ds.label.values[1] != right
    assert np.all(ds.label.values[2][left_1] != right)
    assert np.all(ds.label.values[0] == right)


def _tilted(x, p):
    return np.stack([x[..., 0] - x[..., 0] ** 3 + p["c"], -x[..., 1]], axis=-1)


def test_sweep_over_system_parameter_tracks_the_attractors():
    system = System(_tilted, ["x", "y"], {"c": 0.0}, name="tilted")
    values = [-0.2, 0.0, 0.1, 0.2]
    ds = basin_probability_sweep(
        system,
        "c",
        values,
        UniformBox([-2.0, -1.0], [2.0, 1.0]),
        1500,
        seed=9,
        options=BasinOptions(chunk_size=1500),
    )
    assert ds.attrs["param_target"] == "system" and ds.sizes["attractor"] == 2
    x = ds.attractor_x.sel(state="x").values  # (param, attractor)
    for i, c in enumerate(values):
        left, saddle, right = np.sort(np.roots([-1.0, 0.0, 1.0, c]).real)
        assert np.allclose(np.sort(x[i]), [left, right], atol=1e-9)
        # the same global row is the right sink at every value
        r = int(np.argmax(x[0]))
        assert x[i, r] == pytest.approx(right)
        p_right = (2.0 - saddle) / 4.0
        assert float(ds.ci_low[i, r]) <= p_right <= float(ds.ci_high[i, r])
    # more tilt, more right basin; with common random numbers the labels are nested
    r = int(np.argmax(x[0]))
    lab = ds.label.values
    for i in range(len(values) - 1):
        assert np.all(lab[i + 1][lab[i] == r] == r)


def test_sweep_errors():
    with pytest.raises(ValueError, match="neither a parameter"):
        basin_probability_sweep(pitchfork_normal_form(), "nope", [1.0], UniformBox(), 10)


# ----------------------------------------------------------------------------- spec tables
def _from_table(system, table):
    return run_basins_table(system, validate({"basins": table}, {"basins": BASINS_TABLE})["basins"])


def test_runs_from_a_spec_table():
    ds = _from_table(
        pitchfork_normal_form(),
        {
            "mode": "probabilities",
            "n": 400,
            "seed": 3,
            "sampler": {"kind": "uniform", "low": -1.0, "high": 3.0},
            "flow": {"t_max": 100.0},
            "chunk_size": 200,
        },
    )
    assert ds.attrs["sampler"] == "UniformBox" and ds.attrs["flow_t_max"] == 100.0
    assert ds.attrs["chunk_size"] == 200
    right = int(np.argmax(ds.attractor_x.sel(state="x").values))
    assert ds.ci_low[right] <= 0.75 <= ds.ci_high[right]
    sweep = _from_table(
        pitchfork_normal_form(),
        {
            "mode": "sweep",
            "param": "mu",
            "values": [1.0, 4.0],
            "n": 100,
            "seed": 1,
            "sampler": {"kind": "ball", "centre": [0.0], "radius": 3.0},
        },
    )
    assert sweep.sizes["param"] == 2
    with pytest.raises(SpecError, match=r"unknown key\(s\) \['basins.gird'\]"):
        _from_table(pitchfork_normal_form(), {"mode": "map", "gird": {}})
    with pytest.raises(SpecError, match=r"`basins\.sampler\.kind`"):
        _from_table(pitchfork_normal_form(), {"mode": "probabilities", "sampler": {"kind": "cube"}})
    with pytest.raises(SpecError, match=r"`basins\.flow\.rtol` must be a positive number"):
        _from_table(
            pitchfork_normal_form(),
            {"mode": "probabilities", "sampler": {"kind": "uniform"}, "flow": {"rtol": -1.0}},
        )


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="`options` must be a BasinOptions"):
        basin_probabilities(pitchfork_normal_form(), UniformBox(), 10, options=FlowOptions())
    with pytest.raises(TypeError, match="`sampler`"):
        basin_probabilities(pitchfork_normal_form(), "uniform", 10)
    with pytest.raises(ValueError, match="`n`"):
        basin_probabilities(pitchfork_normal_form(), UniformBox(), 0)
    with pytest.raises(ValueError, match="`target_width`"):
        BasinOptions(target_width=2.0)
    with pytest.raises(ValueError, match="`match_tol`"):
        BasinOptions(match_tol=0.0)
    with pytest.raises(TypeError, match=r"`symmetry` must be a dynsys\.symmetry\.StateGroup"):
        basin_probabilities(pitchfork_normal_form(), UniformBox(), 10, symmetry=object())


def test_unit_and_input_permutations_merge_more_and_map_end_points_exactly():
    from dynsys.symmetry import UnitInputSymmetry

    # K = d = 8, teacher the identity: some runs end at spurious minima, which unit
    # permutations alone split into several rows; with input permutations too they are one
    K = 8
    system = teacher_student(np.eye(K))
    kw = {
        "options": BasinOptions(flow=DESCENT, keep_states=True),
        "reference": np.eye(K).ravel(),
        "seed": 5,
    }
    units = basin_probabilities(
        system, NetworkInit(fan_in=K), 100, symmetry=PermutationSymmetry(K, K), **kw
    )
    both = basin_probabilities(
        system, NetworkInit(fan_in=K), 100, symmetry=UnitInputSymmetry(K, K), **kw
    )
    assert units.sizes["attractor"] > both.sizes["attractor"] >= 2
    # the identity teacher's orbit is the same under both groups (permutation matrices)
    assert both.fraction.sel(attractor=0) == units.fraction.sel(attractor=0)
    assert both.attractor_role.values[0] == "teacher"
    spurious = units.attractor_role.values == "spurious minimum"
    assert units.n_orbits.values[spurious].sum() == both.n_orbits.values[1:].sum()
    table = both.permutation_table.values
    for x_final, label, k in zip(
        both.x_final.values, both.label.values, both.permutation.values, strict=True
    ):
        target = both.attractor_x.values[label]
        assert np.linalg.norm(x_final[table[k]] - target) <= 1e-4 * max(1, np.abs(target).max())
    # distinct rows are distinct orbits: no row matches another up to the group
    group = UnitInputSymmetry(K, K)
    rows = both.attractor_x.sel(attractor=both.attractor >= 0).values
    for i in range(len(rows)):
        for j in range(i):
            assert not group.match(rows[i], rows[j], 1e-4)[0]
