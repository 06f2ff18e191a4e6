"""Acceptance points of issue 3 not covered by the model and helper tests: Tian's Theorem 7 at
real K, the finder on the full network started on the symmetric plane, non-isolated critical
points off the teacher plane (Theorem 2), one point per manifold of equilibria, and the
teacher's permutations as one orbit of global minima.

Every check is against mathematics: closed forms, the rotations that fix the teacher plane,
finite differences, and the known structure of the manifolds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.linalg import block_diag
from scipy.stats import special_ortho_group

from dynsys._fd import fd_derivative_scalar, fd_jacobian
from dynsys.fixedpoints import find_fixed_points
from dynsys.models.reduced import theorem7, theorem7_embedding, theorem7_loss, theorem7_saddle
from dynsys.models.relu import (
    distance_to_teacher,
    loss,
    orthonormal_teacher,
    random_teacher,
    teacher_student,
)
from dynsys.stability import classify
from dynsys.symmetry import LinearEmbedding, PermutationSymmetry
from dynsys.system import GradientSystem

REAL_K = [1.2, 1.5, 1.9, 2.5, 50.0]


# ---------------------------------------------------------------------------- 1. real K
@pytest.mark.parametrize("K", REAL_K)
def test_theorem7_saddle_at_real_K_is_the_closed_form_and_a_saddle(K):
    system = theorem7(K)
    s = theorem7_saddle(K)
    seeds = np.vstack([np.outer(np.linspace(0.5, 1.5, 5) * s, [1.0, 1.0]), [[0.9, 0.1]]])
    ds = find_fixed_points(system, seeds)
    x = ds["x"].values
    on_diagonal = np.abs(x[:, 0] - x[:, 1]) < 1e-8
    assert on_diagonal.sum() == 1
    np.testing.assert_allclose(x[on_diagonal][0], [s, s], rtol=0, atol=1e-10)
    assert ds["kind"].values[on_diagonal].tolist() == ["saddle"]
    # the diagonal is invariant and on it x' = -(pi K x - pi + theta - sqrt(K-1)) / (2 pi) with a
    # constant angle theta: the stable eigenvalue is exactly -K/2, eigenvector (1, 1)
    eig = np.sort(ds["eigenvalue_real"].values[on_diagonal][0])
    assert eig[0] == pytest.approx(-K / 2, abs=1e-10) and eig[1] > 0
    np.testing.assert_allclose(ds["eigenvalue_imag"].values[on_diagonal], 0.0, atol=1e-14)
    # the other equilibrium is the teacher, a sink with zero loss
    np.testing.assert_allclose(x[~on_diagonal], [[1.0, 0.0]], atol=1e-10)
    assert ds["kind"].values[~on_diagonal].tolist() == ["sink node"]
    assert abs(float(theorem7_loss([1.0, 0.0], K))) < 1e-13


@pytest.mark.parametrize("K", [1.2, 1.5, 1.9, 2.0, 2.5, 50.0])
def test_theorem7_field_is_smooth_in_real_K(K):
    """d/dK and d/dx of the field equal central differences, also across K = 2 (where the
    real-K extension joins the integer formulas)."""
    system = theorem7(K)
    s = theorem7_saddle(K)
    # generic points inside the real domain for every K here (near the diagonal, y > 0)
    z = np.array([[0.7, 0.2], [0.3, 0.25], [1.1 * s, 0.9 * s], [1.0, 0.1], [0.5, 0.45]])
    dK = fd_derivative_scalar(lambda k: system.f(z, {"K": k}), K)
    np.testing.assert_allclose(system.dfdp(z, "K"), dK, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(system.jac(z), fd_jacobian(system.f, z), rtol=1e-7, atol=1e-9)
    # and the saddle moves smoothly: d/dK of the closed form equals the implicit-function value
    # -J^{-1} df/dK at the saddle
    J = system.jac([s, s])
    ds_dK = -np.linalg.solve(J, system.dfdp([s, s], "K"))
    slope = fd_derivative_scalar(lambda k: theorem7_saddle(k), K)
    np.testing.assert_allclose(ds_dK, [slope, slope], rtol=1e-6)


def test_theorem7_below_K_2_is_nan_outside_its_real_domain_and_rejects_K_at_most_1():
    K = 1.2  # q^2 = x^2 + (K - 2) y^2 < 0 for |y| > |x| / sqrt(0.8)
    system = theorem7(K)
    outside = np.array([[0.1, 1.0], [-0.5, 0.6]])
    assert np.all(np.isnan(system.f(outside))) and np.all(np.isnan(theorem7_loss(outside, K)))
    assert np.all(np.isfinite(system.f([[1.0, 0.0], [0.5, 0.5]])))
    ds = find_fixed_points(system, np.vstack([outside, [[0.8, 0.8]]]))
    assert ds.attrs["n_nonfinite"] == 2 and ds.sizes["point"] == 1  # statuses, no exception
    for bad in (1.0, 0.5, np.inf):
        with pytest.raises(ValueError, match="> 1"):
            theorem7(bad)


# ---------------------------------------------------------------------------- 2. the full network
def diagonal_and_off_diagonal_seeds(s):
    return np.array([[0.7, 0.7], [1.3, 1.3], [1.05, 0.95], [0.9, 1.1]]) * s


@pytest.mark.parametrize("K", range(2, 21))
def test_full_network_started_on_the_plane_returns_tians_saddle(K):
    """With the plane as `subspace`, Newton steps stay on it; the saddle is isolated there (the
    manifold of critical points through it crosses the plane), so every seed on the plane
    converges to it quadratically. Classified in the full space, it is degenerate: nullity K-1."""
    full = teacher_student(np.eye(K))
    emb = theorem7_embedding(K)
    s = theorem7_saddle(K)
    seeds = emb.lift(diagonal_and_off_diagonal_seeds(s))
    ds = find_fixed_points(full, seeds, subspace=emb)
    saddle = emb.lift([s, s])
    distance = np.abs(ds["x"].values - saddle).max(axis=1)
    at = np.flatnonzero(distance < 1e-6)
    assert at.size == 1 and distance[at[0]] < 1e-10
    assert ds["n_seeds"].values[at[0]] == 4  # every seed, off-diagonal ones included
    assert ds["nullity"].values[at[0]] == K - 1 and ds["kind"].values[at[0]] == "degenerate"
    assert ds["index"].values[at[0]] >= 1  # unstable along x - y: a saddle of the full loss
    assert ds.attrs["subspace_dimension"] == 2
    # on the plane it is a non-degenerate saddle: the restricted system classifies it so
    restricted = classify(theorem7(K), [s, s])
    assert str(restricted["kind"].values) == "saddle" and int(restricted["nullity"]) == 0


@pytest.mark.parametrize("K", [3, 8])
def test_without_the_subspace_diagonal_seeds_reach_the_saddle_and_others_its_manifold(K):
    """The documented behaviour of the plain finder (see find_fixed_points, Notes)."""
    full = teacher_student(np.eye(K))
    emb = theorem7_embedding(K)
    s = theorem7_saddle(K)
    diagonal = find_fixed_points(full, emb.lift(np.outer([0.7, 1.3], [s, s])))
    np.testing.assert_allclose(diagonal["x"].values, [emb.lift([s, s])], rtol=0, atol=1e-10)
    off = find_fixed_points(full, emb.lift([[1.05 * s, 0.95 * s], [0.9 * s, 1.1 * s]]))
    W = off["x"].values.reshape(-1, K, K)
    # every end point is critical with all units parallel to 1 and norms adding up to K s
    assert np.all(off["residual"].values < 1e-10)
    np.testing.assert_allclose(W - W.mean(axis=-1, keepdims=True), 0.0, atol=1e-10)
    np.testing.assert_allclose(W.sum(axis=(1, 2)), K * K * s, rtol=1e-10)
    assert np.all(off["nullity"].values == K - 1)


def test_subspace_must_match_the_state_and_be_invariant():
    full = teacher_student(np.eye(3))
    with pytest.raises(ValueError, match="dimension 4"):
        find_fixed_points(full, np.ones(9), subspace=theorem7_embedding(2))
    # through a generic network, moving unit 1 only: the field moves the other units too
    generic = np.random.default_rng(0).standard_normal(9)
    not_invariant = LinearEmbedding(np.eye(9)[:, :2], offset=generic)
    with pytest.raises(ValueError, match="not invariant"):
        find_fixed_points(full, generic, subspace=not_invariant)


# ---------------------------------------------------------------------------- 3. Theorem 2
# The configurations searched for off-plane critical points: (K = K*, d, number of seeds).
# Orthonormal teacher e_1..e_K, student with K units, all second-layer weights 1, seeds
# N(0, 0.49 I), deduplicated up to unit permutations. Found (equilibrium sets; off-plane points):
# K=2, d=4: 2 sets, the teacher and one circle (nullity 1) of off-plane saddles, 31 points on it;
# K=2, d=5: 3 sets, the teacher, an in-plane saddle-4 and one 2-sphere (nullity 2), 39 points;
# K=3, d=5: 9 sets, the teacher, an in-plane saddle-1 and 7 circles (nullity 1), 54 points.
OFF_PLANE_CONFIGS = [(2, 4, 150), (2, 5, 150), (3, 5, 150)]


def off_plane_search(K, d, n_seeds, *, symmetry=True, merge=False):
    system = teacher_student(orthonormal_teacher(K, d))
    seeds = 0.7 * np.random.default_rng(10 * K + d).standard_normal((n_seeds, K * d))
    group = PermutationSymmetry(K, d) if symmetry else None
    ds = find_fixed_points(system, seeds, symmetry=group, merge_manifolds=merge)
    W = ds["x"].values.reshape(-1, K, d)
    off_norm = np.linalg.norm(W[:, :, K:], axis=(1, 2))
    return system, ds, off_norm > 1e-3


def rotations_fixing_the_plane(K, d, count, seed):
    """Random orthogonal maps that fix span(e_1..e_K) pointwise: I_K and a random rotation of
    the complement (Haar measure on SO(d - K))."""
    rots = special_ortho_group.rvs(d - K, size=count, random_state=seed)
    return [block_diag(np.eye(K), R) for R in np.reshape(rots, (count, d - K, d - K))]


def skew_generators(K, d):
    """A basis of so(d - K) acting on the complement of the teacher plane."""
    out = []
    for i, j in itertools.combinations(range(K, d), 2):
        A = np.zeros((d, d))
        A[i, j], A[j, i] = 1.0, -1.0
        out.append(A)
    return out


@pytest.mark.parametrize(("K", "d", "n_seeds"), OFF_PLANE_CONFIGS)
def test_rotations_fixing_the_teacher_plane_map_off_plane_critical_points_to_critical_points(
    K, d, n_seeds
):
    system, ds, off_plane = off_plane_search(K, d, n_seeds)
    assert off_plane.sum() >= 1, f"no off-plane critical point for K={K}, d={d}"
    for i in np.flatnonzero(off_plane):
        x = ds["x"].values[i]
        W = x.reshape(K, d)
        assert float(ds["residual"].values[i]) < 1e-10
        moved = 0.0
        for Q in rotations_fixing_the_plane(K, d, 4, seed=i):
            image = (W @ Q.T).ravel()
            moved = max(moved, np.linalg.norm(image - x) / np.linalg.norm(W[:, K:]))
            assert np.abs(system.f(image)).max() < 1e-10  # the image is critical
            assert float(system.potential(image)) == pytest.approx(
                float(ds["energy"].values[i]), abs=1e-13
            )
            np.testing.assert_allclose(
                classify(system, image)["eigenvalue_real"].values,
                ds["eigenvalue_real"].values[i],
                atol=1e-9,
            )
        assert moved > 0.2  # the images are other points: the critical point is not isolated
        # the orbit's tangents W A^T (A in so(d - K)) lie in the Hessian's null space, and the
        # nullity classify reports is the orbit's dimension
        tangents = np.stack([(W @ A.T).ravel() for A in skew_generators(K, d)])
        H = system.hessian(x)
        assert np.abs(tangents @ H).max() < 1e-9
        orbit_dim = np.linalg.matrix_rank(tangents, tol=1e-8)
        assert orbit_dim >= 1
        assert ds["nullity"].values[i] == orbit_dim
        assert ds["kind"].values[i] == "degenerate" and ds["manifold"].values[i] >= 0


# ---------------------------------------------------------------------------- 4. one per manifold
def same_orbit_up_to_units(W, V, K):
    """Whether ``V = P W R`` for a unit permutation ``P`` and an orthogonal ``R`` fixing the
    teacher plane: for some ``P``, equal in-plane parts and equal Gram matrices of the off-plane
    parts (tuples of vectors with equal Gram matrices differ by an orthogonal map)."""
    for perm in itertools.permutations(range(len(W))):
        Wp = W[list(perm)]
        if np.allclose(V[:, :K], Wp[:, :K], atol=1e-8) and np.allclose(
            V[:, K:] @ V[:, K:].T, Wp[:, K:] @ Wp[:, K:].T, atol=1e-8
        ):
            return True
    return False


def test_points_of_the_off_plane_circle_count_once():
    K, d = 2, 4
    _, plain, off_plain = off_plane_search(K, d, 150, symmetry=False)
    _, merged, off_merged = off_plane_search(K, d, 150, symmetry=False, merge=True)
    assert off_plain.sum() > 10  # many points of the circle ...
    assert off_merged.sum() == 1  # ... reported as one
    rep = merged["x"].values[off_merged][0].reshape(K, d)
    assert merged["n_merged"].values[off_merged][0] == off_plain.sum()
    assert merged["nullity"].values[off_merged][0] == 1
    # they are one manifold indeed: every point is a rotation (and unit swap) of the representative
    for x in plain["x"].values[off_plain]:
        assert same_orbit_up_to_units(rep, x.reshape(K, d), K)
    # the isolated points stay: the teacher and its swap, two global minima
    assert merged.sizes["point"] == plain.attrs["n_equilibrium_sets"] == 3
    assert merged["n_merged"].values[~off_merged].tolist() == [1, 1]
    assert merged["kind"].values[~off_merged].tolist() == ["minimum", "minimum"]
    assert merged["n_seeds"].values.sum() == plain["n_seeds"].values.sum()


def test_distinct_off_plane_manifolds_are_not_merged():
    """K = 3, d = 5 up to unit permutations: each merged point is one orbit of the rotations
    fixing the plane, and no two merged points share an orbit."""
    K, d = 3, 5
    _, plain, off_plain = off_plane_search(K, d, 150)
    _, merged, off_merged = off_plane_search(K, d, 150, merge=True)
    assert merged.sizes["point"] == plain.attrs["n_equilibrium_sets"]
    reps = merged["x"].values[off_merged].reshape(-1, K, d)
    assert len(reps) >= 2
    for a, b in itertools.combinations(range(len(reps)), 2):
        assert not same_orbit_up_to_units(reps[a], reps[b], K)
    labels = plain["manifold"].values
    for label in np.unique(labels[off_plain]):
        members = plain["x"].values[labels == label].reshape(-1, K, d)
        assert all(same_orbit_up_to_units(members[0], m, K) for m in members[1:])


@pytest.mark.parametrize("K", [2, 3, 4])
def test_points_of_the_theorem7_saddle_manifold_count_once(K):
    """Units alpha_j 1 with sum alpha_j = K s are all critical (parallel units add their norms):
    Newton from seeds around that simplex finds many of its points, merged into one."""
    full = teacher_student(np.eye(K))
    s = theorem7_saddle(K)
    rng = np.random.default_rng(K)
    alpha = rng.dirichlet(np.full(K, 4.0), size=24) * K * s
    seeds = (alpha[:, :, None] * np.ones(K)).reshape(24, -1) + 1e-4 * rng.standard_normal(
        (24, K * K)
    )
    plain = find_fixed_points(full, seeds)
    merged = find_fixed_points(full, seeds, merge_manifolds=True)
    W = plain["x"].values.reshape(-1, K, K)
    assert plain.sizes["point"] >= 5
    np.testing.assert_allclose(W - W.mean(axis=-1, keepdims=True), 0.0, atol=1e-10)
    np.testing.assert_allclose(W.sum(axis=(1, 2)), K * K * s, rtol=1e-10)
    assert plain.attrs["n_manifolds"] == 1 and plain.attrs["n_equilibrium_sets"] == 1
    assert merged.sizes["point"] == 1
    assert merged["n_merged"].values.tolist() == [plain.sizes["point"]]
    assert merged["n_seeds"].values.tolist() == [plain.attrs["n_converged"]]
    assert merged["nullity"].values.tolist() == [K - 1]
    spread = np.linalg.norm(W.reshape(len(W), -1)[:, None] - W.reshape(len(W), -1), axis=-1)
    assert 0 < merged["manifold_extent"].values[0] <= spread.max()


def radial_system(roots, name):
    """``V = G(|x|^2)`` with ``G'(s) = prod (s - r)``: circles of equilibria at ``|x|^2 = r``."""
    g = np.polynomial.Polynomial.fromroots(roots)
    G, dg = g.integ(), g.deriv()

    def hess(x, p):
        s = (x**2).sum(-1)
        outer = x[..., :, None] * x[..., None, :]
        return 2 * g(s)[..., None, None] * np.eye(2) + 4 * dg(s)[..., None, None] * outer

    return GradientSystem(
        lambda x, p: G((x**2).sum(-1)),
        ["x", "y"],
        grad=lambda x, p: 2 * g((x**2).sum(-1))[..., None] * x,
        hess=hess,
        name=name,
    )


@pytest.mark.parametrize("roots", [[1.0], [1.0, 2.5, 4.0]])
def test_circles_of_equilibria_count_once_each(roots):
    system = radial_system(roots, "circles")
    seeds = np.random.default_rng(3).uniform(-2.5, 2.5, size=(300, 2))
    plain = find_fixed_points(system, seeds)
    merged = find_fixed_points(system, seeds, merge_manifolds=True)
    radius = np.linalg.norm(merged["x"].values, axis=1)
    # the origin and one point per circle |x| = sqrt(r)
    np.testing.assert_allclose(np.sort(radius), [0.0, *np.sqrt(roots)], atol=1e-10)
    assert merged.sizes["point"] == plain.attrs["n_equilibrium_sets"] == len(roots) + 1
    plain_radius = np.linalg.norm(plain["x"].values, axis=1)
    for rep_radius, n_merged, extent in zip(
        radius, merged["n_merged"].values, merged["manifold_extent"].values, strict=True
    ):
        members = np.isclose(plain_radius, rep_radius, atol=1e-9)
        assert n_merged == members.sum()
        # seeds all around: the merged points spread nearly across the circle's diameter
        assert extent == 0.0 if rep_radius == 0 else 1.8 * rep_radius < extent <= 2 * rep_radius


def test_merging_needs_the_manifold_labels():
    with pytest.raises(ValueError, match="connect_manifolds"):
        find_fixed_points(
            radial_system([1.0], "c"), [[0.5, 0.5]], merge_manifolds=True, classify=False
        )


# ---------------------------------------------------------------------------- 5. permutations
def permuted_teachers(W_star, perms, rng, noise=1e-3):
    return W_star[perms].reshape(len(perms), -1) + noise * rng.standard_normal(
        (len(perms), W_star.size)
    )


@pytest.mark.parametrize("K", [2, 3, 4, 5])
def test_all_permutations_of_the_teacher_are_global_minima_and_one_orbit(K):
    rng = np.random.default_rng(K)
    W_star = random_teacher(K, K + 1, rng=rng)
    system = teacher_student(W_star)
    perms = np.array(list(itertools.permutations(range(K))))
    seeds = permuted_teachers(W_star, perms, rng)
    plain = find_fixed_points(system, seeds)
    assert plain.sizes["point"] == math.factorial(K)
    assert np.all(np.abs(plain["energy"].values) < 1e-14)
    assert set(plain["kind"].values) == {"minimum"}
    # the distance-to-teacher helper recovers every permutation, each once
    distance, found = distance_to_teacher(plain["x"].values.reshape(-1, K, K + 1), W_star)
    assert np.all(distance < 1e-10)
    # W[j] matches W_star[found[j]], so the point is W_star[found]: the seed's permutation
    assert sorted(map(tuple, found)) == sorted(map(tuple, perms))
    reduced = find_fixed_points(system, seeds, symmetry=PermutationSymmetry(K, K + 1))
    assert reduced.sizes["point"] == 1 and reduced["n_seeds"].values.tolist() == [len(perms)]
    assert reduced["kind"].values.tolist() == ["minimum"]
    assert abs(float(loss(reduced["x"].values.reshape(K, K + 1), W_star))) < 1e-14


def test_random_permutations_of_a_twenty_unit_teacher_are_one_orbit_of_global_minima():
    K = d = 20
    rng = np.random.default_rng(2020)
    W_star = random_teacher(K, d, rng=rng, unit_norm=True)
    system = teacher_student(W_star)
    perms = np.array([rng.permutation(K) for _ in range(4)])
    plain = find_fixed_points(system, permuted_teachers(W_star, perms, rng, 1e-5), classify=False)
    assert plain.sizes["point"] == len(perms)
    assert plain.attrs["n_converged"] == len(perms)
    distance, found = distance_to_teacher(plain["x"].values.reshape(-1, K, d), W_star)
    assert np.all(distance < 1e-10)
    assert sorted(map(tuple, found)) == sorted(map(tuple, perms))
    # up to the unit permutations the four minima are one point: the teacher, loss 0
    group = PermutationSymmetry(K, d)
    ds = find_fixed_points(system, plain["x"].values, symmetry=group)
    assert ds.sizes["point"] == 1 and ds["n_seeds"].values.tolist() == [len(perms)]
    assert ds["kind"].values.tolist() == ["minimum"] and abs(float(ds["energy"].values[0])) < 1e-13
    assert bool(group.match(ds["x"].values[0], W_star.ravel(), tol=1e-9)[0])
