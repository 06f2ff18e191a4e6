"""Two-parameter continuation of Hopf points, against closed forms: the Brusselator (Hopf curve
``b = 1 + a^2``, ``omega = a``), the Bogdanov-Takens normal form (Hopf curve ``b1 = 0``, BT at the
origin, found from the Hopf and from the fold curve), the Bautin normal form and a nonlinear
change of coordinates of it (GH at ``beta = 0``, ``l1 = 2 beta / omega``, ``l2 = -4 / omega``:
Lyapunov coefficients are invariant under near-identity changes of coordinates), a zero-Hopf
normal form, and a sparse reaction-diffusion Brusselator.

Closed forms of ``l1`` (Kuznetsov's normalisation ``|q| = 1``, ``<p, q> = 1``), derived by hand:
- Brusselator at ``(a, b/a)``, ``b = 1 + a^2``: ``q ~ (1, -1 + i/a)``, ``p ~ ((1 + ia)/2, ia/2)``;
  ``l1 = -(a^2 + 2) / (2 a (2 a^2 + 1))``.
- BT normal form at the origin, ``b2 = -omega^2``: ``q ~ (1, i omega)``; the quadratic terms give
  ``l1 = 1 / (2 omega^3 (1 + omega^2))``.
- Zero-Hopf normal form below, Hopf at ``x0 = -b2``: the centre manifold ``x = x0 + 2|z|^2/(2 x0)``
  gives ``z' = i omega z + (1 + i)(2 / (2 x0)) z|z|^2``, ``l1 = 1 / (x0 (1 + x0))``.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from dynsys import Status
from dynsys.continuation import (
    ContinuationError,
    ContinuationOptions,
    continue_branch,
    continue_fold,
    continue_hopf,
    two_parameter_diagram,
)
from dynsys.continuation._center_manifold import hopf_normal_form
from dynsys.errors import InputError, UnknownParameterError
from dynsys.io import load, load_tree, save
from dynsys.models import bautin_normal_form, bogdanov_takens_normal_form, brusselator, lorenz
from dynsys.system import System


def brusselator_hopf_branch():
    opts = ContinuationOptions(ds_max=0.25, p_min=1.0, p_max=3.0)
    return continue_branch(brusselator(a=1.0, b=1.5), [1.0, 1.5], "b", options=opts)


# ---------------------------------------------------------------------------- Brusselator
def test_brusselator_hopf_curve_is_b_equals_one_plus_a_squared():
    branch = brusselator_hopf_branch()
    assert branch["special_type"].values.tolist() == ["H"]
    opts = ContinuationOptions(ds_max=0.25, p_min=0.5, p_max=3.0)
    curve = continue_hopf(brusselator(), branch, "b", "a", options=opts)
    a, b = curve["param2"].values, curve["param"].values
    assert a.min() == pytest.approx(0.5, abs=1e-12) and a.max() == pytest.approx(3.0, abs=1e-12)
    assert curve["status"].values.tolist() == [Status.PARAM_BOUND] * 2
    np.testing.assert_allclose(b, 1 + a**2, rtol=0, atol=1e-10)
    np.testing.assert_allclose(curve["omega"].values, a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(curve["kappa"].values, a**2, rtol=0, atol=1e-10)
    np.testing.assert_allclose(curve["x"].values, np.stack([a, b / a], -1), atol=1e-10)
    # the Jacobian's eigenvalues are +-i a
    np.testing.assert_allclose(curve["eigenvalue_real"].values, 0.0, atol=1e-8)
    imag = np.abs(curve["eigenvalue_imag"].values)
    np.testing.assert_allclose(imag, np.broadcast_to(a[:, None], imag.shape), atol=1e-8)
    l1 = -(a**2 + 2) / (2 * a * (2 * a**2 + 1))
    np.testing.assert_allclose(curve["lyapunov"].values, l1, rtol=1e-8)
    assert not curve["neutral_saddle"].values.any()
    assert curve.sizes["special"] == 0  # no codimension-two point on this curve
    assert curve.attrs["continuation_param"] == "b"
    assert curve.attrs["continuation_param2"] == "a"


def test_hopf_curve_from_a_state_one_direction_and_io(tmp_path):
    a0 = 1.2
    b0 = 1 + a0**2 + 0.02  # near the Hopf point, not on it
    curve = continue_hopf(
        brusselator(),
        [a0, b0 / a0],
        "b",
        "a",
        params={"a": a0, "b": b0},
        options=ContinuationOptions(ds_max=0.25, p_max=2.0),
        direction=1,
    )
    assert curve["end"].values.tolist() == ["forward"]
    assert int(curve["status"][0]) == Status.PARAM_BOUND
    a, b = curve["param2"].values, curve["param"].values
    assert a[0] == pytest.approx(a0) and a[-1] == pytest.approx(2.0, abs=1e-12)
    np.testing.assert_allclose(b, 1 + a**2, atol=1e-10)
    back = load(save(curve, tmp_path / "hopf.nc"))
    np.testing.assert_array_equal(back["param"].values, curve["param"].values)
    assert back["neutral_saddle"].dtype == bool
    assert back.attrs["extended_system"] == curve.attrs["extended_system"]


def test_lorenz_hopf_curve_in_r_and_sigma():
    """At the Hopf point of C+- the characteristic polynomial ``l^3 + (s + b + 1) l^2 +
    b (s + r) l + 2 b s (r - 1)`` has roots ``+-i omega``: ``r = s (s + b + 3) / (s - b - 1)``,
    ``omega^2 = b (s + r)``."""
    beta = 8.0 / 3.0
    xe = np.sqrt(beta * 19.0)
    branch = continue_branch(
        lorenz(),
        [xe, xe, 19.0],
        "r",
        params={"r": 20.0},
        options=ContinuationOptions(ds_max=0.5, p_min=1.5, p_max=30.0),
        direction=1,
    )
    assert branch["special_type"].values.tolist() == ["H"]
    opts = ContinuationOptions(ds_max=1.0, p_min=6.0, p_max=30.0)
    curve = continue_hopf(lorenz(), branch, "r", "sigma", options=opts)
    s, r = curve["param2"].values, curve["param"].values
    assert s.min() == pytest.approx(6.0) and s.max() == pytest.approx(30.0)
    np.testing.assert_allclose(r, s * (s + beta + 3) / (s - beta - 1), rtol=1e-12)
    np.testing.assert_allclose(curve["omega"].values ** 2, beta * (s + r), rtol=1e-12)
    # subcritical at the classical sigma = 10 (Marsden and McCracken, The Hopf Bifurcation and
    # Its Applications, 1976, section 4B)
    start = int(curve.attrs["start_step"])
    assert float(curve["param2"][start]) == 10.0 and float(curve["lyapunov"][start]) > 0
    assert curve.sizes["special"] == 0


# ---------------------------------------------------------------------------- Bogdanov-Takens
def bt_curves():
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    system = bogdanov_takens_normal_form(b1=-0.5, b2=-0.5)
    x0 = (0.5 - np.sqrt(0.25 + 2.0)) / 2  # the root that reaches x = 0 at b1 = 0
    branch = continue_branch(system, [x0, 0.0], "b1", options=opts)
    assert branch["special_type"].values.tolist() == ["H", "LP"]
    hopf = continue_hopf(system, branch, "b1", "b2", options=opts)
    fold = continue_fold(system, branch, "b1", "b2", options=opts, special=1)
    return hopf, fold


def test_bogdanov_takens_point_from_the_hopf_and_the_fold_curve():
    hopf, fold = bt_curves()
    b1, b2 = hopf["param"].values, hopf["param2"].values
    assert b2.min() == pytest.approx(-1.0) and b2.max() == pytest.approx(1.0)
    np.testing.assert_allclose(b1, 0.0, atol=1e-12)  # the Hopf curve b1 = 0 ...
    np.testing.assert_allclose(hopf["x"].values, 0.0, atol=1e-12)
    np.testing.assert_allclose(hopf["kappa"].values, -b2, atol=1e-12)
    # ... is a Hopf curve for b2 < 0 and a neutral saddle (eigenvalues +-sqrt(b2)) for b2 > 0
    saddle = hopf["neutral_saddle"].values
    np.testing.assert_array_equal(saddle, b2 > 0)
    assert np.isnan(hopf["omega"].values[saddle]).all()
    assert np.isnan(hopf["lyapunov"].values[saddle]).all()
    omega = np.sqrt(-b2[~saddle])
    np.testing.assert_allclose(hopf["omega"].values[~saddle], omega, atol=1e-12)
    l1 = 1 / (2 * omega**3 * (1 + omega**2))
    np.testing.assert_allclose(hopf["lyapunov"].values[~saddle], l1, rtol=1e-8)
    # one BT point at the origin from each curve, and they agree
    assert hopf["special_type"].values.tolist() == ["BT"]
    assert fold["special_type"].values.tolist() == ["BT"]
    for curve in (hopf, fold):
        assert curve["special_status"].values.tolist() == [Status.CONVERGED]
        where = [float(curve["special_param"][0]), float(curve["special_param2"][0])]
        np.testing.assert_allclose(where, 0.0, atol=1e-8)
        np.testing.assert_allclose(curve["special_x"].values[0], 0.0, atol=1e-8)
    np.testing.assert_allclose(
        hopf["special_x"].values[0], fold["special_x"].values[0], rtol=0, atol=1e-8
    )
    assert float(hopf["special_omega"][0]) == 0.0


def test_each_curve_starts_at_the_bt_point_of_the_other():
    hopf, fold = bt_curves()
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    system = bogdanov_takens_normal_form()
    hopf_from_bt = continue_hopf(system, fold, "b1", "b2", options=opts)
    fold_from_bt = continue_fold(system, hopf, "b1", "b2", options=opts)
    b2 = hopf_from_bt["param2"].values
    assert b2.min() == pytest.approx(-1.0) and b2.max() == pytest.approx(1.0)
    np.testing.assert_allclose(hopf_from_bt["param"].values, 0.0, atol=1e-12)
    np.testing.assert_array_equal(hopf_from_bt["neutral_saddle"].values, b2 > 1e-12)
    b1, b2 = fold_from_bt["param"].values, fold_from_bt["param2"].values
    assert b2.min() == pytest.approx(-1.0) and b2.max() == pytest.approx(1.0)
    np.testing.assert_allclose(b1, b2**2 / 4, atol=1e-12)
    for curve in (hopf_from_bt, fold_from_bt):  # the start, reported once as the BT point
        assert curve["special_type"].values.tolist() == ["BT"]
        assert int(curve["special_step"][0]) == curve.attrs["start_step"]
        where = [float(curve["special_param"][0]), float(curve["special_param2"][0])]
        np.testing.assert_allclose(where, 0.0, atol=1e-8)
    with pytest.raises(InputError, match="is a curve in \\('b1', 'b2'\\)"):
        continue_hopf(system, fold, "b2", "b1")
    brusselator_curve = continue_hopf(
        brusselator(),
        brusselator_hopf_branch(),
        "b",
        "a",
        options=ContinuationOptions(p_min=0.8, p_max=1.2),
    )
    with pytest.raises(InputError, match="no Bogdanov-Takens point"):
        continue_fold(brusselator(), brusselator_curve, "b", "a")


# ---------------------------------------------------------------------------- Bautin (GH)
def test_generalised_hopf_point_of_the_bautin_normal_form():
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    system = bautin_normal_form(mu=-0.5, beta=-0.5)
    branch = continue_branch(system, [0.0, 0.0], "mu", options=opts)
    curve = continue_hopf(system, branch, "mu", "beta", options=opts)
    beta = curve["param2"].values
    np.testing.assert_allclose(curve["param"].values, 0.0, atol=1e-12)  # Hopf curve mu = 0
    np.testing.assert_allclose(curve["omega"].values, 1.0, atol=1e-12)
    np.testing.assert_allclose(curve["lyapunov"].values, 2 * beta, atol=1e-9)
    assert curve["special_type"].values.tolist() == ["GH"]
    assert curve["special_status"].values.tolist() == [Status.CONVERGED]
    assert abs(float(curve["special_param"][0])) < 1e-8
    assert abs(float(curve["special_param2"][0])) < 1e-8
    assert float(curve["special_lyapunov2"][0]) == pytest.approx(-4.0, abs=1e-6)
    assert float(curve["special_lyapunov2_error"][0]) < 1e-6


def transformed_bautin(sign: float = -1.0, gamma: float = 0.5) -> System:
    """``z' = (mu + i omega) z + (beta + i gamma) |z|^2 z + sign |z|^4 z``, ``omega = 2 + beta``,
    seen through ``x = v + phi(v)`` (``phi`` quadratic and cubic, so the conjugacy is the
    identity to first order) and shifted by ``s(mu, beta) = (beta / 2, 0.3 mu + 0.2 beta^2)``:
    ``u' = (I + D phi(v))^-1 F(v + phi(v))``, ``v = u - s``. Hopf curve ``mu = 0`` at ``u = s``,
    ``omega = 2 + beta``, ``l1 = 2 beta / omega``; GH at ``beta = 0`` with ``l2 = 4 sign / 2``."""

    def f(u, p):
        mu, beta = p["mu"], p["beta"]
        omega = 2.0 + beta
        v1, v2 = u[..., 0] - 0.5 * beta, u[..., 1] - (0.3 * mu + 0.2 * beta**2)
        x1, x2 = v1 + 0.3 * v1 * v2 + 0.2 * v2**2, v2 - 0.25 * v1**2 + 0.1 * v1 * v2**2
        r2 = x1**2 + x2**2
        F1 = mu * x1 - omega * x2 + (beta * x1 - gamma * x2) * r2 + sign * r2**2 * x1
        F2 = omega * x1 + mu * x2 + (gamma * x1 + beta * x2) * r2 + sign * r2**2 * x2
        d11, d12 = 1 + 0.3 * v2, 0.3 * v1 + 0.4 * v2
        d21, d22 = -0.5 * v1 + 0.1 * v2**2, 1 + 0.2 * v1 * v2
        det = d11 * d22 - d12 * d21
        return np.stack([(d22 * F1 - d12 * F2) / det, (d11 * F2 - d21 * F1) / det], -1)

    return System(f, ["u", "v"], {"mu": -0.3, "beta": -0.3}, name="transformed_bautin")


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_lyapunov_coefficients_are_invariant_under_a_change_of_coordinates(sign):
    system = transformed_bautin(sign)
    opts = ContinuationOptions(ds_max=0.2, p_min=-0.4, p_max=0.4)
    branch = continue_branch(system, [-0.15, 0.018], "mu", options=opts)
    assert branch["special_type"].values.tolist() == ["H"]
    curve = continue_hopf(system, branch, "mu", "beta", options=opts)
    beta = curve["param2"].values
    assert beta.min() == pytest.approx(-0.4) and beta.max() == pytest.approx(0.4)
    np.testing.assert_allclose(curve["param"].values, 0.0, atol=1e-10)
    np.testing.assert_allclose(curve["omega"].values, 2 + beta, atol=1e-10)
    shift = np.stack([0.5 * beta, 0.2 * beta**2], -1)
    np.testing.assert_allclose(curve["x"].values, shift, atol=1e-10)
    np.testing.assert_allclose(curve["lyapunov"].values, 2 * beta / (2 + beta), atol=1e-8)
    assert curve["special_type"].values.tolist() == ["GH"]
    assert abs(float(curve["special_param"][0])) < 1e-8
    assert abs(float(curve["special_param2"][0])) < 1e-8
    np.testing.assert_allclose(curve["special_x"].values[0], 0.0, atol=1e-8)
    assert abs(float(curve["special_lyapunov"][0])) < 1e-8
    assert float(curve["special_lyapunov2"][0]) == pytest.approx(4 * sign / 2, abs=1e-6)


def test_second_lyapunov_coefficient_of_the_normal_form():
    def bautin(s, beta=0.3, gamma=-0.7):
        z = s[..., 0] + 1j * s[..., 1]
        dz = 1j * 3.0 * z + (beta + 1j * gamma) * abs(z) ** 2 * z + 2.5 * abs(z) ** 4 * z
        return np.stack([dz.real, dz.imag], -1)

    A = np.array([[0.0, -3.0], [3.0, 0.0]])
    nf = hopf_normal_form(bautin, np.zeros(2), A, 3.0)
    # z = sqrt(2) zeta for |q| = 1: c1 = 2 (beta + i gamma), c2 = 4 * 2.5
    assert nf.c1 == pytest.approx(2 * (0.3 - 0.7j), abs=1e-9)
    assert nf.c2 == pytest.approx(10.0, abs=1e-7)
    assert nf.l1 == pytest.approx(0.2, abs=1e-9) and nf.l2 == pytest.approx(10 / 3, abs=1e-7)


# ---------------------------------------------------------------------------- zero-Hopf
def zero_hopf_normal_form() -> System:
    """``x' = b1 + x^2 - (y^2 + z^2)``, ``(y + iz)' = (b2 + x + i (1 + x)) (y + iz)``: Hopf curve
    ``b1 = -b2^2`` at ``x = -b2``, ``omega = 1 - b2``; the third eigenvalue ``2x`` vanishes at
    the zero-Hopf point ``b1 = b2 = 0``."""

    def f(s, p):
        x, y, z = s[..., 0], s[..., 1], s[..., 2]
        re, im = p["b2"] + x, 1.0 + x
        return np.stack([p["b1"] + x * x - (y * y + z * z), re * y - im * z, im * y + re * z], -1)

    return System(f, ["x", "y", "z"], {"b1": -0.4, "b2": -0.5}, name="zero_hopf")


def test_zero_hopf_point_and_no_false_generalised_hopf_at_the_pole_of_l1():
    system = zero_hopf_normal_form()
    wide = ContinuationOptions(ds_max=0.05, p_min=-1.0, p_max=0.0)
    branch = continue_branch(system, [np.sqrt(0.4), 0.0, 0.0], "b1", options=wide)
    assert branch["special_type"].values.tolist()[0] == "H"
    opts = ContinuationOptions(ds_max=0.1, p_min=-0.8, p_max=0.8)
    curve = continue_hopf(system, branch, "b1", "b2", options=opts)
    b1, b2 = curve["param"].values, curve["param2"].values
    np.testing.assert_allclose(b1, -(b2**2), atol=1e-10)
    np.testing.assert_allclose(curve["omega"].values, 1 - b2, atol=1e-10)
    x0 = -b2
    away = np.abs(x0) > 0.05
    np.testing.assert_allclose(
        curve["lyapunov"].values[away], 1 / (x0[away] * (1 + x0[away])), rtol=1e-7
    )
    # l1 changes sign through a pole at ZH: that is not a GH point
    assert curve["special_type"].values.tolist() == ["ZH"]
    assert curve["special_status"].values.tolist() == [Status.CONVERGED]
    where = [float(curve["special_param"][0]), float(curve["special_param2"][0])]
    np.testing.assert_allclose(where, 0.0, atol=1e-8)
    assert float(curve["special_omega"][0]) == pytest.approx(1.0, abs=1e-8)
    assert np.isnan(float(curve["special_lyapunov"][0]))


# ---------------------------------------------------------------------------- double Hopf
def double_hopf_system() -> System:
    """Two coupled Hopf normal forms ``z1' = (a + i) z1 - |z1|^2 z1 + ...``,
    ``z2' = (b - a + i sqrt 2) z2 - |z2|^2 z2 + ...``: Hopf curves ``a = 0`` and ``b = a``,
    crossing at the double-Hopf point ``a = b = 0`` with frequencies 1 and sqrt 2. The coupling
    terms are quadratic in ``z1 z2`` and ``z1^2``: they give ``z1`` no resonant cubic term, so
    ``l1 = -2`` on ``a = 0`` (``|q| = 1``)."""

    def f(s, p):
        z1, z2 = s[..., 0] + 1j * s[..., 1], s[..., 2] + 1j * s[..., 3]
        a, b = p["a"], p["b"]
        d1 = (a + 1j) * z1 - abs(z1) ** 2 * z1 + 0.5 * abs(z2) ** 2 * z1 + 0.2 * z1 * z2
        d2 = (b - a + 1j * np.sqrt(2)) * z2 - abs(z2) ** 2 * z2 - 0.3 * abs(z1) ** 2 * z2
        d2 = d2 + 0.1 * z1 * z1
        return np.stack([d1.real, d1.imag, d2.real, d2.imag], -1)

    return System(f, 4, {"a": -1.0, "b": -0.5}, name="double_hopf")


def test_double_hopf_point_on_both_hopf_curves():
    system = double_hopf_system()
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    branch = continue_branch(system, np.zeros(4), "a", options=opts)
    assert branch["special_type"].values.tolist() == ["H", "H"]  # b - a = 0, then a = 0
    first = continue_hopf(system, branch, "a", "b", special=1, options=opts)
    np.testing.assert_allclose(first["param"].values, 0.0, atol=1e-12)
    np.testing.assert_allclose(first["lyapunov"].values, -2.0, atol=1e-8)
    second = continue_hopf(system, branch, "a", "b", special=0, options=opts)
    np.testing.assert_allclose(second["param"].values, second["param2"].values, atol=1e-12)
    for curve, omegas in ((first, (1.0, np.sqrt(2))), (second, (np.sqrt(2), 1.0))):
        assert curve["special_type"].values.tolist() == ["HH"]
        assert curve["special_status"].values.tolist() == [Status.CONVERGED]
        where = [float(curve["special_param"][0]), float(curve["special_param2"][0])]
        np.testing.assert_allclose(where, 0.0, atol=1e-8)
        got = [float(curve["special_omega"][0]), float(curve["special_omega2"][0])]
        np.testing.assert_allclose(got, omegas, atol=1e-8)


def test_a_closed_hopf_curve():
    """``z' = (a^2 + b^2 - 1 + i (1.5 + a/2)) z + 0.3 z^2 - |z|^2 z`` (plus ``0.1 y^2``): the
    Hopf curve is the unit circle, traced once around."""

    def f(s, p):
        z = s[..., 0] + 1j * s[..., 1]
        mu, omega = p["a"] ** 2 + p["b"] ** 2 - 1, 1.5 + 0.5 * p["a"]
        dz = (mu + 1j * omega) * z - abs(z) ** 2 * z + 0.3 * z * z
        return np.stack([dz.real + 0.1 * s[..., 1] ** 2, dz.imag], -1)

    system = System(f, ["x", "y"], {"a": 0.0, "b": 0.6})
    branch = continue_branch(
        system, [0.0, 0.0], "a", options=ContinuationOptions(ds_max=0.1, p_min=0.0, p_max=2.0)
    )
    curve = continue_hopf(system, branch, "a", "b", options=ContinuationOptions(ds_max=0.2))
    assert curve["status"].values.tolist() == [Status.CLOSED_LOOP]
    a, b = curve["param"].values, curve["param2"].values
    np.testing.assert_allclose(a**2 + b**2, 1.0, atol=1e-12)
    np.testing.assert_allclose(curve["omega"].values, 1.5 + 0.5 * a, atol=1e-12)
    angle = np.unwrap(np.arctan2(b, a))
    assert abs(angle[-1] - angle[0]) == pytest.approx(2 * np.pi, abs=1e-9)


# ---------------------------------------------------------------------------- sparse
def reaction_diffusion_brusselator(cells: int = 10, diffusion: float = 0.02) -> System:
    """The Brusselator on ``cells`` cells with a Neumann Laplacian: the homogeneous state
    ``(a, b/a)`` has its first Hopf point (mode 0) at ``b = 1 + a^2``, ``omega = a``."""
    m = cells
    lap = sp.diags([np.ones(m - 1), -2.0 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]).tolil()
    lap[0, 0] = lap[m - 1, m - 1] = -1.0
    lap = (diffusion * m * m * lap).tocsr()
    block = sp.bmat([[lap, None], [None, lap]], format="csr")
    pattern = sp.bmat([[sp.eye(m), sp.eye(m)], [sp.eye(m), sp.eye(m)]], format="coo")

    def f(s, p):
        u, v = s[..., :m], s[..., m:]
        a, b = p["a"], p["b"]
        local = np.concatenate([a - (b + 1) * u + u * u * v, b * u - u * u * v], -1)
        return local + (block @ s.reshape(-1, 2 * m).T).T.reshape(s.shape)

    def jac(s, p):
        u, v = s[:m], s[m:]
        b = p["b"]
        data = np.concatenate([-(b + 1) + 2 * u * v, u * u, b - 2 * u * v, -u * u])
        local = sp.coo_matrix((data, (pattern.row, pattern.col)), shape=(2 * m, 2 * m))
        return (local.tocsr() + block).tocsr()

    start = np.concatenate([np.ones(m), 1.5 * np.ones(m)])
    return System(f, 2 * m, {"a": 1.0, "b": 1.5}, jac=jac, probe=start, name="rd_brusselator")


def test_hopf_curve_of_a_sparse_system():
    system = reaction_diffusion_brusselator()
    m = system.n // 2
    assert system.jacobian_is_sparse
    start = np.concatenate([np.ones(m), 1.5 * np.ones(m)])
    branch = continue_branch(
        system, start, "b", options=ContinuationOptions(ds_max=0.25, p_min=1.0, p_max=2.2)
    )
    assert branch["special_type"].values.tolist()[0] == "H"
    opts = ContinuationOptions(ds_max=0.3, p_min=0.8, p_max=1.6)
    curve = continue_hopf(system, branch, "b", "a", options=opts)
    a, b = curve["param2"].values, curve["param"].values
    assert a.min() == pytest.approx(0.8) and a.max() == pytest.approx(1.6)
    np.testing.assert_allclose(b, 1 + a**2, atol=1e-10)
    np.testing.assert_allclose(curve["omega"].values, a, atol=1e-10)
    np.testing.assert_allclose(curve["x"].values[:, :m], a[:, None] * np.ones(m), atol=1e-10)
    assert np.isnan(curve["lyapunov"].values).all()  # dense Jacobians only
    assert curve.attrs["eigenvalues"].endswith("smallest modulus")


# ---------------------------------------------------------------------------- diagrams
def test_two_parameter_diagram_traces_each_curve_once(tmp_path):
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    system = bogdanov_takens_normal_form(b1=-0.5, b2=-0.5)
    branch = continue_branch(system, [(0.5 - np.sqrt(2.25)) / 2, 0.0], "b1", options=opts)
    tree = two_parameter_diagram(system, branch, "b2", options=opts)
    assert sorted(tree.children) == ["fold0", "hopf0"]
    fold, hopf = tree["fold0"].to_dataset(), tree["hopf0"].to_dataset()
    np.testing.assert_allclose(fold["param"].values, fold["param2"].values ** 2 / 4, atol=1e-12)
    np.testing.assert_allclose(hopf["param"].values, 0.0, atol=1e-12)
    for curve in (fold, hopf):  # the two curves meet at the BT point, the origin
        assert curve["special_type"].values.tolist() == ["BT"]
        np.testing.assert_allclose(
            [float(curve["special_param"][0]), float(curve["special_param2"][0])], 0, atol=1e-8
        )
    assert int(tree["hopf0"].attrs["source_special"]) == 0 and tree["hopf0"].attrs["source"] == ""
    # a branch with a fold only: the Hopf curve is found through the fold curve's BT point
    system = bogdanov_takens_normal_form(b1=-0.5, b2=0.5)
    branch = continue_branch(system, [(-0.5 + np.sqrt(2.25)) / 2, 0.0], "b1", options=opts)
    assert branch["special_type"].values.tolist() == ["LP"]
    tree = two_parameter_diagram(system, branch, "b2", options=opts)
    assert sorted(tree.children) == ["fold0", "hopf0"]
    assert tree["hopf0"].attrs["source"] == "fold0"
    np.testing.assert_allclose(tree["hopf0"]["param"].values, 0.0, atol=1e-12)
    assert tree["hopf0"]["param2"].values.min() == pytest.approx(-1.0)
    # the cusp: both folds of the branch lie on one fold curve, traced once
    cusp = System(lambda x, p: p["b1"] + p["b2"] * x - x**3, ["x"], {"b1": 1.0, "b2": 1.0})
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.5)
    branch = continue_branch(cusp, [1.3], "b1", options=opts)
    assert branch["special_type"].values.tolist() == ["LP", "LP"]
    tree = two_parameter_diagram(cusp, branch, "b2", options=opts)
    assert sorted(tree.children) == ["fold0"] and int(tree.attrs["n_curves"]) == 1
    assert tree["fold0"].attrs["branch_specials_on_curve"].tolist() == [0, 1]
    back = load_tree(save(tree, tmp_path / "curves.nc"))
    np.testing.assert_array_equal(back["fold0"]["param"].values, tree["fold0"]["param"].values)
    with pytest.raises(UnknownParameterError, match="'b3' is not a parameter"):
        two_parameter_diagram(cusp, branch, "b3")


# ---------------------------------------------------------------------------- bad input
def test_hopf_continuation_errors():
    branch = brusselator_hopf_branch()
    system = brusselator()
    with pytest.raises(UnknownParameterError, match="'c' is not a parameter"):
        continue_hopf(system, branch, "b", "c")
    with pytest.raises(UnknownParameterError, match="'c' is not a parameter"):
        continue_hopf(system, branch, "c", "a")
    with pytest.raises(InputError, match="must differ"):
        continue_hopf(system, branch, "b", "b")
    with pytest.raises(InputError, match="continued in 'b', not in `param1`='a'"):
        continue_hopf(system, branch, "a", "b")
    with pytest.raises(InputError, match="is not the row of a 'H'"):
        continue_hopf(system, branch, "b", "a", special=3)
    no_hopf = continue_branch(
        system, [1.0, 1.5], "b", options=ContinuationOptions(p_min=1.0, p_max=1.8)
    )
    with pytest.raises(InputError, match="no Hopf point"):
        continue_hopf(system, no_hopf, "b", "a")
    with pytest.raises(InputError, match="one state of shape"):
        continue_hopf(system, np.zeros((2, 2)), "b", "a")
    # a stable focus far from the Hopf point: eigenvalues -0.25 +- 0.97i
    with pytest.raises(ContinuationError, match=r"not near a Hopf point.*'H' row"):
        continue_hopf(system, [1.0, 1.5], "b", "a", params={"a": 1.0, "b": 1.5})
    # a saddle of the BT normal form: real eigenvalues only
    with pytest.raises(ContinuationError, match="no complex eigenvalues"):
        continue_hopf(bogdanov_takens_normal_form(), [0.0, 0.0], "b1", "b2", params={"b2": 0.5})
