"""Symmetry groups, canonical forms, matching up to the group, orbit sizes, fixed-point subspaces
and restriction to invariant subspaces: checked against enumeration of the group and against the
algebra of permutations."""

import itertools
import math

import numpy as np
import pytest

from dynsys.fixedpoints import find_fixed_points
from dynsys.models.classic import double_well, lorenz
from dynsys.models.reduced import theorem7_embedding
from dynsys.models.relu import teacher_student
from dynsys.symmetry import (
    LinearEmbedding,
    PermutationSymmetry,
    RestrictedGradientSystem,
    RestrictedSystem,
    UnitInputSymmetry,
    fixed_point_subspace,
    invariance_defect,
    restrict_to_subspace,
)

RNG = np.random.default_rng(20170707)


def random_units_perm(K, size=()):
    return np.argsort(RNG.random((*size, K)), axis=-1)


def brute_orbit(group, x, decimals=9):
    """Distinct images of x over all group elements (rounded): the orbit, by enumeration."""
    images = {tuple(np.round(group.act(g, x), decimals)) for g in group.elements()}
    return len(images)


# ---------------------------------------------------------------------------- group algebra
@pytest.mark.parametrize(("K", "d", "extra"), [(3, 2, 0), (4, 3, 1), (2, 5, 2)])
def test_unit_group_elements_form_the_symmetric_group(K, d, extra):
    group = PermutationSymmetry(K, d, extra_per_unit=extra)
    elements = list(group.elements())
    assert len(elements) == group.order == math.factorial(K)
    assert len({tuple(g) for g in elements}) == len(elements)
    x = RNG.standard_normal(group.n)
    for g, h in itertools.product(elements[:4], elements[-4:]):
        assert np.array_equal(group.act(group.compose(g, h), x), group.act(g, group.act(h, x)))
        assert np.array_equal(group.act(group.inverse(g), group.act(g, x)), x)
        np.testing.assert_array_equal(group.as_matrix(g) @ x, group.act(g, x))


def test_unit_permutation_moves_whole_units_and_their_extras():
    K, d = 3, 2
    group = PermutationSymmetry(K, d, extra_per_unit=1)
    W = np.arange(K * d, dtype=float).reshape(K, d)
    a = np.array([10.0, 20.0, 30.0])
    perm = np.array([2, 0, 1])
    y = group.act(group.element(perm), np.concatenate([W.ravel(), a]))
    np.testing.assert_array_equal(y[: K * d].reshape(K, d), W[perm])
    np.testing.assert_array_equal(y[K * d :], a[perm])
    np.testing.assert_array_equal(group.unit_permutation(group.element(perm)), perm)


# ---------------------------------------------------------------------------- canonical forms
@pytest.mark.parametrize(("K", "d", "extra"), [(5, 3, 0), (6, 2, 1), (4, 4, 0)])
def test_canonical_form_is_invariant_under_unit_permutations(K, d, extra):
    group = PermutationSymmetry(K, d, extra_per_unit=extra)
    x = RNG.standard_normal((7, group.n))
    x[0, : 2 * d] = np.tile(x[0, :d], 2)  # two coinciding units in the first state
    canon, g = group.canonicalize(x)
    np.testing.assert_array_equal(group.act(g, x), canon)
    perms = group.element(random_units_perm(K, (7,)))
    np.testing.assert_array_equal(group.canonical(group.act(perms, x)), canon)
    # canonical states are sorted: their first coordinates do not decrease
    first = group.units(canon)[..., 0]
    assert np.all(np.diff(first, axis=-1) >= 0)


def test_canonical_form_is_robust_to_noise_below_the_tolerance():
    """Two units tie in their first coordinate up to noise; the order must follow the second
    coordinate, whichever way the noise tips the first."""
    group = PermutationSymmetry(3, 2, tol=1e-8)
    x = np.array([[0.5, 1.0], [0.5, -1.0], [0.1, 0.3]]).ravel()
    canon = group.canonical(x)
    for sign in (1.0, -1.0):
        noisy = x.copy()
        noisy[0] += sign * 1e-12
        noisy[2] -= sign * 1e-12
        for perm in itertools.permutations(range(3)):
            moved = group.act(group.element(np.array(perm)), noisy)
            np.testing.assert_allclose(group.canonical(moved), canon, atol=1e-11)


def test_canonical_collapses_permuted_fixed_points_in_find_fixed_points():
    """The teacher's K! permutations are one orbit: with the symmetry, one point is found."""
    K = 3
    system = teacher_student(np.eye(K))
    group = PermutationSymmetry(K, K)
    perms = [np.eye(K)[list(p)].ravel() for p in itertools.permutations(range(K))]
    seeds = np.array(perms) + 1e-3 * RNG.standard_normal((len(perms), K * K))
    plain = find_fixed_points(system, seeds, classify=False)
    reduced = find_fixed_points(system, seeds, classify=False, symmetry=group)
    assert plain.sizes["point"] == math.factorial(K)
    assert reduced.sizes["point"] == 1
    assert bool(group.match(reduced["x"].values[0], np.eye(K).ravel(), tol=1e-8)[0])


# ---------------------------------------------------------------------------- matching
@pytest.mark.parametrize("K", [2, 5, 12])
def test_match_recovers_a_known_permutation(K):
    d = 3
    group = PermutationSymmetry(K, d, extra_per_unit=1)
    reference = RNG.standard_normal((4, group.n))
    perm = random_units_perm(K, (4,))
    # x holds the reference's units in a shuffled order: unit perm[i] of x is reference unit i
    x = group.act(group.inverse(group.element(perm)), reference)
    x_noisy = x + 1e-9 * RNG.standard_normal(x.shape)
    matched, g = group.match(x_noisy, reference, tol=1e-6)
    assert matched.shape == (4,) and matched.all()
    np.testing.assert_array_equal(group.unit_permutation(g), perm)
    np.testing.assert_allclose(group.act(g, x_noisy), reference, atol=1e-8)
    other = reference + 1e-3
    assert not group.match(x, other, tol=1e-6)[0].any()


def test_distance_is_the_minimum_over_the_group():
    group = PermutationSymmetry(4, 2, extra_per_unit=1)
    x, ref = RNG.standard_normal((2, group.n))
    brute = min(np.linalg.norm(group.act(g, x) - ref) for g in group.elements())
    dist, g = group.distance(x, ref)
    assert dist == pytest.approx(brute, rel=1e-12)
    assert np.linalg.norm(group.act(g, x) - ref) == pytest.approx(brute, rel=1e-12)


# ---------------------------------------------------------------------------- orbit sizes
def test_orbit_sizes_of_unit_permutations():
    K, d = 5, 2
    group = PermutationSymmetry(K, d)
    distinct = RNG.standard_normal(K * d)
    two_equal = distinct.copy()
    two_equal[2 * d : 3 * d] = two_equal[:d]
    pairs = distinct.reshape(K, d)[[0, 0, 1, 1, 1]].ravel()  # classes of sizes 2 and 3
    sizes = group.orbit_size(np.stack([distinct, two_equal, pairs]))
    assert sizes.tolist() == [120, 60, 10]
    for x, expected in zip([distinct, two_equal, pairs], sizes, strict=True):
        assert brute_orbit(group, x) == expected
    near = two_equal.copy()
    near[2 * d] += 1e-12  # equal within the tolerance
    assert group.orbit_size(near) == math.factorial(K) // 2


def test_orbit_size_is_exact_beyond_int64():
    group = PermutationSymmetry(22, 1)
    assert group.orbit_size(np.arange(22.0)) == math.factorial(22)


# ---------------------------------------------------------------------------- units and inputs
def test_unit_input_group_elements_and_decomposition():
    group = UnitInputSymmetry(2, 3, extra_per_unit=1)
    elements = list(group.elements())
    assert len(elements) == group.order == 2 * 6
    assert len({tuple(g) for g in elements}) == 12
    W, a = RNG.standard_normal((2, 3)), RNG.standard_normal(2)
    sigma, tau = np.array([1, 0]), np.array([2, 0, 1])
    y = group.act(group.element(sigma, tau), np.concatenate([W.ravel(), a]))
    np.testing.assert_array_equal(y[:6].reshape(2, 3), W[sigma][:, tau])
    np.testing.assert_array_equal(y[6:], a[sigma])
    got_sigma, got_tau = group.decompose(group.element(sigma, tau))
    assert got_sigma.tolist() == sigma.tolist() and got_tau.tolist() == tau.tolist()


@pytest.mark.parametrize(
    ("K", "d", "kind"), [(4, 5, "random"), (5, 5, "permutation"), (6, 6, "t7")]
)
def test_unit_input_match_recovers_known_elements(K, d, kind):
    group = UnitInputSymmetry(K, d)
    if kind == "random":
        reference = RNG.standard_normal(K * d)
    elif kind == "permutation":
        reference = np.eye(K)[RNG.permutation(K)].ravel()
    else:
        reference = (0.3 * np.eye(K) + 0.1).ravel()
    for _ in range(3):
        g_true = group.element(random_units_perm(K), random_units_perm(d))
        x = group.act(group.inverse(g_true), reference) + 1e-10 * RNG.standard_normal(K * d)
        matched, g = group.match(x, reference, tol=1e-7)
        assert bool(matched)
        np.testing.assert_allclose(group.act(g, x), reference, atol=1e-8)
        if kind == "random":  # a generic state has a trivial stabiliser: g is unique
            np.testing.assert_array_equal(g, g_true)
    assert not bool(group.match(reference + 1e-3 * RNG.standard_normal(K * d), reference)[0])


def test_unit_input_orbit_sizes_match_enumeration():
    K = d = 3
    group = UnitInputSymmetry(K, d)
    states = {
        "generic": RNG.standard_normal(K * d),
        "identity": np.eye(K).ravel(),
        "theorem 7": (0.5 * np.eye(K) + 0.2).ravel(),
        "all equal": np.full(K * d, 0.4),
        "two equal rows": np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 5.0, 1.0]]).ravel(),
    }
    expected = {"generic": 36, "identity": 6, "theorem 7": 6, "all equal": 1}
    for label, x in states.items():
        size = group.orbit_size(x)
        assert size == brute_orbit(group, x), label
        if label in expected:
            assert size == expected[label], label


def test_unit_input_orbit_size_of_a_large_symmetric_state_needs_no_enumeration():
    K = 12
    group = UnitInputSymmetry(K, K)  # order (12!)^2 ~ 2e17
    x = (0.7 * np.eye(K) + 0.1).ravel()  # stabiliser: the K! simultaneous permutations
    assert group.orbit_size(x) == math.factorial(K)


@pytest.mark.parametrize("kind", ["random", "permutation"])
def test_unit_input_canonical_form_is_invariant(kind):
    K, d = 4, 5
    group = UnitInputSymmetry(K, d, extra_per_unit=1)
    if kind == "random":
        x = RNG.standard_normal(group.n)
    else:
        x = np.concatenate([np.eye(d)[RNG.permutation(d)[:K]].ravel(), np.ones(K)])
    canon, g = group.canonicalize(x)
    np.testing.assert_array_equal(group.act(g, x), canon)
    images = group.act(group.element(random_units_perm(K, (6,)), random_units_perm(d, (6,))), x)
    np.testing.assert_allclose(group.canonical(images), np.broadcast_to(canon, images.shape))


# ---------------------------------------------------------------------------- fixed-point subspaces
@pytest.mark.parametrize("K", [2, 3, 4, 5])
def test_fixed_point_subspace_of_simultaneous_permutations_is_the_theorem7_plane(K):
    group = UnitInputSymmetry(K, K)
    diagonal = [group.element(np.array(p), np.array(p)) for p in itertools.permutations(range(K))]
    basis = fixed_point_subspace(group.as_matrix(np.array(diagonal)))
    assert basis.shape == (K * K, 2)
    pattern = theorem7_embedding(K).basis  # vec(I), vec(1 1^T - I)
    # same span: projecting either basis onto the other loses nothing
    np.testing.assert_allclose(basis @ (basis.T @ pattern), pattern, atol=1e-12)
    np.testing.assert_allclose(basis.T @ basis, np.eye(2), atol=1e-12)
    # generators (a transposition and a K-cycle) suffice
    cycle, swap = np.roll(np.arange(K), 1), np.r_[1, 0, np.arange(2, K)]
    generators = group.as_matrix(np.stack([group.element(c, c) for c in (cycle, swap)]))
    assert fixed_point_subspace(generators).shape == (K * K, 2)


def test_fixed_point_subspace_of_all_unit_permutations():
    K, d = 4, 3
    group = PermutationSymmetry(K, d)
    basis = fixed_point_subspace([group.as_matrix(g) for g in group.elements()])
    assert basis.shape == (K * d, d)  # all units equal: W = 1 v^T
    W = (basis @ RNG.standard_normal(d)).reshape(K, d)
    np.testing.assert_allclose(W, np.broadcast_to(W[0], W.shape), atol=1e-12)


# ---------------------------------------------------------------------------- restriction
@pytest.mark.parametrize("K", [2, 3, 5])
def test_invariance_defect_vanishes_on_the_theorem7_subspace_only(K):
    system = teacher_student(np.eye(K))
    z = RNG.uniform(0.05, 1.0, (20, 2))
    defect = invariance_defect(system, theorem7_embedding(K), z)
    assert np.all(
        defect <= 1e-13 * np.maximum(1.0, np.abs(system.f(theorem7_embedding(K).lift(z))).max())
    )
    random_plane = RNG.standard_normal((K * K, 2))
    field = np.linalg.norm(system.f(LinearEmbedding(random_plane).lift(z)), axis=-1)
    assert np.all(invariance_defect(system, random_plane, z) > 1e-3 * field)


def test_restriction_with_orthonormal_basis_is_a_gradient_system():
    K = 3
    system = teacher_student(np.eye(K))
    emb = theorem7_embedding(K)
    unit = emb.basis / np.linalg.norm(emb.basis, axis=0)
    restricted = restrict_to_subspace(system, unit, state_names=["u", "v"])
    assert isinstance(restricted, RestrictedGradientSystem) and restricted.is_gradient
    z = RNG.uniform(0.1, 1.0, (5, 2))
    x = unit @ z.T
    np.testing.assert_allclose(restricted.potential(z), system.potential(x.T), rtol=1e-13)
    np.testing.assert_allclose(restricted.f(z), system.f(x.T) @ unit, atol=1e-14)
    H = restricted.hessian(z)
    np.testing.assert_allclose(H, np.swapaxes(H, -1, -2), atol=1e-13)


def test_restriction_with_skew_basis_is_a_metric_gradient_flow_with_a_lyapunov_function():
    K = 4
    system = teacher_student(np.eye(K))
    emb = theorem7_embedding(K)  # orthogonal, not normalised: metric diag(K, K(K-1))
    restricted = restrict_to_subspace(system, emb, state_names=["x", "y"])
    assert isinstance(restricted, RestrictedSystem) and not restricted.is_gradient
    np.testing.assert_allclose(restricted.embedding.metric, np.diag([K, K * (K - 1.0)]))
    z = RNG.uniform(0.05, 1.0, (30, 2))
    grad_z = system.gradient(emb.lift(z)) @ emb.basis  # gradient of V(E z) in z
    f = restricted.f(z)
    np.testing.assert_allclose(f, -grad_z @ np.linalg.inv(emb.metric), atol=1e-13)
    assert np.all(np.einsum("ij,ij->i", grad_z, f) < 0)  # dV/dt < 0: V is a Lyapunov function
    np.testing.assert_allclose(restricted.potential(z), system.potential(emb.lift(z)))
    np.testing.assert_allclose(restricted.project(restricted.lift(z)), z, atol=1e-15)


def test_restriction_of_a_general_system_passes_jacobian_and_parameters_through():
    lor = lorenz()
    plane = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # x = y: not invariant
    restricted = restrict_to_subspace(lor, plane, name="lorenz|x=y")
    z = RNG.standard_normal((4, 2))
    E_pinv = np.linalg.pinv(plane)
    np.testing.assert_allclose(
        restricted.f(z, {"r": 10.0}), lor.f(z @ plane.T, {"r": 10.0}) @ E_pinv.T
    )
    J = lor.jac(z @ plane.T)
    np.testing.assert_allclose(restricted.jac(z), E_pinv @ J @ plane, atol=1e-12)
    np.testing.assert_allclose(restricted.dfdp(z, "r"), lor.dfdp(z @ plane.T, "r") @ E_pinv.T)
    assert restricted.param_names == lor.param_names
    assert restricted.describe()["restricted_from"] == "lorenz"
    with pytest.raises(TypeError, match="gradient parent"):
        restricted.potential(z)


def test_bad_input_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="rank 1 < 2"):
        LinearEmbedding([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ValueError, match="has 3 rows"):
        restrict_to_subspace(double_well(), np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"permutation of 0\.\.2"):
        PermutationSymmetry(3, 2).element([0, 0, 1])
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 6\)"):
        PermutationSymmetry(3, 2).canonical(np.zeros(5))
    with pytest.raises(ValueError, match="`K` must be an integer >= 1"):
        PermutationSymmetry(0, 2)
    with pytest.raises(ValueError, match="square matrices"):
        fixed_point_subspace([np.eye(2), np.eye(3)])


def test_unit_input_match_any_element_answers_like_closest_on_permutation_matrices():
    """closest=False stops at the first group element within the tolerance: the same verdict as
    the search for the closest, which on a permutation matrix must try all d! column orders."""
    from dynsys.symmetry import UnitInputSymmetry

    rng = np.random.default_rng(4)
    d = 11  # 11! column orders: only the first-element search is quick here
    group = UnitInputSymmetry(d, d)
    P = np.eye(d)[rng.permutation(d)] + 1e-9 * rng.normal(size=(d, d))
    ok, g = group.match(P.ravel(), np.eye(d).ravel(), tol=1e-6, closest=False)
    assert bool(ok)
    assert np.abs(group.act(g, P.ravel()) - np.eye(d).ravel()).max() < 1e-8
    near = np.eye(d)
    near[0, 0] = 0.9  # not a permutation matrix: no element fits
    assert not group.match(near.ravel(), np.eye(d).ravel(), tol=1e-6, closest=False)[0]
    # small d: both searches give the same verdicts
    small = UnitInputSymmetry(4, 4)
    for x in [np.eye(4)[rng.permutation(4)].ravel(), rng.normal(size=16)]:
        first = small.match(x, np.eye(4).ravel(), tol=1e-6, closest=False)[0]
        assert bool(first) == bool(small.match(x, np.eye(4).ravel(), tol=1e-6)[0])
