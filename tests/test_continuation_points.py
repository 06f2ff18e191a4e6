"""The points of a run held as arrays (dynsys.continuation._points): a sequence of Point whose
rows, monitored as columns, hold what the Point objects and the problem's monitored dicts would."""

import numpy as np
import pytest

from dynsys.continuation import ContinuationOptions
from dynsys.continuation._branch import equilibrium_problem
from dynsys.continuation._palc import Point
from dynsys.continuation._points import Points, monitor_points
from dynsys.models import lorenz

OPTIONS = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)


def _pending(problem, us):
    """Points at ``us`` with made-up tangents, pending on their state Jacobians."""
    out = []
    for k, u in enumerate(us):
        t = np.linspace(1.0, 2.0, u.size) * (-1) ** k
        J = problem.state_jacobian(u)
        out.append(Point(u, t / np.linalg.norm(t), k, (-1) ** k, 0.5 * k, {}, J))
    return out


@pytest.fixture
def problem():
    return equilibrium_problem(lorenz(), "r", None, OPTIONS)[0]


def _states(count):
    r = np.linspace(2.0, 28.0, count)
    x = np.sqrt(8.0 / 3.0 * (r - 1.0))
    return [np.array([a, a, b - 1.0, b]) for a, b in zip(x, r, strict=True)]


def test_points_are_a_sequence_of_the_points_they_hold(problem):
    listed = _pending(problem, _states(5))
    points = Points.of(listed)
    assert len(points) == 5
    assert points[0] is listed[0] and points[-1] is listed[4]  # the given Points stay the rows'
    assert [p.iterations for p in points[1:3]] == [1, 2]
    with pytest.raises(IndexError):
        points[5]
    np.testing.assert_array_equal(points.u, np.array([p.u for p in listed]))
    np.testing.assert_array_equal(points.det_sign, [1, -1, 1, -1, 1])
    made = Points(points.u, points.t, points.iterations, points.det_sign, points.det_log)
    p = made[3]
    assert (p.iterations, p.det_sign, p.det_log) == (3, -1, 1.5)
    assert isinstance(p.iterations, int) and isinstance(p.det_log, float)
    assert made[3] is p  # made once


def test_columns_hold_the_values_of_the_monitored_dicts(problem):
    listed = _pending(problem, _states(6))
    dicts = problem.monitor_many([p.u for p in listed], [p.pending for p in listed])
    points = Points.of(_pending(problem, _states(6)))
    early = points[2]  # made before the monitoring: it gets its data then
    monitor_points(problem, [points])
    assert isinstance(points.data, dict) and points.pending is None
    for k, expected in enumerate(dicts):
        row = points[k].data
        assert list(row) == list(expected)
        for key, value in expected.items():
            if key == "eig":
                np.testing.assert_array_equal(row[key], value)
            else:
                assert row[key] == value and type(row[key]) is type(value), key
    assert early.data["kind"] == dicts[2]["kind"] and early.pending is None
    np.testing.assert_array_equal(points.column("index"), [d["index"] for d in dicts])


def test_rows_read_backward_and_concatenated(problem):
    points = Points.of(_pending(problem, _states(4)))
    monitor_points(problem, [points])
    back = points.rows(3, 0, -1, flip=True)
    assert len(back) == 3
    np.testing.assert_array_equal(back.u, points.u[3:0:-1])
    np.testing.assert_array_equal(back.t, -points.t[3:0:-1])
    np.testing.assert_array_equal(back.det_sign, -points.det_sign[3:0:-1])
    np.testing.assert_array_equal(back.column("hopf"), points.column("hopf")[3:0:-1])
    joined = Points.concatenate([back, points])
    assert len(joined) == 7
    assert joined[3].data["index"] == points[0].data["index"]
    np.testing.assert_array_equal(joined.u[3:], points.u)


def test_points_of_a_mixed_list_are_refused(problem):
    listed = _pending(problem, _states(2))
    listed[0].pending = None
    with pytest.raises(AssertionError, match="all pending or all monitored"):
        Points.of(listed)
