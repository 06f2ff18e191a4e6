"""Two-parameter continuation of folds: the fold curve of the cusp normal form with its cusp
point, and of the Bogdanov-Takens normal form with its BT point."""

import numpy as np
import pytest

from dynsys import Status
from dynsys.continuation import ContinuationOptions, continue_branch, continue_fold
from dynsys.errors import InputError, UnknownParameterError
from dynsys.models import bratu, fold_normal_form
from dynsys.system import System


def cusp_normal_form() -> System:
    """``x' = b1 + b2 x - x^3``: folds on ``b1 = -2 x^3``, ``b2 = 3 x^2``; cusp at the origin."""
    return System(
        lambda x, p: p["b1"] + p["b2"] * x - x**3,
        ["x"],
        {"b1": 0.0, "b2": 1.0},
        jac=lambda x, p: (p["b2"] - 3 * x**2)[..., None],
        dfdp=lambda x, p, name: np.ones_like(x) if name == "b1" else np.array(x),
    )


def bogdanov_takens_normal_form() -> System:
    """``x' = y, y' = b1 + b2 x + x^2 - x y``: folds on ``b1 = b2^2 / 4`` (at ``x = -b2/2``),
    Bogdanov-Takens point at the origin."""

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        return np.stack([y, p["b1"] + p["b2"] * x + x * x - x * y], -1)

    return System(f, ["x", "y"], {"b1": 0.25, "b2": -1.0})


def test_cusp_fold_curve_and_cusp_point():
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    branch = continue_branch(cusp_normal_form(), [1.3], "b1", params={"b1": 1.0}, options=opts)
    assert branch["special_type"].values.tolist() == ["LP", "LP"]
    curve = continue_fold(cusp_normal_form(), branch, "b1", "b2", options=opts)
    x = curve["x"].values[:, 0]
    np.testing.assert_allclose(curve["param"].values, -2 * x**3, atol=1e-12)
    np.testing.assert_allclose(curve["param2"].values, 3 * x**2, atol=1e-12)
    assert x.min() < -0.5 and x.max() > 0.5  # through the cusp to the other fold
    assert curve["special_type"].values.tolist() == ["CP"]
    np.testing.assert_allclose(
        [curve["special_param"][0], curve["special_param2"][0]], 0.0, atol=1e-10
    )
    assert curve["special_status"].values.tolist() == [Status.CONVERGED]
    # a = <p, B(q, q)>/2 = -3x with p . f_b1 = p > 0: it changes sign at the cusp
    np.testing.assert_allclose(curve["fold_a"].values, -3 * x, atol=1e-7)
    assert curve.attrs["continuation_param2"] == "b2"


def test_bogdanov_takens_point_on_the_fold_curve():
    opts = ContinuationOptions(ds_max=0.1, p_min=-2.0, p_max=2.0)
    branch = continue_branch(bogdanov_takens_normal_form(), [0.5, 0.0], "b1", options=opts)
    curve = continue_fold(bogdanov_takens_normal_form(), branch, "b1", "b2", options=opts)
    b1, b2 = curve["param"].values, curve["param2"].values
    np.testing.assert_allclose(b1, b2**2 / 4, atol=1e-12)
    np.testing.assert_allclose(curve["x"].values[:, 0], -b2 / 2, atol=1e-12)
    assert b2.min() == pytest.approx(-2.0) and b2.max() == pytest.approx(2.0)
    assert curve["special_type"].values.tolist() == ["BT"]  # a diverges there: no cusp
    np.testing.assert_allclose(
        [curve["special_param"][0], curve["special_param2"][0]], 0.0, atol=1e-10
    )


def test_fold_curve_from_a_state_and_from_a_sparse_system():
    system = cusp_normal_form()
    x_fold = 1 / np.sqrt(3)
    curve = continue_fold(
        system,
        [x_fold + 0.01],
        "b1",
        "b2",
        params={"b1": -2 * x_fold**3 + 0.001},
        options=ContinuationOptions(ds_max=0.2, p_max=2.0),
        direction=1,
    )
    assert curve["status"].sel(end="forward") == Status.PARAM_BOUND
    assert float(curve["param2"][-1]) == pytest.approx(2.0, abs=1e-12)
    assert float(curve["x"][-1, 0]) == pytest.approx(np.sqrt(2 / 3), abs=1e-10)
    # Bratu in (lam, scale) with f = lap u + lam exp(u) fold invariant: a curve in a single
    # parameter only exists with two; use the sparse system with a dummy second parameter
    # through a wrapper that scales lam.
    n = 40
    base = bratu(n, sparse=True)

    def f(u, p):
        return base.f(u, {"lam": p["lam"] * p["k"]})

    def jac(u, p):
        return base.jac(u, {"lam": p["lam"] * p["k"]})

    scaled = System(f, base.state_names, {"lam": 0.0, "k": 1.0}, jac=jac, probe=np.full(n, 0.1))
    assert scaled.jacobian_is_sparse
    opts = ContinuationOptions(ds_max=1.0, x_max=6.0)
    branch = continue_branch(scaled, np.zeros(n), "lam", options=opts, direction=1)
    lam_fold = float(branch["special_param"][0])
    curve = continue_fold(
        scaled, branch, "lam", "k", options=ContinuationOptions(ds_max=0.2, p_min=0.5, p_max=2.0)
    )
    # the fold lies at lam * k = lam_fold for every k
    np.testing.assert_allclose(curve["param"].values * curve["param2"].values, lam_fold, rtol=1e-9)


def test_fold_continuation_errors():
    branch = continue_branch(
        fold_normal_form(), [1.0], "mu", options=ContinuationOptions(p_max=1.0, ds_max=0.2)
    )
    with pytest.raises(UnknownParameterError, match="'nu' is not a parameter"):
        continue_fold(fold_normal_form(), branch, "mu", "nu")
    with pytest.raises(InputError, match="must differ"):
        continue_fold(fold_normal_form(), branch, "mu", "mu")
    system = cusp_normal_form()
    with pytest.raises(InputError, match="continued in 'mu', not in `param1`='b1'"):
        continue_fold(system, branch, "b1", "b2")
