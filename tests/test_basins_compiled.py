"""The compiled orbit loop and the stop regions of basin maps.

The compiled loop is checked against the numpy loop it reproduces (the same method and step
control: the same steps, end states equal to rounding) and against the Duffing oscillator's
symmetry; the stop regions against long integrations from points inside them and against the
labels of maps without them.
"""

import numpy as np
import pytest

import dynsys.integrate._compiled as compiled
from dynsys import Status
from dynsys.basins import BasinOptions, basin_map
from dynsys.basins._regions import checked_region, stop_regions
from dynsys.errors import InputError, InputTypeError, InvalidSystemError, OptionError
from dynsys.integrate import CompiledField, FlowOptions, StopRegions, flow
from dynsys.models import duffing, lorenz

pytest.importorskip("numba")

SINKS = np.array([[-1.0, 0.0], [1.0, 0.0]])
OPTIONS = FlowOptions(t_max=200.0, rtol=1e-8, atol=1e-10, converge_tol=1e-7)


def _starts():
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-2.0, 2.0, size=(300, 2))
    x0[0] = np.nan  # a non-finite start
    x0[1] = SINKS[1]  # converged at once
    x0[2] = [1e5, 0.0]  # escapes (radius below)
    return x0


def test_compiled_flow_reproduces_the_numpy_loop():
    x0 = _starts()
    options = OPTIONS.replace(escape_radius=1e4)
    fast = flow(duffing(), x0, options=options)
    slow = flow(duffing().with_compiled_field(None), x0, options=options)
    assert fast.attrs["engine"] == "compiled" and slow.attrs["engine"] == "numpy"
    for name in ("status", "n_steps", "n_rejected"):
        np.testing.assert_array_equal(fast[name].values, slow[name].values)
    np.testing.assert_allclose(fast.x_final.values, slow.x_final.values, rtol=0, atol=1e-9)
    # step sizes come from powers of the error norm, which numpy evaluates with its own
    # vectorized routine (last-bit differences): the times agree to accumulated rounding
    np.testing.assert_allclose(fast.t_final.values, slow.t_final.values, rtol=1e-6)
    assert fast.status.values[0] == Status.NONFINITE
    assert fast.status.values[1] == Status.CONVERGED and fast.n_steps.values[1] == 0
    assert fast.status.values[2] == Status.ESCAPED
    assert fast.attrs["n_evaluations"] == slow.attrs["n_evaluations"]


def test_compiled_flow_time_limit_and_step_budget():
    x0 = _starts()[3:40]
    for options in (OPTIONS.replace(t_max=3.0), OPTIONS.replace(max_steps=7)):
        fast = flow(duffing(), x0, options=options)
        slow = flow(duffing().with_compiled_field(None), x0, options=options)
        np.testing.assert_array_equal(fast.status.values, slow.status.values)
        np.testing.assert_allclose(fast.x_final.values, slow.x_final.values, atol=1e-9)
    assert set(fast.status.values.tolist()) == {int(Status.MAX_STEPS)}


def test_compiled_flow_does_not_depend_on_the_threads(monkeypatch):
    x0 = _starts()
    two = flow(duffing(), x0, options=OPTIONS)
    monkeypatch.setattr(compiled, "compiled_threads", lambda: 1)
    one = flow(duffing(), x0, options=OPTIONS)
    np.testing.assert_array_equal(one.x_final.values, two.x_final.values)
    np.testing.assert_array_equal(one.n_steps.values, two.n_steps.values)


def test_chunks_side_by_side_on_threads_give_the_serial_map(monkeypatch):
    """A map of many chunks runs them on threads of this process (each chunk's compiled loop on
    one thread); its labels, steps and end points are those of the chunks run one by one."""
    import threading

    import dynsys._execution as execution
    from dynsys.basins import _work

    seen = []
    call = _work.FlowWork.__call__

    def recording(self, task):
        seen.append((threading.current_thread().name, compiled.compiled_threads()))
        return call(self, task)

    monkeypatch.setattr(_work.FlowWork, "__call__", recording)
    monkeypatch.setattr(compiled.os, "sched_getaffinity", lambda pid: {0, 1})  # two cores
    grid = {"x": (-2.0, 2.0, 40), "v": (-2.0, 2.0, 40)}
    options = BasinOptions(chunk_size=100)  # 16 chunks: at least four per thread
    threaded = basin_map(duffing(), grid, attractors=SINKS, options=options)
    assert {name.split("_")[0] for name, _ in seen} == {execution.CHUNK_THREADS}
    assert {threads for _, threads in seen} == {1}  # one thread per chunk beside the others
    seen.clear()
    monkeypatch.setattr(execution, "_in_process_threads", lambda work, tasks: 1)
    serial = basin_map(duffing(), grid, attractors=SINKS, options=options)
    assert {name for name, _ in seen} == {threading.current_thread().name}
    for name in ("label", "status", "n_steps", "t_final"):
        np.testing.assert_array_equal(threaded[name].values, serial[name].values, err_msg=name)


def test_few_chunks_run_one_by_one_with_the_threads_inside():
    from dynsys._execution import _in_process_threads
    from dynsys.basins._work import FlowWork

    class Work:
        def in_process_threads(self):
            return 2

    assert _in_process_threads(Work(), list(range(8))) == 2
    assert _in_process_threads(Work(), list(range(7))) == 1  # fewer than four per thread
    assert _in_process_threads(lambda task: task, list(range(100))) == 1  # work without it
    numpy_path = FlowWork(duffing().with_compiled_field(None), {}, FlowOptions())
    assert numpy_path.in_process_threads() == 1  # the numpy path holds the GIL
    saving = FlowWork(duffing(), {}, FlowOptions(save_times=(0.0, 1.0)))
    assert saving.in_process_threads() == 1  # saved states: the numpy path too


def test_compiled_path_only_where_it_applies():
    x0 = _starts()[3:6]
    assert flow(duffing(), x0, options=OPTIONS.replace(method="dop853")).engine == "numpy"
    saved = OPTIONS.replace(save_times=(0.0, 1.0))
    assert flow(duffing(), x0, options=saved).engine == "numpy"
    assert flow(lorenz(), x0[:, [0, 1, 1]], options=OPTIONS).engine == "numpy"


def test_duffing_map_is_symmetric_under_the_point_reflection():
    """f(-x) = -f(x): the orbit from -x0 is minus the orbit from x0, so on a grid symmetric
    about the origin the label of -x0 is the other sink's."""
    ds = basin_map(duffing(), {"x": (-2, 2, 24), "v": (-2, 2, 24)}, attractors=SINKS)
    label = ds.label.values
    assert set(np.unique(label).tolist()) == {0, 1}
    np.testing.assert_array_equal(label[::-1, ::-1], 1 - label)


def test_stop_regions_keep_the_labels_of_the_arrival_rule():
    grid = {"x": (-2, 2, 30), "v": (-2, 2, 30)}
    only = BasinOptions(stop_regions=True, trapping_regions=False)
    fast = basin_map(duffing(), grid, attractors=SINKS, options=only)
    plain = basin_map(
        duffing().with_compiled_field(None),
        grid,
        attractors=SINKS,
        options=BasinOptions(trapping_regions=False),
    )
    np.testing.assert_array_equal(fast.label.values, plain.label.values)
    np.testing.assert_array_equal(fast.status.values, plain.status.values)
    assert fast.attrs["stop_regions_used"] == 2 and "stop_regions_used" not in plain.attrs
    assert fast.arrived_in_region.values.mean() > 0.9
    assert "arrived_in_region" not in plain
    # they stopped earlier, inside the region: far from the sink compared with |f| <= 1e-7
    assert float(fast.t_final.mean()) < 0.5 * float(plain.t_final.mean())


def test_stop_regions_on_the_numpy_path_agree_with_the_compiled_path():
    grid = {"x": (-2, 2, 16), "v": (-2, 2, 16)}
    options = BasinOptions(stop_regions=True, trapping_regions=False)
    fast = basin_map(duffing(), grid, attractors=SINKS, options=options)
    slow = basin_map(duffing().with_compiled_field(None), grid, attractors=SINKS, options=options)
    np.testing.assert_array_equal(fast.label.values, slow.label.values)
    np.testing.assert_array_equal(fast.arrived_in_region.values, slow.arrived_in_region.values)
    np.testing.assert_array_equal(fast.n_steps.values, slow.n_steps.values)


def _inside(P, c, center, k, rng):
    """``k`` points uniform in the ellipse (x - center)^T P (x - center) <= c."""
    evals, evecs = np.linalg.eigh(P)
    root_inv = evecs @ np.diag(evals**-0.5) @ evecs.T
    angle = rng.uniform(0, 2 * np.pi, k)
    radius = np.sqrt(c * rng.uniform(0, 1, k))
    w = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return center + w @ root_inv.T


@pytest.mark.parametrize("delta", [0.25, 0.05, 1.0])
def test_a_stop_region_lies_in_its_basin(delta):
    """Orbits from points inside the region (and on its rim) followed for a long time with the
    numpy loop and no region reach the region's sink, and V decreases along them."""
    system = duffing(delta=delta)
    p = system.resolve_params()
    rng = np.random.default_rng(7)
    for center in SINKS:
        P, c = checked_region(system, p, center)
        x0 = _inside(P, c, center, 300, rng)
        rim = _inside(P, c, center, 100, rng)
        rim = (
            center
            + (rim - center)
            / np.sqrt(np.einsum("mi,ij,mj->m", rim - center, P, rim - center) / c)[:, None]
        )
        starts = np.concatenate([x0, rim])
        times = tuple(np.linspace(0.0, 30.0, 61))
        options = FlowOptions(t_max=2000.0, rtol=1e-10, atol=1e-12, converge_tol=1e-10)
        ds = flow(system.with_compiled_field(None), starts, options=options)
        assert (ds.status.values == Status.CONVERGED).all()
        np.testing.assert_allclose(
            ds.x_final.values, center[None].repeat(len(starts), 0), atol=1e-8
        )
        path = flow(
            system.with_compiled_field(None), starts, options=options.replace(save_times=times)
        ).x_saved.values
        e = path - center
        V = np.einsum("mti,ij,mtj->mt", e, P, e)
        assert np.all(np.diff(V, axis=1) <= 1e-14)


def test_no_region_around_a_saddle_or_a_centre():
    system = duffing()
    p = system.resolve_params()
    assert checked_region(system, p, np.zeros(2)) is None  # the saddle
    undamped = duffing(delta=0.0)
    assert checked_region(undamped, undamped.resolve_params(), SINKS[1]) is None  # a centre
    regions = stop_regions(system, p, np.concatenate([SINKS, [[0.0, 0.0]]]), np.arange(3))
    assert regions.rows.tolist() == [0, 1]


def test_compiled_field_bad_input():
    with pytest.raises(InputError, match=r"package\.module:name"):
        CompiledField("no_colon")
    with pytest.raises(InputTypeError, match="CompiledField"):
        duffing().with_compiled_field("dynsys.models._compiled_fields:duffing")
    with pytest.raises(InvalidSystemError, match="parameters"):
        duffing().with_compiled_field(
            CompiledField("dynsys.models._compiled_fields:duffing", ("delta", "alpha"))
        )


def test_stop_regions_bad_input():
    x0 = np.ones((2, 2))
    with pytest.raises(InputTypeError, match="StopRegions"):
        flow(duffing(), x0, options=OPTIONS, stop_regions=[SINKS])
    good = StopRegions(SINKS, np.stack([np.eye(2)] * 2), np.full(2, 0.01), np.arange(2))
    with pytest.raises(InputError, match="dopri5 and dop853"):
        flow(
            duffing(),
            x0,
            options=FlowOptions(method="rosenbrock23"),
            stop_regions=good,
        )
    wrong = StopRegions(np.zeros((1, 3)), np.eye(3)[None], np.ones(1), np.zeros(1, int))
    with pytest.raises(InputError, match="dimension"):
        flow(duffing(), x0, options=OPTIONS, stop_regions=wrong)
    with pytest.raises(OptionError, match="stop_regions"):
        BasinOptions(stop_regions="yes")


def test_a_stop_region_in_three_states_lies_in_its_basin():
    """Lorenz below r = 1: the origin attracts; orbits from points of its region (sampled on the
    rim of the ellipsoid) converge to it with V decreasing."""
    system = lorenz(r=0.5)
    p = system.resolve_params()
    P, c = checked_region(system, p, np.zeros(3))
    u = np.random.default_rng(5).standard_normal((200, 3))
    evals, evecs = np.linalg.eigh(P)
    w = np.sqrt(c) * u / np.linalg.norm(u, axis=1, keepdims=True)
    starts = w @ (evecs @ np.diag(evals**-0.5) @ evecs.T).T
    options = FlowOptions(
        t_max=50.0, rtol=1e-10, atol=1e-12, save_times=tuple(np.linspace(0, 5, 51))
    )
    ds = flow(system, starts, options=options)
    V = np.einsum("mti,ij,mtj->mt", ds.x_saved.values, P, ds.x_saved.values)
    assert np.all(np.diff(V, axis=1) < 0)
    assert np.all(np.linalg.norm(ds.x_final.values, axis=1) < 1e-6 * np.sqrt(c))


def test_no_region_for_more_than_three_states():
    from dynsys import System

    big = System(lambda x, p: -x, 4, name="decay")
    assert checked_region(big, {}, np.zeros(4)) is None
