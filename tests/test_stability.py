"""Tests of dynsys.stability against closed-form spectra of linearisations."""

from __future__ import annotations

import numpy as np
import pytest

from dynsys.errors import UnknownParameterError
from dynsys.models import (
    brusselator,
    double_well,
    duffing,
    fold_normal_form,
    lorenz,
    pitchfork_normal_form,
)
from dynsys.stability import classify, classify_eigenvalues
from dynsys.system import GradientSystem, System


def linear_system(A) -> System:
    """``x' = A x`` with analytic Jacobian ``A``."""
    A = np.asarray(A, dtype=float)
    n = A.shape[0]
    return System(
        lambda x, p: x @ A.T,
        n,
        jac=lambda x, p: np.broadcast_to(A, (*x.shape[:-1], n, n)).copy(),
        name="linear",
    )


def mexican_hat() -> GradientSystem:
    """``V = (x^2 + y^2 - 1)^2 / 4``: a circle of minima, a maximum at the origin."""

    def V(x, p):
        return 0.25 * ((x**2).sum(-1) - 1.0) ** 2

    def grad(x, p):
        return ((x**2).sum(-1) - 1.0)[..., None] * x

    def hess(x, p):
        r2m1 = (x**2).sum(-1) - 1.0
        return r2m1[..., None, None] * np.eye(2) + 2.0 * x[..., :, None] * x[..., None, :]

    return GradientSystem(V, ["x", "y"], grad=grad, hess=hess, name="mexican_hat")


# ---------------------------------------------------------------------------- eigenvalue table
GENERAL_CASES = [
    ([-1.0, -2.0], 0, 0, "sink node"),
    ([-1 + 2j, -1 - 2j], 0, 0, "sink focus"),
    ([1.0, 2.0], 2, 0, "source node"),
    ([1 + 2j, 1 - 2j], 2, 0, "source focus"),
    ([1.0, -1.0], 1, 0, "saddle"),
    ([0.09 + 10j, 0.09 - 10j, -13.0], 2, 0, "saddle focus"),
    ([2.0, -0.1 + 3j, -0.1 - 3j], 1, 0, "saddle focus"),
    ([3j, -3j], 0, 0, "centre"),
    ([0.0, -1.0], 0, 1, "non-hyperbolic"),
    ([2j, -2j, -1.0], 0, 0, "non-hyperbolic"),
    ([0.0, 0.0, 1.0], 1, 2, "non-hyperbolic"),
    # node or focus is decided by the leading eigenvalue (nearest the imaginary axis)
    ([-1.0, -5 + 3j, -5 - 3j], 0, 0, "sink node"),
    ([-1 + 3j, -1 - 3j, -5.0], 0, 0, "sink focus"),
    ([5 + 3j, 5 - 3j, 1.0], 3, 0, "source node"),
    ([5.0, 1 + 3j, 1 - 3j], 3, 0, "source focus"),
]


@pytest.mark.parametrize(("eigenvalues", "index", "nullity", "kind"), GENERAL_CASES)
def test_general_kinds(eigenvalues, index, nullity, kind):
    got = classify_eigenvalues(eigenvalues, gradient=False)
    assert (int(got[0]), int(got[1]), str(got[2])) == (index, nullity, kind)


GRADIENT_CASES = [
    ([-1.0, -2.0], 0, 0, "minimum"),
    ([3.0, 1.0], 2, 0, "maximum"),
    ([1.0, -1.0], 1, 0, "saddle-1"),
    ([2.0, 1.0, -1.0], 2, 0, "saddle-2"),
    ([0.0, -1.0], 0, 1, "degenerate"),
    ([1.0, 0.0, 0.0], 1, 2, "degenerate"),
]


@pytest.mark.parametrize(("eigenvalues", "index", "nullity", "kind"), GRADIENT_CASES)
def test_gradient_kinds(eigenvalues, index, nullity, kind):
    got = classify_eigenvalues(eigenvalues, gradient=True)
    assert (int(got[0]), int(got[1]), str(got[2])) == (index, nullity, kind)


def test_zero_threshold_is_relative_to_the_spectral_scale():
    # 1e-3 is zero next to 1e6 (threshold 1e-2) but not next to 1 (threshold 1e-8)
    assert classify_eigenvalues([1e6, -1e-3], gradient=True)[1].item() == 1
    assert classify_eigenvalues([1.0, -1e-3], gradient=True)[1].item() == 0
    assert classify_eigenvalues([1.0, -1e-3], gradient=True, zero_tol=0.01)[1].item() == 1
    # below scale 1 the threshold is absolute
    assert classify_eigenvalues([1e-3, -1e-9], gradient=True)[1].item() == 1


def test_classify_eigenvalues_broadcasts_over_leading_axes_and_marks_nan():
    lam = np.array([[[-1.0, -2.0], [1.0, -1.0], [np.nan, 1.0]]] * 2)  # (2, 3, 2)
    index, nullity, kind = classify_eigenvalues(lam, gradient=True)
    assert index.shape == nullity.shape == kind.shape == (2, 3)
    assert kind[1].tolist() == ["minimum", "saddle-1", "undefined"]
    assert index[0].tolist() == [0, 1, -1]
    assert nullity[0].tolist() == [0, 0, -1]


def test_classify_eigenvalues_rejects_bad_input():
    with pytest.raises(ValueError, match="`eigenvalues`"):
        classify_eigenvalues(1.0, gradient=False)
    with pytest.raises(ValueError, match="`zero_tol`"):
        classify_eigenvalues([1.0], gradient=False, zero_tol=-1.0)


# ---------------------------------------------------------------------------- classify on systems
def test_lorenz_spectra_match_the_characteristic_polynomials():
    sigma, r, beta = 10.0, 28.0, 8.0 / 3.0
    c = np.sqrt(beta * (r - 1.0))
    points = np.array([[0.0, 0.0, 0.0], [c, c, r - 1.0], [-c, -c, r - 1.0]])
    ds = classify(lorenz(sigma=sigma, r=r, beta=beta), points)
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    origin = np.concatenate([[-beta], np.roots([1.0, sigma + 1.0, sigma * (1.0 - r)])])
    cubic = np.roots([1.0, sigma + beta + 1.0, beta * (sigma + r), 2 * sigma * beta * (r - 1)])
    for got, expected in zip(lam, [origin, cubic, cubic], strict=True):
        expected = expected[np.lexsort((-expected.imag, -expected.real))]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert ds["kind"].values.tolist() == ["saddle", "saddle focus", "saddle focus"]
    assert ds["index"].values.tolist() == [1, 2, 2]


def test_eigenvalues_are_sorted_by_real_then_imaginary_part_descending():
    M = np.zeros((5, 5))
    M[:3, :3] = np.diag([-3.0, 2.0, 0.5])
    M[3:, 3:] = [[1.0, -4.0], [4.0, 1.0]]  # eigenvalues 1 +- 4i
    ds = classify(linear_system(M), np.zeros(5))
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    np.testing.assert_allclose(lam, [2.0, 1 + 4j, 1 - 4j, 0.5, -3.0], atol=1e-13)
    # the leading eigenvalues (0.5 unstable, -3 stable) are real: a saddle, not a saddle focus
    assert str(ds["kind"].values) == "saddle"
    assert int(ds["index"]) == 4


def test_eigenvectors_satisfy_the_eigen_equation():
    system = lorenz()
    c = np.sqrt(8.0 / 3.0 * 27.0)
    points = np.array([[0.0, 0.0, 0.0], [c, c, 27.0]])
    ds = classify(system, points, eigenvectors=True)
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    V = ds["eigenvector_real"].values + 1j * ds["eigenvector_imag"].values
    assert ds["eigenvector_real"].dims == ("point", "state", "mode")
    J = system.jac(points)
    for k in range(2):
        np.testing.assert_allclose(J[k] @ V[k], V[k] * lam[k], atol=1e-11)
        np.testing.assert_allclose(np.linalg.norm(V[k], axis=0), 1.0, rtol=1e-12)
        pivot = V[k][np.argmax(np.abs(V[k]), axis=0), np.arange(3)]
        assert np.all(pivot.real > 0) and np.allclose(pivot.imag, 0.0, atol=1e-15)
    assert "eigenvector_real" not in classify(system, points)


def test_harmonic_oscillator_is_a_centre():
    k = 4.0
    osc = linear_system([[0.0, 1.0], [-k, 0.0]])
    ds = classify(osc, [0.0, 0.0])
    assert str(ds["kind"].values) == "centre"
    np.testing.assert_allclose(ds["eigenvalue_imag"].values, [2.0, -2.0], rtol=1e-14)
    assert int(ds["nullity"]) == 0 and int(ds["index"]) == 0


def test_duffing_foci_and_saddle_from_the_quadratic_formula():
    delta, alpha, beta = 0.25, -1.0, 1.0
    ds = classify(duffing(delta, alpha, beta), [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    # at (+-1, 0): l^2 + delta l + (alpha + 3 beta) = 0, complex roots
    roots = np.roots([1.0, delta, alpha + 3.0 * beta])
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    np.testing.assert_allclose(lam[1], sorted(roots, key=lambda z: -z.imag), rtol=1e-13)
    np.testing.assert_allclose(lam[2], lam[1], rtol=1e-13)
    # at the origin: l^2 + delta l + alpha = 0, real roots of both signs
    np.testing.assert_allclose(lam[0], np.sort(np.roots([1.0, delta, alpha]).real)[::-1])
    assert ds["kind"].values.tolist() == ["saddle", "sink focus", "sink focus"]


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [(1.0, 1.5, "sink focus"), (1.0, 3.0, "source focus"), (2.0, 1.0, "sink node")],
)
def test_brusselator_on_either_side_of_the_hopf_point(a, b, kind):
    # J at (a, b/a) = [[b - 1, a^2], [-b, -a^2]]: trace b - 1 - a^2, determinant a^2
    ds = classify(brusselator(a=a, b=b), [a, b / a])
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    assert np.isclose(lam.sum().real, b - 1.0 - a**2, rtol=1e-12)
    assert np.isclose(np.prod(lam).real, a**2, rtol=1e-12)
    assert str(ds["kind"].values) == kind


def test_fold_and_pitchfork_at_the_bifurcation_are_non_hyperbolic():
    fold = fold_normal_form(mu=1.0)
    at_fold = classify(fold, [0.0], params={"mu": 0.0})
    assert str(at_fold["kind"].values) == "non-hyperbolic" and int(at_fold["nullity"]) == 1
    away = classify(fold, [[1.0], [-1.0]])  # x' = 1 - x^2: slope -2 x
    assert away["kind"].values.tolist() == ["sink node", "source node"]
    np.testing.assert_allclose(away["eigenvalue_real"].values[:, 0], [-2.0, 2.0])
    pitch = classify(pitchfork_normal_form(mu=0.0), [0.0])
    assert str(pitch["kind"].values) == "non-hyperbolic"


def test_gradient_systems_give_morse_indices_and_energies():
    ds = classify(double_well(), [[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    assert ds["kind"].values.tolist() == ["minimum", "minimum", "saddle-1"]
    np.testing.assert_allclose(ds["energy"].values, [0.0, 0.0, 0.25], atol=1e-15)
    # Jacobian = -Hessian: Hessians diag(2, 1) and diag(-1, 1)
    np.testing.assert_allclose(ds["eigenvalue_real"].values[0], [-1.0, -2.0], atol=1e-12)
    np.testing.assert_allclose(ds["eigenvalue_real"].values[2], [1.0, -1.0], atol=1e-12)
    assert np.all(ds["eigenvalue_imag"].values == 0.0)

    def quadratic(x, p):  # V = -x^2 - y^2 + z^2: Morse index 2
        return -(x[..., 0] ** 2) - x[..., 1] ** 2 + x[..., 2] ** 2

    saddle = classify(GradientSystem(quadratic, ["x", "y", "z"]), [0.0, 0.0, 0.0])
    assert str(saddle["kind"].values) == "saddle-2" and int(saddle["index"]) == 2
    top = classify(GradientSystem(lambda x, p: -(x**2).sum(-1), 2), [0.0, 0.0])
    assert str(top["kind"].values) == "maximum"


def test_circle_of_minima_is_degenerate_with_nullity_one():
    theta = np.linspace(0.0, 2.0 * np.pi, 7)
    circle = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    ds = classify(mexican_hat(), np.concatenate([circle, [[0.0, 0.0]]]))
    assert ds["kind"].values.tolist() == ["degenerate"] * 7 + ["maximum"]
    assert ds["nullity"].values.tolist() == [1] * 7 + [0]
    # Hessian on the circle: 2 (radial) and 0 (tangential)
    np.testing.assert_allclose(ds["eigenvalue_real"].values[:7], [[0.0, -2.0]] * 7, atol=1e-12)


def test_non_finite_jacobian_is_undefined_not_raised():
    cube_root = System(
        lambda x, p: np.cbrt(x),
        ["x"],
        jac=lambda x, p: (np.abs(x) ** (-2.0 / 3.0) / 3.0)[..., None],
    )
    with np.errstate(divide="ignore"):
        ds = classify(cube_root, [[0.0], [1.0]])
    assert ds["kind"].values.tolist() == ["undefined", "source node"]
    assert ds["index"].values.tolist() == [-1, 1]
    assert np.isnan(ds["eigenvalue_real"].values[0, 0])


def test_classify_a_dataset_adds_and_replaces_variables():
    system = double_well()
    first = classify(system, [[1.0, 0.0], [0.0, 0.0]], eigenvectors=True)
    first["note"] = ("point", ["a", "b"])
    again = classify(system, first)
    assert "eigenvector_real" not in again and again["note"].values.tolist() == ["a", "b"]
    assert again["kind"].values.tolist() == ["minimum", "saddle-1"]


def test_single_state_drops_the_point_dimension():
    ds = classify(double_well(), [1.0, 0.0])
    assert "point" not in ds.dims and ds["eigenvalue_real"].dims == ("mode",)
    assert ds.attrs["system"] == "double_well" and ds.attrs["zero_tol"] == 1e-8


def test_classify_empty_batch():
    ds = classify(lorenz(), np.zeros((0, 3)))
    assert ds.sizes["point"] == 0 and ds["kind"].size == 0


def test_classify_rejects_bad_input():
    system = double_well()
    with pytest.raises(ValueError, match=r"`x` has shape \(3,\)"):
        classify(system, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"expected \(2,\) for one state or \(m, 2\)"):
        classify(system, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        classify(system, [np.nan, 0.0])
    with pytest.raises(ValueError, match="`zero_tol`"):
        classify(system, [0.0, 0.0], zero_tol=0.0)
    with pytest.raises(ValueError, match=r"x\(point, state\)"):
        classify(system, classify(system, [0.0, 0.0]).drop_vars("x"))
    with pytest.raises(UnknownParameterError):
        classify(system, [0.0, 0.0], params={"nope": 1.0})
