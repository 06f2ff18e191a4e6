"""System and GradientSystem: evaluation, derivatives, and the construction-time checks."""

import numpy as np
import pytest

from dynsys import GradientSystem, InvalidSystemError, System, UnknownParameterError
from dynsys.models import bratu, brusselator, double_well, duffing, lorenz, mueller_brown


def lorenz_field(s, p):
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    return np.stack([p["sigma"] * (y - x), p["r"] * x - y - x * z, x * y - p["beta"] * z], -1)


def lorenz_jacobian_by_hand(x, y, z, sigma=10.0, r=28.0, beta=8.0 / 3.0):
    return np.array([[-sigma, sigma, 0.0], [r - z, -1.0, -x], [y, x, -beta]])


def test_finite_difference_jacobian_matches_analytic_lorenz():
    fd = System(lorenz_field, ["x", "y", "z"], {"sigma": 10.0, "r": 28.0, "beta": 8.0 / 3.0})
    assert not fd.has_analytic_jacobian
    rng = np.random.default_rng(0)
    states = rng.uniform(-30, 30, size=(50, 3))
    J_fd = fd.jac(states)
    J_exact = np.stack([lorenz_jacobian_by_hand(*s) for s in states])
    assert J_fd.shape == (50, 3, 3)
    np.testing.assert_allclose(J_fd, J_exact, atol=1e-6, rtol=0)
    # the analytic one the model ships agrees with the hand-written matrix exactly
    np.testing.assert_allclose(lorenz().jac(states), J_exact, rtol=0, atol=1e-13)


def test_batching_over_any_leading_shape():
    system = duffing()
    x = np.random.default_rng(1).normal(size=(4, 5, 2))
    assert system.f(x).shape == (4, 5, 2)
    assert system.jac(x).shape == (4, 5, 2, 2)
    np.testing.assert_allclose(system.f(x)[2, 3], system.f(x[2, 3]))


def test_parameter_overrides_and_with_params():
    system = lorenz()
    s = np.array([1.0, 2.0, 3.0])
    assert system.f(s, {"r": 1.0})[1] == pytest.approx(1.0 * 1 - 2 - 1 * 3)
    assert system.params["r"] == 28.0  # the override did not change the defaults
    assert system.with_params(r=5.0).params["r"] == 5.0
    with pytest.raises(UnknownParameterError, match=r"rho.*parameters \['beta', 'r', 'sigma'\]"):
        system.f(s, {"rho": 1.0})
    with pytest.raises(UnknownParameterError, match="rho"):
        system.with_params(rho=1.0)
    with pytest.raises(UnknownParameterError, match="no parameter 'rho'"):
        system.dfdp(s, "rho")


def test_parameter_derivative_analytic_and_finite_difference_agree():
    rng = np.random.default_rng(2)
    x = rng.uniform(0.2, 2.0, size=(10, 2))
    exact = brusselator()
    fd_only = System(exact._f, ["x", "y"], {"a": 1.0, "b": 1.5})
    for name in ("a", "b"):
        np.testing.assert_allclose(fd_only.dfdp(x, name), exact.dfdp(x, name), atol=1e-9)
    # d/db of the Brusselator field is (-x, x)
    np.testing.assert_allclose(exact.dfdp(x, "b"), np.stack([-x[:, 0], x[:, 0]], -1))


def test_gradient_system_signs_and_derivatives():
    well = double_well()
    x = np.array([[0.5, 0.2], [-1.5, 1.0]])
    np.testing.assert_allclose(well.f(x), -np.stack([x[:, 0] ** 3 - x[:, 0], x[:, 1]], -1))
    np.testing.assert_allclose(well.hessian(x), -well.jac(x))
    # V only: gradient and Hessian by finite differences agree with the analytic ones
    plain = GradientSystem(well._V, ["x", "y"])
    np.testing.assert_allclose(plain.gradient(x), well.gradient(x), atol=1e-10)
    np.testing.assert_allclose(plain.hessian(x), well.hessian(x), atol=1e-7)
    mb = mueller_brown()
    plain_mb = GradientSystem(mb._V, ["x", "y"], probe=[-0.3, 0.8])
    pts = np.array([[-0.558, 1.442], [0.212, 0.293]])
    np.testing.assert_allclose(plain_mb.hessian(pts), mb.hessian(pts), rtol=1e-6, atol=1e-5)


def test_sparse_jacobian_bratu():
    dense, sparse = bratu(30), bratu(30, sparse=True)
    assert sparse.jacobian_is_sparse and not dense.jacobian_is_sparse
    u = np.linspace(0.0, 0.3, 30)
    np.testing.assert_allclose(sparse.jac(u).toarray(), dense.jac(u))
    np.testing.assert_allclose(sparse.jac_dense(np.stack([u, u])), dense.jac(np.stack([u, u])))


# ---------------------------------------------------------------- construction-time errors
def test_wrong_shape_vector_field_is_named():
    with pytest.raises(InvalidSystemError, match=r"`f` returned shape \(3,\); expected \(2,\)"):
        System(lambda x, p: np.zeros(3), ["x", "y"])


def test_vector_field_that_does_not_batch_is_named():
    def unbatched(x, p):
        return np.array([x[1], -x[0]])  # indexes the first axis, not the last

    with pytest.raises(InvalidSystemError, match=r"batch.*x\[\.\.\., i\]"):
        System(unbatched, ["q", "v"])


def test_jacobian_of_wrong_size_is_named():
    def f(x, p):
        return -x

    expected = r"`jac` returned shape \(2, 2\); expected \(3, 3\)"
    with pytest.raises(InvalidSystemError, match=expected):
        System(f, 3, jac=lambda x, p: np.zeros((2, 2)))


def test_wrong_jacobian_values_are_caught():
    with pytest.raises(InvalidSystemError, match="disagrees with finite differences"):
        System(lambda x, p: -(x**3), 2, jac=lambda x, p: np.broadcast_to(-np.eye(2), (*x.shape, 2)))


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_nonfinite_field_at_probe_suggests_probe():
    with pytest.raises(InvalidSystemError, match="pass `probe=`"):
        System(lambda x, p: np.log(x - 10.0), 2)
    ok = System(lambda x, p: np.log(x - 10.0), 2, probe=[11.0, 12.0])
    assert ok.n == 2


def test_potential_must_reduce_last_axis():
    with pytest.raises(InvalidSystemError, match="`V` returned shape"):
        GradientSystem(lambda x, p: x**2, ["x", "y"])


def test_bad_names_and_params():
    with pytest.raises(InvalidSystemError, match="repeated names"):
        System(lambda x, p: -x, ["x", "x"])
    with pytest.raises(InvalidSystemError, match="single string"):
        System(lambda x, p: -x, "xy")
    with pytest.raises(InvalidSystemError, match="parameter `k` must be a real number"):
        System(lambda x, p: -x, 1, {"k": "fast"})
    with pytest.raises(InvalidSystemError, match="must be callable"):
        System(lambda x, p: -x, 1, jac=3)


def test_failing_user_code_reports_probe():
    def broken(x, p):
        return x * p["missing"]

    with pytest.raises(InvalidSystemError, match=r"failed at the probe state.*KeyError"):
        System(broken, 2)


def test_has_potential_is_declared_not_guessed():
    from dynsys.models import double_well, lorenz
    from dynsys.symmetry import LyapunovSystem

    assert double_well().has_potential and not lorenz().has_potential
    lyap = LyapunovSystem(lambda x, p: -x, ["x"], lyapunov=lambda x, p: (x**2).sum(-1))
    assert lyap.has_potential
