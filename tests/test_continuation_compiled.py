"""The compiled predictor-corrector loop (dynsys.continuation._compiled): for models that declare
their Jacobian and parameter derivative in compiled code it gives the Python loop's branches bit
for bit (points, tangents, iterations, special points, counts, stop reasons); other systems stay
on the Python loop; a one-off small diagram in a fresh process does not load numba."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dynsys import Status
from dynsys.continuation import (
    ContinuationOptions,
    _compiled,
    bifurcation_diagram,
    continue_branch,
)
from dynsys.continuation._branch import equilibrium_problem
from dynsys.errors import InputError
from dynsys.fixedpoints import NewtonOptions
from dynsys.models import duffing, lorenz, pitchfork_normal_form
from dynsys.system import CompiledField, System

pytest.importorskip("numba")

REPO = Path(__file__).resolve().parent.parent
HOPF_R = 470.0 / 19.0
LORENZ_OPTIONS = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
MODELS = "_compiled_test_models"  # tests/_compiled_test_models.py


@pytest.fixture(autouse=True)
def _compiled_at_once(monkeypatch):
    monkeypatch.setattr(_compiled, "WARM_UP_POINTS", 0)


def _stack(*columns):
    return np.stack(np.broadcast_arrays(*columns), axis=-1)


def fold_system(mu=0.5, c=2.0, compiled=True):
    """``x' = mu - x^2 - y, y' = x - c y``: equilibria ``y = x / c``, ``mu = x^2 + x / c``, a
    fold at ``x = -1 / (2 c)``, ``mu = -1 / (4 c^2)``."""

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        return _stack(p["mu"] - x * x - y, x - p["c"] * y)

    def jac(s, p):
        x = s[..., 0]
        zero = np.zeros_like(x)
        rows = [_stack(-2.0 * x, zero - 1.0), _stack(zero + 1.0, zero - p["c"])]
        return np.stack(rows, axis=-2)

    def dfdp(s, p, name):
        x, y = s[..., 0], s[..., 1]
        zero = np.zeros_like(x)
        return _stack(zero + 1.0, zero) if name == "mu" else _stack(zero, -y)

    system = System(f, ["x", "y"], {"mu": mu, "c": c}, jac=jac, dfdp=dfdp, name="fold2")
    if not compiled:
        return system
    return system.with_compiled_field(
        CompiledField(
            f"{MODELS}:fold_field",
            ("mu", "c"),
            jacobian=f"{MODELS}:fold_jacobian",
            param_derivative=f"{MODELS}:fold_param_derivative",
        )
    )


def circle_system(mu=0.0):
    """``x' = x^2 + mu^2 - 1``: the unit circle of equilibria in ``(x, mu)``."""

    def f(s, p):
        return s * s + p["mu"] * p["mu"] - 1.0

    def jac(s, p):
        return (2.0 * s)[..., None]

    def dfdp(s, p, name):
        return np.zeros_like(s) + 2.0 * p["mu"]

    return System(f, ["x"], {"mu": mu}, jac=jac, dfdp=dfdp, name="circle").with_compiled_field(
        CompiledField(
            f"{MODELS}:circle_field",
            ("mu",),
            jacobian=f"{MODELS}:circle_jacobian",
            param_derivative=f"{MODELS}:circle_param_derivative",
        )
    )


def assert_same_branch(a, b):
    """Two branch Datasets equal bit for bit (variables, coordinates, attributes)."""
    assert a.sizes == b.sizes
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.variables:
        x, y = a[name].values, b[name].values
        assert x.shape == y.shape, name
        if x.dtype.kind in "fc":
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x.tolist() == y.tolist(), name
    drop = ("created",)  # the creation time
    assert {k: v for k, v in a.attrs.items() if k not in drop} == {
        k: v for k, v in b.attrs.items() if k not in drop
    }


def test_only_declared_small_dense_systems_get_the_compiled_loop():
    def has_loop(system, param):
        return equilibrium_problem(system, param, None, LORENZ_OPTIONS)[0].compiled_loop

    assert has_loop(lorenz(), "r") is not None
    assert has_loop(fold_system(), "mu") is not None
    assert has_loop(lorenz().with_compiled_field(None), "r") is None
    assert has_loop(fold_system(compiled=False), "mu") is None
    assert has_loop(pitchfork_normal_form(), "mu") is None
    assert has_loop(duffing(), "alpha") is None  # a compiled field, but no derivatives


def test_a_system_without_the_declaration_runs_the_python_loop(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the compiled loop ran")

    monkeypatch.setattr(_compiled, "_run", refuse)
    branch = continue_branch(
        lorenz(r=0.5).with_compiled_field(None), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS
    )
    assert branch.sizes["step"] > 10
    with pytest.raises(AssertionError, match="compiled loop ran"):
        continue_branch(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)


def test_lorenz_diagram_is_the_python_loops_bit_for_bit():
    fast = bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    slow = bifurcation_diagram(
        lorenz(r=0.5).with_compiled_field(None), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS
    )
    assert sorted(fast.children) == sorted(slow.children) == ["branch0", "branch1"]
    for name in fast.children:
        assert_same_branch(fast[name].dataset, slow[name].dataset)
    sizes = [fast[name].dataset.sizes["step"] for name in sorted(fast.children)]
    assert sizes == [77, 193]
    second = fast["branch1"].dataset
    types = second["special_type"].values.tolist()
    r = second["special_param"].values
    assert types.count("H") == 2 and types.count("BP") == 1
    assert np.max(np.abs(r[np.array(types) == "H"] - HOPF_R)) < 1e-10
    assert abs(float(fast["branch0"].dataset["special_param"][0]) - 1.0) < 1e-10


def test_a_numba_that_cannot_call_by_address_leaves_the_python_loop_with_a_warning(monkeypatch):
    # the kernels call the model's functions through numba function values built by hand
    # (dynsys._first_class.function_at); should a numba release lay those out otherwise, the
    # probe fails and the diagram is the Python loop's, with one warning
    from dynsys import _address_check

    python = _compiled.python_run
    runs = []

    def python_run(*args, **kwargs):
        runs.append(1)
        return python(*args, **kwargs)

    monkeypatch.setattr(_address_check, "calls_by_address", lambda: False)
    monkeypatch.setattr(_compiled, "python_run", python_run)
    _compiled._kernel_loads.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="cannot call functions by address"):
            tree = bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    finally:
        _compiled._kernel_loads.cache_clear()
    assert runs  # every run went to the Python loop
    slow = bifurcation_diagram(
        lorenz(r=0.5).with_compiled_field(None), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS
    )
    for name in slow.children:
        assert_same_branch(tree[name].dataset, slow[name].dataset)


def test_fold_branch_is_the_python_loops_bit_for_bit():
    c = 2.0
    options = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    x0 = [(-1.0 / c + np.sqrt(1.0 / c**2 + 4 * 0.5)) / 2, 0.0]
    x0[1] = x0[0] / c
    fast = continue_branch(fold_system(), x0, "mu", options=options)
    slow = continue_branch(fold_system(compiled=False), x0, "mu", options=options)
    assert_same_branch(fast, slow)
    assert fast["special_type"].values.tolist() == ["LP"]
    assert abs(float(fast["special_param"][0]) + 1.0 / (4 * c * c)) < 1e-12
    assert fast.sizes["step"] == slow.sizes["step"] > 20
    assert fast["status"].values.tolist() == [Status.PARAM_BOUND, Status.PARAM_BOUND]


@pytest.mark.parametrize(
    ("options", "stop"),
    [
        (ContinuationOptions(ds_max=0.3), Status.CLOSED_LOOP),
        (ContinuationOptions(ds_max=0.1, max_points=7), Status.MAX_POINTS),
        (ContinuationOptions(ds_max=0.2, x_max=0.5), Status.STATE_BOUND),
        (ContinuationOptions(ds=0.5, ds_min=0.4, ds_max=0.5), Status.STEP_UNDERFLOW),
    ],
)
def test_every_stop_is_the_python_loops(options, stop):
    system = circle_system()
    fast = continue_branch(system, [1.0], "mu", options=options, direction=1)
    slow = continue_branch(
        system.with_compiled_field(None), [1.0], "mu", options=options, direction=1
    )
    assert_same_branch(fast, slow)
    assert fast["status"].values.tolist() == [stop]


def test_compiled_field_declares_both_derivatives_or_neither():
    with pytest.raises(InputError, match="both"):
        CompiledField(f"{MODELS}:fold_field", ("mu", "c"), jacobian=f"{MODELS}:fold_jacobian")
    with pytest.raises(InputError, match="param_derivative"):
        CompiledField(f"{MODELS}:fold_field", jacobian="a:b", param_derivative="nomodule")
    assert not CompiledField(f"{MODELS}:fold_field", ("mu", "c")).has_derivatives
    with pytest.raises(InputError, match="no derivatives"):
        CompiledField(f"{MODELS}:fold_field", ("mu", "c")).load_derivatives()


def test_a_one_off_small_diagram_does_not_load_numba_and_a_session_does():
    """A fresh process runs its first few hundred points on the Python loop (loading numba
    would cost more than they do), then moves to the compiled loop."""
    code = (
        "import json, sys\n"
        "from dynsys.continuation import ContinuationOptions, bifurcation_diagram\n"
        "from dynsys.continuation import _compiled\n"
        "from dynsys.models import lorenz\n"
        "options = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)\n"
        "run = lambda: bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], 'r', options=options)\n"
        "first = run()\n"
        "numba_first = 'numba' in sys.modules\n"
        "second = run()\n"
        "same = all(first[k].dataset.drop_attrs().identical(second[k].dataset.drop_attrs())\n"
        "           for k in first.children)\n"
        "print(json.dumps([numba_first, _compiled._Process.loaded, same]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, True, True]


def test_compiled_derivatives_are_declared_for_continuation_only():
    system = lorenz()
    assert system.compiled_field is None  # integration stays on numpy
    assert system.compiled_derivatives.params == ("sigma", "r", "beta")
    assert system.with_params(r=3.0).compiled_derivatives == system.compiled_derivatives
    assert system.with_compiled_derivatives(None).compiled_derivatives is None
    assert system.with_compiled_field(None).compiled_derivatives is None
    both = fold_system()  # declared with with_compiled_field: integration and continuation
    assert both.compiled_field is both.compiled_derivatives
    with pytest.raises(InputError, match="must declare `jacobian`"):
        system.with_compiled_derivatives(
            CompiledField(f"{MODELS}:fold_field", ("sigma", "r", "beta"))
        )


@pytest.mark.parametrize("chunk", [2, 7])
def test_a_run_longer_than_a_chunk_goes_on_where_it_stopped(monkeypatch, chunk):
    monkeypatch.setattr(_compiled, "CHUNK", chunk)
    fast = bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    slow = bifurcation_diagram(
        lorenz(r=0.5).with_compiled_field(None), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS
    )
    for name in slow.children:
        assert_same_branch(fast[name].dataset, slow[name].dataset)
    system = circle_system()
    options = ContinuationOptions(ds_max=0.3)
    fast = continue_branch(system, [1.0], "mu", options=options, direction=1)
    slow = continue_branch(
        system.with_compiled_field(None), [1.0], "mu", options=options, direction=1
    )
    assert_same_branch(fast, slow)
    assert fast["status"].values.tolist() == [Status.CLOSED_LOOP]


def _problems(system, param, options):
    """The problem of ``system`` with its compiled functions loaded, and the problem of the same
    system without its compiled declaration (numpy throughout)."""
    fast = equilibrium_problem(system, param, None, options)[0]
    fast.compiled_functions = _compiled.CompiledFunctions(fast)
    slow = equilibrium_problem(system.with_compiled_field(None), param, None, options)[0]
    assert slow.compiled_loop is None and slow.compiled_functions is None
    return fast, slow


def _same_correction(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    (ua, ia, pa), (ub, ib, pb) = a, b
    np.testing.assert_array_equal(ua, ub)
    assert ia == ib
    if pa is None or pb is None:
        assert pa is None and pb is None
        return
    np.testing.assert_array_equal(pa.t, pb.t)
    np.testing.assert_array_equal(pa.pending, pb.pending)
    assert (pa.det_sign, pa.det_log, pa.iterations) == (pb.det_sign, pb.det_log, pb.iterations)


@pytest.mark.parametrize("border", ["row", "other"])
def test_a_compiled_trial_point_is_newton_then_evaluate_bit_for_bit(border):
    """The location of special points corrects trial points by one compiled call (Newton and
    then the tangent and determinant of evaluate), and evaluate is one compiled call, where the
    model has compiled derivatives: the values of the numpy path, and its failures."""
    from dynsys.continuation._linalg import SingularMatrixError
    from dynsys.continuation._palc import corrected, evaluate

    r, beta = 20.0, 8.0 / 3.0
    x = np.sqrt(beta * (r - 1.0))
    cases = [
        (lorenz(r=r), "r", np.array([x, x, r - 1.0, r]) + 1e-3, LORENZ_OPTIONS),
        (fold_system(), "mu", np.array([0.3, 0.16, 0.2]), LORENZ_OPTIONS),
    ]
    for system, param, guess, options in cases:
        fast, slow = _problems(system, param, options)
        row = np.linspace(0.2, 1.0, guess.size)
        row /= np.linalg.norm(row)
        other = row[::-1].copy() if border == "other" else row
        for max_iter in (options.newton.max_iter, 1):  # converges, then fails
            options_ = ContinuationOptions(ds_max=0.5, newton=NewtonOptions(max_iter=max_iter))
            for defer in (True, False):
                a = corrected(fast, guess, row, float(row @ guess), other, options_, defer=defer)
                b = corrected(slow, guess, row, float(row @ guess), other, options_, defer=defer)
                _same_correction(a, b)
                assert (a is None) == (max_iter == 1)
                if a is not None and not defer:
                    assert a[2].data["index"] == b[2].data["index"]
            u = guess + 1e-3  # evaluated where it is, on the branch or not
            a = (u, 0, evaluate(fast, u, other, defer=True))
            _same_correction(a, (u, 0, evaluate(slow, u, other, defer=True)))
    # exactly on a turning point of the circle, bordered by the direction it cannot turn to:
    # Newton converges, the bordered Jacobian is singular
    fast, slow = _problems(circle_system(), "mu", LORENZ_OPTIONS)
    guess, row, singular = np.array([1.1, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 0.0])
    a = corrected(fast, guess, row, 0.0, singular, LORENZ_OPTIONS, defer=True)
    b = corrected(slow, guess, row, 0.0, singular, LORENZ_OPTIONS, defer=True)
    _same_correction(a, b)
    assert a[2] is None and abs(a[0][0] - 1.0) < 1e-12
    for problem in (fast, slow):
        with pytest.raises(SingularMatrixError):
            evaluate(problem, a[0], singular)


@pytest.mark.parametrize("param", ["mu", "c"])
def test_compiled_jacobian_stencil_gives_the_python_derivatives(param):
    """The normal forms' Jacobian derivatives from the compiled stencil equal those of the
    Jacobian calls, bit for bit (a Jacobian that depends on the state)."""
    from dynsys.continuation._compiled import CompiledFunctions
    from dynsys.continuation._normal_forms import jacobian_derivatives

    problem, _ = equilibrium_problem(fold_system(), param, None, ContinuationOptions())
    functions = CompiledFunctions(problem)
    rng = np.random.default_rng(3)
    for _ in range(50):
        u = rng.normal(size=3) * 10.0 ** rng.integers(-3, 3)
        jac = functions.state_jacobian_in(u)
        x, d = u[:2], rng.normal(size=2)
        for second in (False, True):
            ours = jacobian_derivatives(jac, x, d, second=second)
            theirs = jacobian_derivatives(lambda z, jac=jac: jac(z), x, d, second=second)
            for a, b in zip(*((ours, theirs) if second else ((ours,), (theirs,))), strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("param", ["mu", "c"])
def test_compiled_residual_jacobian_stencil_gives_the_python_derivatives(param):
    """The branch switch's derivatives of ``[J, f_p]`` from the compiled stencil equal those of
    the problem's Jacobian calls, bit for bit (the continued parameter varies with the point)."""
    from dynsys.continuation._compiled import CompiledFunctions
    from dynsys.continuation._normal_forms import jacobian_derivatives

    problem, _ = equilibrium_problem(fold_system(), param, None, ContinuationOptions())
    problem.compiled_functions = None  # (set already once the process has loaded the loop)
    assert problem.jacobian_function() == problem.jacobian
    problem.compiled_functions = CompiledFunctions(problem)
    jac = problem.jacobian_function()
    rng = np.random.default_rng(4)
    for _ in range(50):
        u = rng.normal(size=3) * 10.0 ** rng.integers(-3, 3)
        d = rng.normal(size=3)
        np.testing.assert_array_equal(jac(u), problem.jacobian(u))
        for second in (False, True):
            ours = jacobian_derivatives(jac, u, d, second=second)
            theirs = jacobian_derivatives(problem.jacobian, u, d, second=second)
            for a, b in zip(*((ours, theirs) if second else ((ours,), (theirs,))), strict=True):
                np.testing.assert_array_equal(a, b)
