"""The Map type and gradient descent as a map: checked against closed forms."""

import numpy as np
import pytest

from dynsys import InputTypeError, InvalidSystemError, flow
from dynsys.errors import InputError
from dynsys.fixedpoints import find_fixed_points
from dynsys.maps import Map, gradient_descent_map, require_map
from dynsys.models import double_well, mueller_brown


def logistic() -> Map:
    return Map(
        lambda x, p: p["r"] * x * (1 - x),
        ["x"],
        {"r": 3.2},
        jac=lambda x, p: (p["r"] * (1 - 2 * x))[..., None],
        name="logistic",
    )


def test_logistic_two_cycle_closed_form():
    # period-2 points of r x (1 - x): (r + 1 -+ sqrt((r - 3)(r + 1))) / (2 r)
    r = 3.2
    m = logistic()
    x = m.iterate([0.3], 2000)
    pair = np.sort([x[0], m.g(x)[0]])
    root = np.sqrt((r - 3) * (r + 1))
    expected = np.sort([(r + 1 - root) / (2 * r), (r + 1 + root) / (2 * r)])
    np.testing.assert_allclose(pair, expected, atol=1e-12)


def test_gradient_descent_map_is_x_minus_eta_grad():
    system = mueller_brown()
    gd = gradient_descent_map(system, step=1e-4)
    x = np.array([[-0.5, 1.4], [0.6, 0.03], [0.1, 0.4]])
    np.testing.assert_allclose(gd.g(x), x - 1e-4 * system.gradient(x), rtol=1e-14)
    np.testing.assert_allclose(
        gd.jac(x), np.eye(2) - 1e-4 * system.hessian(x), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(gd.dgdp(x, "eta"), -system.gradient(x), rtol=1e-13)
    # the energy is the system's, whatever the step
    np.testing.assert_allclose(gd.potential(x, {"eta": 0.3}), system.potential(x))


def test_double_well_descent_multiplier_is_one_minus_eta_curvature():
    # V'' = 3x^2 - 1 = 2 at x = 1: the multiplier is 1 - 2 eta, -1 at eta = 1
    gd = gradient_descent_map(double_well(), step=1.0)
    J = gd.jac([1.0, 0.0])
    assert J[0, 0] == pytest.approx(-1.0, abs=1e-12)
    assert J[1, 1] == pytest.approx(0.0, abs=1e-12)


def test_gradient_descent_map_step_errors():
    with pytest.raises(InputError, match="positive finite"):
        gradient_descent_map(double_well(), step=-1.0)
    with pytest.raises(InputError, match="already a parameter"):
        gradient_descent_map(logistic_flow(), step_name="r")
    with pytest.raises(InputTypeError, match="must be a dynsys System"):
        gradient_descent_map(logistic())


def logistic_flow():
    from dynsys import System

    return System(lambda x, p: p["r"] * x * (1 - x), ["x"], {"r": 1.0})


def test_flow_algorithms_refuse_a_map_by_name():
    with pytest.raises(InputTypeError, match=r"takes a flow .* is a Map"):
        flow(logistic(), [[0.1]])
    with pytest.raises(InputTypeError, match="is a Map"):
        find_fixed_points(logistic(), [[0.1]])
    with pytest.raises(InputTypeError, match="gradient_descent_map"):
        require_map(double_well(), "find_cycles()")


def test_map_checks_its_callables():
    with pytest.raises(InvalidSystemError, match="`g` returned shape"):
        Map(lambda x, p: x[..., :1].sum(), ["a", "b"])
    with pytest.raises(InvalidSystemError, match="`g` must be callable"):
        Map(3.0, 1)
    with pytest.raises(InvalidSystemError, match="disagrees with finite differences"):
        Map(lambda x, p: x**2, 1, jac=lambda x, p: (3 * x)[..., None], probe=[0.7])
    assert logistic().describe()["system_kind"] == "map"
