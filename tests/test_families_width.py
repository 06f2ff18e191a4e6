"""Families of critical points in the width k as a real parameter, checked against mathematics:
at integer k the restricted loss, gradient and Hessian are the network's on Fix(H) (closed forms
of dynsys.models.relu), an empty tail is Tian's Theorem 7 system for real K, the isotypic blocks
give back the whole Hessian's k^2 eigenvalues, and critical points of the family are critical
points of the network with the predicted isotropy."""

import numpy as np
import pytest

from dynsys.continuation import ContinuationOptions
from dynsys.errors import InputError
from dynsys.models.families import (
    odd_unit_spectrum,
    young_family,
    young_family_coordinates,
    young_family_embedding,
)
from dynsys.models.reduced import theorem7, theorem7_loss
from dynsys.models.relu import gradient, hessian, loss
from dynsys.models.width import width_branch
from dynsys.symmetry import UnitInputSymmetry, isotropy

# the spurious minimum of Safran and Shamir at k = 6 (D1, O1, B12, B21, D2), to 4 digits
SPURIOUS_K6 = [0.9867, -0.0504, 0.308, 0.2245, -0.6015]


def newton(system, z, k):
    p = {"k": float(k)}
    z = np.asarray(z, dtype=float)
    for _ in range(30):
        z = z - np.linalg.solve(-system.jac_dense(z, p), system.gradient(z, p))
    return z


@pytest.mark.parametrize("tail", [(1,), (2,), (1, 1), (2, 1), ()])
@pytest.mark.parametrize("k", [4, 5, 7])
def test_family_is_the_network_on_fix_h_at_integer_k(tail, k):
    if k - sum(tail) < 2:
        pytest.skip("the first block needs two units")
    family = young_family(k=k, tail=tail)
    emb = young_family_embedding(k, tail)
    assert family.n == emb.m == len(young_family_coordinates(tail))
    z = np.random.default_rng(k).uniform(-1.0, 1.5, size=(20, family.n))
    W = emb.lift(z).reshape(-1, k, k)
    eye = np.eye(k)

    def close(a, b):
        scale = max(1.0, np.abs(b).max())
        assert np.abs(a - b).max() <= 1e-12 * scale

    close(family.potential(z), loss(W, eye))
    close(family.gradient(z), gradient(W, eye) @ emb.basis)
    close(-family.jac_dense(z), emb.basis.T @ hessian(W, eye) @ emb.basis)


@pytest.mark.parametrize("K", [2.0, 2.5, 3.7, 6.3])
def test_empty_tail_is_theorem7_for_real_k(K):
    family = young_family(k=K, tail=())
    z = np.random.default_rng(1).uniform(0.1, 1.2, size=(30, 2))
    np.testing.assert_allclose(family.potential(z), theorem7_loss(z, K), rtol=0, atol=1e-13)
    metric = np.array([K, K * (K - 1.0)])  # Theorem 7's flow is the gradient flow in it
    np.testing.assert_allclose(family.f(z) / metric, theorem7(K=K).f(z), rtol=0, atol=1e-13)


def test_dk_is_the_derivative_in_k():
    family = young_family(k=6.3)
    z = np.array(SPURIOUS_K6)
    h = 1e-6
    fd = (family.f(z, {"k": 6.3 + h}) - family.f(z, {"k": 6.3 - h})) / (2 * h)
    np.testing.assert_allclose(family.dfdp(z, "k"), fd, rtol=0, atol=1e-8)


@pytest.mark.parametrize("k", [5, 6, 7])
def test_isotypic_blocks_give_the_whole_hessian_spectrum(k):
    """At any point of Fix(Δ(S_{k-1} x S_1)) (critical or not), the block eigenvalues repeated
    by the irreducibles' dimensions are the k^2 eigenvalues of the network's Hessian."""
    rng = np.random.default_rng(k)
    for z in [*rng.uniform(-1.0, 1.5, size=(3, 5)), newton(young_family(k=k), SPURIOUS_K6, k)]:
        out = odd_unit_spectrum(z, k)
        dims = out["dimensions"]
        assert sum(dims[name] * len(e) for name, e in out["blocks"].items()) == k * k
        blocks = [np.repeat(e, round(dims[name])) for name, e in out["blocks"].items()]
        W = young_family_embedding(k).lift(z).reshape(k, k)
        full = np.linalg.eigvalsh(hessian(W, np.eye(k)))
        np.testing.assert_allclose(np.sort(np.concatenate(blocks)), full, rtol=0, atol=1e-11)
        assert out["index"] == np.count_nonzero(full < 0)


@pytest.mark.parametrize("k", [5, 6, 7])
def test_family_critical_points_are_network_critical_points(k):
    z = newton(young_family(k=k), SPURIOUS_K6, k)
    x = young_family_embedding(k).lift(z)
    assert np.linalg.norm(gradient(x.reshape(k, k), np.eye(k))) <= 1e-10
    H = isotropy(UnitInputSymmetry(k, k, tol=1e-8), x)
    assert (H.name, H.order) == (f"Δ(S_{k - 1} x S_1)", int(np.prod(np.arange(1, k))))


def test_spurious_family_becomes_a_minimum_between_5_and_6():
    """The k = 6 spurious minimum, followed in real k: a minimum inside Fix(H) throughout, and a
    minimum of the whole network only above the k* where the smallest eigenvalue of the block
    [n-1,1] crosses zero; at k = 5 the network's Hessian there has n - 1 = 3 negative
    eigenvalues (closed form), at k = 6 none."""
    options = ContinuationOptions(p_min=4.5, p_max=7.5, ds_max=0.2, max_points=200)
    branch = width_branch(SPURIOUS_K6, 6.0, options=options)
    assert branch.sizes["special"] == 0  # no fold: not born inside Fix(H) in this range
    assert np.all(branch["index"].values == 0)
    assert branch["type_change_irrep"].values.tolist() == ["[n-1,1]"]
    k_star = float(branch["type_change_k"][0])
    assert 5.0 < k_star < 6.0 and int(branch["type_change_direction"][0]) == 1
    z_star = branch["type_change_x"].values[0]
    assert abs(odd_unit_spectrum(z_star, k_star)["blocks"]["[n-1,1]"].min()) < 1e-8
    for k, negative in [(5, 3), (6, 0), (7, 0)]:
        z = newton(young_family(k=k), SPURIOUS_K6, k)
        W = young_family_embedding(k).lift(z).reshape(k, k)
        assert np.count_nonzero(np.linalg.eigvalsh(hessian(W, np.eye(k))) < 0) == negative
        step = int(np.argmin(np.abs(branch["param"].values - k)))
        assert abs(branch["param"].values[step] - k) < 0.25
        k_step = branch["param"].values[step]  # below k*, the n - 1 = k - 2 standard directions
        expected = k_step - 2.0 if k_step < k_star else 0.0
        assert branch["full_index"].values[step] == pytest.approx(expected, abs=1e-12)


def test_bad_widths_are_refused():
    with pytest.raises(InputError, match="k - sum"):
        young_family(k=2.0, tail=(1,))
    with pytest.raises(InputError, match="positive integer"):
        young_family(k=6.0, tail=(0,))
    with pytest.raises(InputError, match="integer"):
        young_family_embedding(5.5)
    with pytest.raises(InputError, match="> 4"):
        odd_unit_spectrum(SPURIOUS_K6, 4.0)


def test_hessian_where_units_are_parallel():
    """At the teacher every unit is parallel to its teacher direction (theta = 0), where the
    complex step fails; the Hessian falls back to differences of the gradient and still agrees
    with the network's closed form."""
    k = 5
    family = young_family(k=float(k))
    emb = young_family_embedding(k)
    z = np.array([[1.0, 0.0, 0.0, 0.0, 1.0], SPURIOUS_K6])
    expected = emb.basis.T @ hessian(emb.lift(z).reshape(-1, k, k), np.eye(k)) @ emb.basis
    np.testing.assert_allclose(-family.jac_dense(z), expected, rtol=0, atol=1e-7)
