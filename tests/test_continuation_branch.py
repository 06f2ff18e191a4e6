"""Pseudo-arclength continuation of one branch: folds, bounds, closed loops, stability along the
branch, sparse Jacobians, options and errors. Every expected value comes from mathematics."""

import re

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

from dynsys import Status, explain
from dynsys._status import RESULTS
from dynsys.continuation import ContinuationError, ContinuationOptions, continue_branch
from dynsys.errors import InputError, InputTypeError, OptionError, UnknownParameterError
from dynsys.fixedpoints import NewtonOptions
from dynsys.models import bratu, fold_normal_form
from dynsys.system import GradientSystem, System

# Continuum Bratu fold: lambda = 8 s^2 / cosh(s)^2 with s tanh(s) = 1.
_S = scipy.optimize.brentq(lambda s: s * np.tanh(s) - 1.0, 1.0, 2.0)
BRATU_CONTINUUM_FOLD = 8.0 * _S**2 / np.cosh(_S) ** 2


def scaled_fold(c: float) -> System:
    """``x' = mu - c x^2``: fold at mu = 0 with quadratic coefficient ``-c``."""
    return System(
        lambda x, p: p["mu"] - c * x**2,
        ["x"],
        {"mu": 1.0},
        jac=lambda x, p: -2.0 * c * x[..., None],
        dfdp=lambda x, p, name: np.ones_like(x),
    )


# ---------------------------------------------------------------------------- fold normal form
def test_fold_normal_form_fold_at_zero_with_coefficient_minus_one():
    opts = ContinuationOptions(ds_max=0.2, p_max=1.0)
    branch = continue_branch(fold_normal_form(), [1.0], "mu", options=opts)
    assert branch["special_type"].values.tolist() == ["LP"]
    assert abs(float(branch["special_param"][0])) < 1e-10
    assert abs(float(branch["special_x"][0, 0])) < 1e-5  # x ~ sqrt(|mu| error)
    assert branch["special_status"].values.tolist() == [Status.CONVERGED]
    assert float(branch["special_fold_a"][0]) == pytest.approx(-1.0, abs=1e-8)
    assert abs(int(branch["special_delta_index"][0])) == 1
    x, mu = branch["x"].values[:, 0], branch["param"].values
    np.testing.assert_allclose(x**2, mu, atol=1e-12)
    # both halves, each ending exactly on the bound mu = 1
    assert x.min() == pytest.approx(-1.0, abs=1e-12) and x.max() == pytest.approx(1.0, abs=1e-12)
    assert branch["status"].sel(end="backward") == Status.PARAM_BOUND
    # x > 0 is the stable node (eigenvalue -2x), x < 0 the source
    np.testing.assert_allclose(branch["eigenvalue_real"].values[:, 0], -2 * x, atol=1e-12)
    assert np.all(branch["stable"].values[x > 1e-6]) and not np.any(branch["stable"].values[x < 0])


@pytest.mark.parametrize("c", [0.5, 3.0, -2.0])
def test_fold_coefficient_predicts_the_side_of_the_equilibria(c):
    start = 1.0 if c > 0 else -1.0
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    branch = continue_branch(scaled_fold(c), [1.0], "mu", params={"mu": start}, options=opts)
    assert branch["special_type"].values.tolist() == ["LP"]
    a = float(branch["special_fold_a"][0])
    assert a == pytest.approx(-c, rel=1e-8)
    # a < 0: equilibria above the fold value; a > 0: below
    assert np.all(np.sign(branch["param"].values) * np.sign(a) <= 0)


def test_tight_corrector_tolerance_keeps_points_on_the_branch():
    opts = ContinuationOptions(
        ds_max=0.1, p_max=2.0, newton=NewtonOptions(step_tol=1e-15, max_iter=8)
    )
    branch = continue_branch(fold_normal_form(mu=2.0), [np.sqrt(2.0)], "mu", options=opts)
    x, mu = branch["x"].values[:, 0], branch["param"].values
    assert np.abs(x**2 - mu).max() <= 4e-15


# ---------------------------------------------------------------------------- stops
def test_bounds_end_exactly_on_the_parameter_bound():
    opts = ContinuationOptions(ds_max=0.3, p_min=0.25, p_max=1.7)
    branch = continue_branch(fold_normal_form(), [1.0], "mu", options=opts, direction=1)
    assert branch["status"].sel(end="forward") == Status.PARAM_BOUND
    assert float(branch["param"][-1]) == pytest.approx(1.7, abs=1e-12)
    assert float(branch["x"][-1, 0]) == pytest.approx(np.sqrt(1.7), abs=1e-10)
    assert np.all(np.diff(branch["arclength"].values) > 0)


def test_state_bound_and_max_points_stop_a_run():
    runaway = continue_branch(
        fold_normal_form(),
        [1.0],
        "mu",
        options=ContinuationOptions(ds_max=0.5, x_max=3.0),
        direction=1,
    )
    assert runaway["status"].sel(end="forward") == Status.STATE_BOUND
    assert np.abs(runaway["x"].values).max() <= 3.0
    short = continue_branch(
        fold_normal_form(), [1.0], "mu", options=ContinuationOptions(max_points=5), direction=-1
    )
    assert short.sizes["step"] == 5 and short["status"].sel(end="backward") == Status.MAX_POINTS
    assert np.all(np.diff(short["param"].values) < 0)  # direction -1: parameter decreasing


def test_closed_branch_is_detected_as_a_loop_with_two_folds():
    circle = System(lambda x, p: 1.0 - x**2 - p["p"] ** 2, ["x"], {"p": 0.0})
    branch = continue_branch(circle, [1.0], "p", options=ContinuationOptions(ds_max=0.2))
    assert branch["status"].sel(end="forward") == Status.CLOSED_LOOP
    assert branch["end"].values.tolist() == ["forward"]  # no need to go back
    x, p = branch["x"].values[:, 0], branch["param"].values
    np.testing.assert_allclose(x**2 + p**2, 1.0, atol=1e-10)
    np.testing.assert_allclose([x[0], p[0]], [x[-1], p[-1]], atol=1e-12)  # the loop closes
    assert sorted(branch["special_type"].values.tolist()) == ["LP", "LP"]
    np.testing.assert_allclose(np.sort(branch["special_param"].values), [-1.0, 1.0], atol=1e-10)


# ---------------------------------------------------------------------------- gradient systems
def tilted_double_well() -> GradientSystem:
    """``V = x^4/4 - x^2/2 - c x + y^2/2``: folds at ``c = +-2/(3 sqrt 3)``."""
    return GradientSystem(
        lambda s, p: (
            s[..., 0] ** 4 / 4 - s[..., 0] ** 2 / 2 - p["c"] * s[..., 0] + s[..., 1] ** 2 / 2
        ),
        ["x", "y"],
        {"c": 0.0},
        grad=lambda s, p: np.stack([s[..., 0] ** 3 - s[..., 0] - p["c"], s[..., 1]], -1),
    )


def test_gradient_folds_exchange_minimum_and_index_one_saddle():
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    branch = continue_branch(tilted_double_well(), [1.0, 0.0], "c", options=opts)
    c_fold = 2 / (3 * np.sqrt(3))
    assert branch["special_type"].values.tolist() == ["LP", "LP"]
    np.testing.assert_allclose(
        np.sort(branch["special_param"].values), [-c_fold, c_fold], atol=1e-10
    )
    np.testing.assert_allclose(np.abs(branch["special_x"].values[:, 0]), 1 / np.sqrt(3), atol=1e-6)
    x = branch["x"].values[:, 0]
    kind = branch["kind"].values
    outer = np.abs(x) > 1 / np.sqrt(3) + 1e-3
    inner = np.abs(x) < 1 / np.sqrt(3) - 1e-3
    assert set(kind[outer]) == {"minimum"} and set(kind[inner]) == {"saddle-1"}
    assert np.array_equal(branch["index"].values[outer], np.zeros(outer.sum()))
    assert sorted(np.abs(branch["special_delta_index"].values).tolist()) == [1, 1]


# ---------------------------------------------------------------------------- Bratu
def bratu_fold_independent(n: int) -> float:
    """The discrete Bratu fold from Newton (scipy.optimize.root) on the extended system
    ``f(u, lam) = 0``, ``J(u, lam) v = 0``, ``|v|^2 = 1`` from a rough analytic guess."""
    h = 1.0 / (n + 1)
    grid = np.arange(1, n + 1) * h
    lap = np.diag(-2 * np.ones(n)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    lap /= h * h

    def extended(z):
        u, lam, v = z[:n], z[n], z[n + 1 :]
        J = lap + np.diag(lam * np.exp(u))
        return np.concatenate([lap @ u + lam * np.exp(u), J @ v, [v @ v - 1.0]])

    guess = np.concatenate([4.4 * grid * (1 - grid), [3.5], np.sin(np.pi * grid) / np.sqrt(n / 2)])
    sol = scipy.optimize.root(extended, guess, method="hybr", options={"xtol": 1e-14})
    # MINPACK may report "xtol too small" once it sits at rounding level: judge the residual
    assert np.abs(extended(sol.x)).max() < 1e-8, sol.message
    return float(sol.x[n])


@pytest.mark.parametrize("n", [20, 100])
def test_bratu_fold_matches_the_extended_system(n):
    opts = ContinuationOptions(ds_max=1.0, x_max=6.0)
    branch = continue_branch(bratu(n, lam=0.0), np.zeros(n), "lam", options=opts, direction=1)
    folds = branch["special_type"].values == "LP"
    assert folds.sum() == 1
    lam_fold = float(branch["special_param"].values[folds][0])
    assert lam_fold == pytest.approx(bratu_fold_independent(n), abs=1e-8)
    assert float(branch["special_fold_a"].values[folds][0]) > 0  # solutions exist below it
    # lower branch stable, upper branch index 1 (the fold exchanges one eigenvalue)
    steps = branch["step"].values
    k = int(branch["special_step"].values[folds][0])
    assert np.all(branch["index"].values[steps <= k] == 0)
    assert np.all(branch["index"].values[steps > k + 1] == 1)


def test_bratu_sparse_agrees_with_dense():
    opts = ContinuationOptions(ds_max=1.0, x_max=6.0)
    dense = continue_branch(bratu(60, lam=0.0), np.zeros(60), "lam", options=opts, direction=1)
    sparse = continue_branch(
        bratu(60, lam=0.0, sparse=True), np.zeros(60), "lam", options=opts, direction=1
    )
    assert sparse.attrs["eigenvalues"] == "6 of smallest modulus"
    assert sparse.attrs["index_method"].startswith("inertia")
    assert sparse.sizes["mode"] == 6
    np.testing.assert_allclose(sparse["param"].values, dense["param"].values, atol=1e-10)
    np.testing.assert_array_equal(sparse["index"].values, dense["index"].values)
    np.testing.assert_allclose(
        sparse["special_param"].values, dense["special_param"].values, atol=1e-10
    )
    # the monitored eigenvalues are the six of smallest modulus of the dense spectrum
    lam_dense = dense["eigenvalue_real"].values
    smallest = np.sort(np.take_along_axis(lam_dense, np.argsort(np.abs(lam_dense), 1)[:, :6], 1))
    np.testing.assert_allclose(np.sort(sparse["eigenvalue_real"].values), smallest, atol=1e-8)


def test_bratu_2000_sparse_reaches_its_fold():
    n = 2000
    system = bratu(n, lam=0.0, sparse=True)
    assert sp.issparse(system.jac(np.zeros(n)))
    opts = ContinuationOptions(ds=0.5, ds_max=5.0, x_max=3.0)
    branch = continue_branch(system, np.zeros(n), "lam", options=opts, direction=1)
    assert branch["special_type"].values.tolist()[:1] == ["LP"]
    lam_fold = float(branch["special_param"][0])
    # second-order discretisation: |error| ~ 1.8 h^2 with h = 1/(n + 1)
    assert abs(lam_fold - BRATU_CONTINUUM_FOLD) < 3.0 / (n + 1) ** 2
    assert set(branch["index"].values[: int(branch["special_step"][0]) + 1]) == {0}


# ---------------------------------------------------------------------------- options, errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ds": -0.1}, "`ds` must be a positive number; got -0.1"),
        ({"ds": 1.0, "ds_max": 0.5}, "got 1.0"),
        ({"ds_max": np.inf}, "`ds_max` must be a positive number; got inf"),
        ({"ds_min": 1.0}, "`ds_min` must be at most ds_max=0.1; got 1.0"),
        ({"max_points": 1}, "`max_points` must be an integer >= 2; got 1"),
        ({"p_min": 2.0, "p_max": 1.0}, "`p_min` must be below p_max=1.0; got 2.0"),
        ({"p_max": np.nan}, "`p_max` must be a number"),
        ({"newton": NewtonOptions(step_tol=1e-17)}, "got 1e-17"),
        ({"locate_tol": 1e-17}, "`locate_tol` must be a number in [1e-16, inf); got 1e-17"),
        ({"lyapunov": 1}, "`lyapunov` must be True or False; got 1"),
        ({"detect": ("LP", "XX")}, "`detect` must be a list of distinct values from"),
        ({"detect": "LP"}, "`detect` must be a list of distinct values from"),
        ({"n_eigen": 0}, "`n_eigen` must be a positive integer; got 0"),
    ],
)
def test_options_reject_bad_values_and_print_them(kwargs, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        ContinuationOptions(**kwargs)


def test_corrector_tolerance_has_a_floor_named_by_its_nested_key():
    """NewtonOptions allows step_tol = 0; the corrector needs at least 1e-15."""
    with pytest.raises(OptionError, match=r"`newton\.step_tol` must be >= 1e-15") as info:
        ContinuationOptions(newton=NewtonOptions(step_tol=1e-16))
    assert info.value.option == "newton.step_tol"
    assert "got 1e-16" in str(info.value)
    assert ContinuationOptions(newton=NewtonOptions(step_tol=1e-15)).newton.step_tol == 1e-15


def test_options_defaults_and_provenance_attributes():
    opts = ContinuationOptions()
    assert opts.newton == NewtonOptions(step_tol=1e-10, max_iter=8)
    assert opts.detect == ("LP", "BP", "H", "IC", "PD", "NS", "LPC")
    assert ContinuationOptions(detect=["LP", "H"]).detect == ("LP", "H")
    branch = continue_branch(
        fold_normal_form(),
        [1.0],
        "mu",
        options=ContinuationOptions(ds_max=0.2, p_max=1.0, detect=("BP",)),
    )
    assert branch.sizes["special"] == 0  # the fold is not looked for, and no IC either
    attrs = branch.attrs
    assert attrs["newton_step_tol"] == 1e-10 and attrs["newton_max_iter"] == 8
    assert attrs["detect"] == "BP" and attrs["ds_max"] == 0.2 and attrs["lyapunov"] == 1
    assert "stop_reason_forward" not in attrs and "stop_reason_backward" not in attrs


def test_every_stop_reason_is_a_continuation_status_whose_explanation_names_the_option():
    # the stop reasons, each with the option a user changes to go further (or none)
    options_named = {
        Status.PARAM_BOUND: "p_max",
        Status.STATE_BOUND: "x_max",
        Status.MAX_POINTS: "max_points",
        Status.STEP_UNDERFLOW: "ds_min",
        Status.CLOSED_LOOP: "closed curve",
    }
    for code, option in options_named.items():
        assert code in RESULTS["continuation"]
        assert option in explain(code)
    assert Status.CONVERGED in RESULTS["continuation"]  # special points: located ...
    assert Status.MAX_ITER in RESULTS["continuation"]  # ... or not
    # the stops branches actually end with, stored as CF flag variables over `end`
    circle = System(lambda x, p: 1.0 - x**2 - p["p"] ** 2, ["x"], {"p": 0.0})
    runs = [
        continue_branch(fold_normal_form(), [1.0], "mu", options=ContinuationOptions(p_max=1.5)),
        continue_branch(
            fold_normal_form(), [1.0], "mu", options=ContinuationOptions(ds_max=0.5, x_max=3.0)
        ),
        continue_branch(fold_normal_form(), [1.0], "mu", options=ContinuationOptions(max_points=5)),
        continue_branch(circle, [1.0], "p", options=ContinuationOptions(ds_max=0.2)),
        continue_branch(  # a corrector that never converges: the step underflows at once
            fold_normal_form(),
            [1.0],
            "mu",
            options=ContinuationOptions(
                ds=1e-3, ds_min=1e-3, newton=NewtonOptions(step_tol=1e-15, max_iter=1)
            ),
            direction=1,
        ),
    ]
    seen = set()
    for branch in runs:
        status = branch["status"]
        assert status.dims == ("end",) and status.dtype == np.int8
        assert set(branch["end"].values.tolist()) <= {"backward", "forward"}
        assert status.attrs["flag_meanings"].split()[Status.PARAM_BOUND] == "param_bound"
        assert all(Status(int(c)) in RESULTS["continuation"] for c in status.values)
        assert all(Status(int(c)) in RESULTS["continuation"] for c in branch["special_status"])
        seen.update(Status(int(c)) for c in status.values)
    assert seen == set(options_named)


def test_bad_input_raises_clear_errors():
    system = fold_normal_form()
    with pytest.raises(UnknownParameterError, match="'nu' is not a parameter"):
        continue_branch(system, [1.0], "nu")
    with pytest.raises(UnknownParameterError):
        continue_branch(system, [1.0], "mu", params={"nu": 1.0})
    with pytest.raises(InputError, match=r"`x0` has shape \(2,\)"):
        continue_branch(system, [1.0, 2.0], "mu")
    with pytest.raises(InputError, match="`direction` must be"):
        continue_branch(system, [1.0], "mu", direction=2)
    with pytest.raises(InputError, match="outside"):
        continue_branch(system, [1.0], "mu", options=ContinuationOptions(p_max=0.5))
    with pytest.raises(ContinuationError, match="not close enough"):
        continue_branch(system, [1.0], "mu", params={"mu": -1.0})  # no equilibrium at mu < 0
    with pytest.raises(InputTypeError, match="ContinuationOptions"):
        continue_branch(system, [1.0], "mu", options={"ds": 0.1})


def test_progress_bar_runs(capsys):
    branch = continue_branch(
        fold_normal_form(), [1.0], "mu", progress=True, options=ContinuationOptions(max_points=20)
    )
    assert branch.sizes["step"] > 2


# ---------------------------------------------------------------------------- the Dataset
@pytest.mark.parametrize("shortcut", [True, False])
def test_the_branch_dataset_is_the_one_xarrays_constructor_builds(monkeypatch, shortcut):
    """Branch Datasets skip xarray's constructor (dynsys._dataset.indexed_dataset); the result
    is what the constructor gives from the same variables, coordinates and attributes, also
    with no special points and on an xarray without the shortcut."""
    import xarray as xr

    from dynsys import _dataset

    monkeypatch.setattr(_dataset, "_SHORTCUT", shortcut)
    opts = ContinuationOptions(ds_max=0.2, p_max=1.0)
    for branch in (
        continue_branch(fold_normal_form(), [1.0], "mu", options=opts),
        continue_branch(fold_normal_form(), [1.0], "mu", options=opts, direction=1),
    ):
        variables = {name: branch[name].variable for name in branch.data_vars}
        coords = {name: branch[name].values for name in branch.coords}
        built = xr.Dataset(variables, coords=coords, attrs=branch.attrs)
        assert branch.identical(built)
        assert list(branch.variables) == list(built.variables)
        assert dict(branch.sizes) == dict(built.sizes)
        assert all(branch[v].dtype == built[v].dtype for v in branch.variables)
        assert list(branch.xindexes) == list(built.xindexes) == list(branch.coords)
    assert branch.sizes["special"] == 0
