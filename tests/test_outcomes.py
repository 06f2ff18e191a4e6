"""One outcome table for every batch result: flow orbits, Newton items, fixed points, basin
labels, continuation runs and graph edges carry codes of :class:`dynsys.Status`, each declared in
``RESULTS`` for its kind of result, stored as a CF flag variable with the same names everywhere,
and explained (meaning and fix) by :func:`dynsys.explain`."""

import numpy as np
import pytest

from dynsys import (
    BasinOptions,
    ContinuationOptions,
    FlowOptions,
    NewtonOptions,
    Status,
    System,
    basin_map,
    continue_branch,
    critical_point_graph,
    explain,
    find_fixed_points,
    flow,
    status_names,
)
from dynsys._newton import dense_solver, newton_batch
from dynsys._status import RESULTS, status_attrs
from dynsys.graph import to_dataset
from dynsys.models import double_well, fold_normal_form


def _stiff():
    def f(x, p):
        return np.stack([-x[..., 0] + x[..., 1], -(x[..., 1] - x[..., 0] ** 2) / 1e-6], axis=-1)

    def jac(x, p):
        one = np.ones(x.shape[:-1])
        rows = [np.stack([-one, one], -1), np.stack([2e6 * x[..., 0], -1e6 * one], -1)]
        return np.stack(rows, axis=-2)

    return System(f, ["x", "y"], jac=jac, name="stiff")


def _riccati():
    return System(lambda x, p: x**2 - 1.0, ["x"], name="riccati")


def _codes(values) -> set[Status]:
    return {Status(int(c)) for c in np.asarray(values).ravel()}


def _flow_codes() -> set[Status]:
    x0 = [[0.0], [0.99999], [2.0], [np.nan], [-0.5]]
    codes = set()
    for options in (
        FlowOptions(t_max=5.0, converge_tol=1e-8, escape_radius=1e3),  # time limit, escape
        FlowOptions(t_max=50.0, converge_tol=1e-8, max_steps=3),  # step limit
        FlowOptions(t_max=50.0, converge_tol=1e-8, min_step=0.5, first_step=1.0),  # underflow
        FlowOptions(t_max=50.0, converge_tol=1e-5),  # convergence, non-finite start
    ):
        ds = flow(_riccati(), x0, options=options)
        assert ds["status"].attrs["flag_meanings"] == status_attrs()["flag_meanings"]
        codes |= _codes(ds["status"])
    return codes


def _newton_codes() -> set[Status]:
    def residual(x):
        return np.stack([x[:, 0] ** 2 + 1.0, x[:, 1]], axis=-1)  # no real root in x

    def jacobian(x):
        J = np.zeros((len(x), 2, 2))
        J[:, 0, 0], J[:, 1, 1] = 2 * x[:, 0], 1.0
        return J

    x0 = np.array([[1.0, 1.0], [0.0, 1.0], [np.inf, 0.0]])
    run = newton_batch(residual, dense_solver(jacobian), x0, NewtonOptions(max_iter=5))
    identity = dense_solver(lambda x: np.broadcast_to(np.eye(2), (len(x), 2, 2)))
    good = newton_batch(lambda x: x - 1.0, identity, x0[:1], NewtonOptions())
    return _codes(run.status) | _codes(good.status)


def _basin_codes() -> set[Status]:
    codes = set()
    known = [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]
    well = basin_map(double_well(), {"x": [-1.0, 0.0, 1.0], "y": [-1.0, 1.0]}, attractors=known)
    codes |= _codes(well["status"])
    stiff = basin_map(_stiff(), {"x": (-2.0, 2.0, 9), "y": (-2.0, 2.0, 9)})
    codes |= _codes(stiff["status"])
    off = basin_map(
        double_well(),
        {"x": [-1.5, 1.5], "y": [0.5]},
        options=BasinOptions(discover=False),
    )
    codes |= _codes(off["status"])
    for ds in (well, stiff, off):
        # a negative label is minus the outcome code, and the outcome rows are named after it
        labels, status = ds["label"].values, ds["status"].values
        assert np.all(status[labels < 0] == -labels[labels < 0])
        for label in ds["attractor"].values[ds["attractor"].values < 0]:
            assert ds["attractor_kind"].sel(attractor=label).item() == Status(-label).name.lower()
    return codes


def _continuation_codes() -> set[Status]:
    codes = set()
    for options in (ContinuationOptions(p_max=1.5), ContinuationOptions(max_points=5)):
        branch = continue_branch(fold_normal_form(), [1.0], "mu", options=options)
        codes |= _codes(branch["status"]) | _codes(branch["special_status"])
    return codes


def _graph_codes() -> set[Status]:
    G = critical_point_graph(_stiff(), [[0.0, 0.0], [1.0, 1.0]])
    H = critical_point_graph(double_well(), [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    stored = to_dataset(G)["status"]  # saved the CF way, like every other result
    assert (
        stored.dtype == np.int8 and stored.attrs["flag_meanings"] == status_attrs()["flag_meanings"]
    )
    return {Status(d["status"]) for g in (G, H) for _, _, d in g.edges(data=True)}


def test_every_code_has_a_name_a_meaning_and_a_fix():
    attrs = status_attrs()
    assert attrs["flag_values"].tolist() == [s.value for s in Status]
    assert attrs["flag_meanings"].split() == [s.name.lower() for s in Status]
    for code in Status:
        text = explain(code)
        name, _, rest = text.partition(": ")
        assert name == code.name.lower() == status_names([code])[0]
        assert " Fix: " in rest and len(rest.split(" Fix: ")[0]) > 20
        assert explain(code.name.lower()) == explain(int(code)) == text
        assert any(code in RESULTS[kind] for kind in RESULTS)
    for bad in ("converged-ish", 99, None):
        with pytest.raises(ValueError, match="not an outcome code or name"):
            explain(bad)


@pytest.mark.parametrize(
    ("kind", "produce"),
    [
        ("flow", _flow_codes),
        ("newton", _newton_codes),
        ("basins", _basin_codes),
        ("continuation", _continuation_codes),
        ("graph", _graph_codes),
    ],
)
def test_every_batch_result_carries_codes_of_the_one_table(kind, produce):
    seen = produce()
    assert seen, kind
    assert seen <= set(RESULTS[kind]), f"{kind} produced {seen - set(RESULTS[kind])}"
    for code in seen:
        assert explain(code).startswith(code.name.lower() + ": ")
    assert len(seen) >= {"flow": 6, "newton": 3, "basins": 4, "continuation": 3, "graph": 2}[kind]


def test_fixed_points_report_converged_points_only():
    ds = find_fixed_points(double_well(), np.random.default_rng(0).uniform(-2, 2, (30, 2)))
    assert _codes(ds["status"]) == {Status.CONVERGED} <= set(RESULTS["fixed_points"])
    assert ds["status"].attrs["flag_meanings"] == status_attrs()["flag_meanings"]
