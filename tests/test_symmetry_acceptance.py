"""Issue 13 acceptance: exact invariance of fixed-point subspaces (B) and equivariant branching
for O(2) and S_3 (A), checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dynsys.integrate import FlowOptions, flow, trajectory
from dynsys.models.reduced import theorem7, theorem7_saddle
from dynsys.models.relu import teacher_student
from dynsys.symmetry import (
    ExplicitGroup,
    Subgroup,
    UnitInputSymmetry,
    fixed_subspace_embedding,
    fixed_subspace_system,
    isotropy,
    symmetrized_system,
)

# ------------------------------------------------------------------ B: exact invariance


@pytest.mark.parametrize("K", [2.0, 1.5, 3.0, 7.5, 20.0])
def test_theorem7_field_is_exactly_symmetric_on_the_diagonal(K):
    """x' == y' bit for bit on x == y (also negative x, also real K), and the rewritten x'
    agrees with Tian's formula to rounding off the diagonal."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-3, 3, 500), [1e-8, 1e8, -0.5]])
    f = theorem7(K).f(np.stack([x, x], axis=-1))
    assert np.array_equal(f[:, 0], f[:, 1])
    # off the diagonal: x' from the original grouping (the module docstring's 2 pi G_x)
    z = rng.uniform(0.05, 2.0, (300, 2))
    a, b = z[:, 0], z[:, 1]
    r2 = a * a + (K - 1) * b * b
    with np.errstate(invalid="ignore"):  # K < 2: outside the real domain
        th1 = np.arccos(a / np.sqrt(r2))
        th2 = np.arccos(b / np.sqrt(r2))
    phi = np.arccos(np.clip((2 * a * b + (K - 2) * b * b) / r2, -1, 1))
    gx = (
        np.pi * (a - 1)
        + (K - 1) * np.pi * b
        + (K - 1) * ((a - b) * phi + a * (np.sin(phi) - phi))
        + th1
        - np.sin(th1) * np.cos(th1)
        - (K - 1) * np.sin(th2) * np.cos(th1)
    )
    ok = np.isfinite(gx)
    assert ok.sum() > 100
    got = theorem7(K).f(z)[:, 0]
    assert np.allclose(got[ok], -gx[ok] / (2 * np.pi), rtol=0, atol=1e-11)


@pytest.mark.parametrize("K", range(2, 21))
def test_theorem7_orbit_on_diagonal_stays_and_reaches_saddle(K):
    """An orbit started on x = y stays on it bit for bit (the saddle repels across it) and
    converges to Tian's symmetric saddle; with scipy's RK45 and with the batch dopri5."""
    system = theorem7(float(K))
    s = theorem7_saddle(K)
    tr = trajectory(
        system, [0.2, 0.2], 60.0, rtol=1e-11, atol=1e-13, t_eval=np.linspace(0.0, 60.0, 121)
    )
    X = tr["x"].values
    assert np.array_equal(X[:, 0], X[:, 1])
    assert abs(X[-1, 0] - s) < 1e-8
    opts = FlowOptions(t_max=60.0, rtol=1e-11, atol=1e-13, save_times=np.linspace(0, 60, 31))
    out = flow(system, [[0.2, 0.2], [1.5, 1.5]], options=opts)
    saved = out["x_saved"].values
    assert np.array_equal(saved[..., 0], saved[..., 1])
    assert np.abs(out["x_final"].values - s).max() < 1e-8


@pytest.mark.parametrize("K", [2, 3, 5, 8])
def test_teacher_student_on_the_diagonal_exact(K):
    """All units equal (W = x 1 1^T, isotropy S_K x S_K): the symmetrised full network keeps
    every entry of W equal bit for bit and reaches the symmetric saddle; the restriction by
    fixed_subspace_system (state in Fix(H) coordinates, 1-D) reaches it too."""
    group = UnitInputSymmetry(K, K)
    x0 = np.full(K * K, 0.2)
    H = isotropy(group, x0)
    assert H.order == math.factorial(K) ** 2
    net = teacher_student(np.eye(K))
    opts = FlowOptions(t_max=80.0, rtol=1e-11, atol=1e-13, save_times=np.linspace(0, 80, 21))
    out = flow(symmetrized_system(net, H), x0, options=opts)
    X = out["x_saved"].values.reshape(-1, K * K)
    assert np.array_equal(X, np.broadcast_to(X[:, :1], X.shape))
    assert np.abs(X[-1] - theorem7_saddle(K)).max() < 1e-8
    line = fixed_subspace_system(net, H, orthonormal=False)
    assert line.n == 1
    end = flow(line, [0.2], options=opts)["x_final"].values
    assert abs(float(end[0, 0]) - theorem7_saddle(K)) < 1e-8


def test_symmetrized_system_is_the_field_on_fix_h_and_a_gradient_system():
    """On Fix(H) the symmetrised field equals the parent's (to rounding); it is the gradient
    system of V(P x); its values are equal on each orbit of coordinates bit for bit."""
    from dynsys.symmetry import young_subgroup

    K = 4
    group = UnitInputSymmetry(K, K)
    H = young_subgroup(group, (3, 1))
    net = teacher_student(np.eye(K))
    sym = symmetrized_system(net, H)
    assert sym.is_gradient
    emb = fixed_subspace_embedding(H, orthonormal=False)
    rng = np.random.default_rng(3)
    for z in rng.uniform(-1, 1, (5, emb.m)):
        x = emb.lift(z)
        assert np.allclose(sym.f(x), net.f(x), rtol=0, atol=1e-13)
        fz = sym.f(x)
        for orbit in H.coordinate_orbits():
            assert np.all(fz[orbit] == fz[orbit[0]])
    x = rng.normal(size=K * K)  # off Fix(H): the gradient of V(P x)
    P = emb.basis @ emb.pinv
    assert np.isclose(float(sym.potential(x)), float(net.potential(P @ x)))
    assert np.allclose(sym.f(x), P @ net.f(P @ x), atol=1e-13)


def test_signed_fixed_subspace_basis_is_exact():
    """Groups that flip signs: Fix(H) from orbits with relative signs equals the null space of
    the stacked P - I (brute force) and lifts to exactly +- equal coordinates."""
    from dynsys.symmetry import fixed_point_subspace

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 7))
        gens = []
        for _ in range(int(rng.integers(1, 3))):
            perm = rng.permutation(n)
            gens.append(np.where(rng.random(n) < 0.3, ~perm, perm))
        gens = np.array(gens)
        G = ExplicitGroup(gens, max_order=100_000)
        ref = fixed_point_subspace(G.as_matrix(gens))
        if ref.shape[1] == 0:
            continue
        E = fixed_subspace_embedding(Subgroup(G, gens, G.order, "H")).basis
        assert E.shape == ref.shape
        assert np.allclose(E @ E.T, ref @ ref.T, atol=1e-12)
        x = E @ rng.normal(size=E.shape[1])
        assert np.array_equal(G.act(gens, x), np.broadcast_to(x, (len(gens), n)))


# ------------------------------------------------------------------ A: equivariant branching
from dynsys.continuation import ContinuationOptions  # noqa: E402
from dynsys.errors import InputError  # noqa: E402
from dynsys.symmetry import equivariant_branches, o2_action  # noqa: E402
from dynsys.system import System  # noqa: E402

_OPTS = ContinuationOptions(ds_max=0.05, p_min=-1.0, p_max=1.0)


def _o2_pitchfork():
    """``z' = mu z - |z|^2 z`` on ``C = R^2``."""

    def f(x, p):
        x = np.asarray(x, dtype=float)
        return (p["mu"] - (x * x).sum(-1, keepdims=True)) * x

    return System(f, ["x", "y"], {"mu": 0.0}, name="o2_pitchfork")


def test_o2_pitchfork_one_class_a_circle():
    """O(2) through D_4 and its rotation: one class (Z_2 = <z -> conj z>), branch |z|^2 = mu
    (mu > 0 only), and nothing else; D_4 alone has two classes (axes and diagonals), both
    carrying the same circle, which the rotation by pi/4 merges."""
    o2 = o2_action()
    system = _o2_pitchfork()
    tree = equivariant_branches(
        system, o2.group, [0.0, 0.0], "mu", options=_OPTS, rotations=[o2.rotation]
    )
    root = tree.ds
    assert root.attrs["kernel_dimension"] == 2 and root.attrs["isotropy_order"] == 8
    assert root.sizes["axial"] == 1 and list(tree.children) == ["axial0"]
    assert root["axial_name"].values.tolist() == ["Z_2"]
    assert int(root["merged_classes"][0]) == 2
    branch = tree["axial0"].ds
    sigma_dir = root["direction"].values[0]
    assert np.allclose(np.abs(sigma_dir), [1.0, 0.0])  # Fix(conj) = the real axis
    X, mu = branch["x_full"].values, branch["param"].values
    assert np.abs((X * X).sum(-1) - mu).max() < 1e-8
    assert np.abs(X[:, 1]).max() == 0.0  # inside Fix(Z_2) exactly
    assert mu.max() > 0.5 and mu.min() > -1e-8  # supercritical: mu >= 0 only
    # the stand-in alone: two classes of reflections, each carrying the same circle
    finite = equivariant_branches(system, o2.group, [0.0, 0.0], "mu", options=_OPTS)
    assert finite.ds.sizes["axial"] == 2 and len(finite.children) == 2
    for child in finite.children.values():
        X, mu = child.ds["x_full"].values, child.ds["param"].values
        assert np.abs((X * X).sum(-1) - mu).max() < 1e-8


def test_rotation_must_preserve_the_kernel():
    """A rotation that moves the kernel is not a symmetry at the bifurcation."""

    def f(x, p):
        x = np.asarray(x, dtype=float)
        return np.stack([p["mu"] * x[..., 0], p["mu"] * x[..., 1], -x[..., 2]], axis=-1)

    system = System(f, ["x", "y", "w"], {"mu": 0.0}, name="lin")
    o2 = o2_action(3, [(0, 1)])
    bad = np.zeros((3, 3))
    bad[1, 2], bad[2, 1] = -1.0, 1.0
    with pytest.raises(InputError, match="kernel"):
        equivariant_branches(
            system, o2.group, [0.0, 0.0, 0.0], "mu", options=_OPTS, rotations=[bad]
        )
    with pytest.raises(InputError, match="skew"):
        equivariant_branches(
            system, o2.group, [0.0, 0.0, 0.0], "mu", options=_OPTS, rotations=[np.eye(3)]
        )


_A, _B = 0.7, -1.0


def _s3_system():
    """The generic S_3-equivariant system on ``{x1 + x2 + x3 = 0}`` (standard representation),
    with a decaying normal direction: ``x' = mu P x + q(x) + b |P x|^2 P x - (I - P) x``,
    ``P = I - 1 1^T / 3`` and ``q = -sqrt(6) a P(x o x)``. On the line ``x = xi e``,
    ``e = (1, 1, -2)/sqrt(6)`` (fixed by the swap of x1 and x2; the real axis of
    ``z' = mu z + a conj(z)^2 + b |z|^2 z``), it is ``xi' = mu xi + a xi^2 + b xi^3``."""

    def f(x, p):
        x = np.asarray(x, dtype=float)
        m = x.mean(-1, keepdims=True)
        Px = x - m
        sq = x * x
        q = -np.sqrt(6.0) * _A * (sq - sq.mean(-1, keepdims=True))
        return p["mu"] * Px + q + _B * (Px * Px).sum(-1, keepdims=True) * Px - m

    return System(f, ["x1", "x2", "x3"], {"mu": 0.0}, name="s3_transcritical")


def test_s3_three_conjugate_transcritical_branches():
    """S_3 on its standard representation: one class of axial subgroups (the three
    transpositions, conjugate), labelled Z_2, one branch mu = -a xi - b xi^2 (transcritical:
    it exists on both sides of mu = 0), its three images under S_3 the other branches, and
    nothing else."""
    system = _s3_system()
    e = np.array([1.0, 1.0, -2.0]) / np.sqrt(6.0)
    assert np.allclose(system.f(0.3 * e, {"mu": 0.1}), (0.1 * 0.3 + _A * 0.09 + _B * 0.027) * e)
    G = ExplicitGroup([[1, 2, 0], [1, 0, 2]])
    tree = equivariant_branches(system, G, [0.0, 0.0, 0.0], "mu", options=_OPTS)
    root = tree.ds
    assert root.attrs["kernel_dimension"] == 2 and root.attrs["isotropy_order"] == 6
    assert root.sizes["axial"] == 1 and list(tree.children) == ["axial0"]
    assert root["axial_name"].values.tolist() == ["Z_2"]
    assert root["axial_order"].values.tolist() == [2] and root["class_size"].values.tolist() == [3]
    branch = tree["axial0"].ds
    X, mu = branch["x_full"].values, branch["param"].values
    # the branch lies on a line fixed by one transposition; rotate it onto e's line
    d = root["direction"].values[0]
    swap = [
        g
        for g in G.elements()
        if np.allclose(G.act(g, d), d, atol=1e-12) and not np.array_equal(g, [0, 1, 2])
    ]
    assert len(swap) == 1
    k = next(i for i in range(3) if swap[0][i] == i)  # the coordinate the swap fixes
    xi = -np.sqrt(1.5) * X[:, k]  # x = xi (1, 1, -2)/sqrt(6) up to relabelling
    assert np.abs(X.sum(-1)).max() < 1e-12
    assert np.abs(mu + _A * xi + _B * xi**2).max() < 1e-8
    small = np.abs(xi) < 0.1
    assert (mu[small] > 1e-3).any() and (mu[small] < -1e-3).any()  # transcritical
    for point in X[np.abs(xi) > 0.05]:  # isotropy of every branch point: order 2
        assert isotropy(G, point).order == 2
    # the three conjugate branches: images under S_3 are equilibria with the same mu
    for g in G.elements():
        images = G.act(g, X)
        res = np.stack([system.f(x, {"mu": m}) for x, m in zip(images, mu, strict=True)])
        assert np.abs(res).max() < 1e-10
    assert len({tuple(np.round(G.act(g, d), 9)) for g in G.elements()}) == 3


@pytest.mark.parametrize("K", [3, 4, 5])
def test_isotropy_of_the_teacher_the_symmetric_saddle_and_a_random_point(K):
    """Issue 13: the teacher W = I has the full diagonal group (order K!), Tian's symmetric saddle
    (all weights equal) contains the diagonal S_K (its isotropy is S_K x S_K, order (K!)^2), and a
    random point has the trivial group."""
    from dynsys.symmetry import young_subgroup

    group = UnitInputSymmetry(K, K)
    teacher = isotropy(group, np.eye(K).ravel())
    assert teacher.order == math.factorial(K) and teacher.name == f"Δ(S_{K})"
    saddle = np.full(K * K, theorem7_saddle(K))
    H = isotropy(group, saddle)
    assert H.order == math.factorial(K) ** 2
    assert young_subgroup(group, (K,)).fixes(saddle, tol=1e-14)
    random = isotropy(group, np.random.default_rng(K).standard_normal(K * K))
    assert random.order == 1


@pytest.mark.parametrize("K", [3, 4])
def test_restricted_gradient_is_the_projected_gradient_and_its_zeros_are_critical(K):
    """Issue 13: on Fix(Δ(S_{K-1} x S_1)) the restricted gradient equals the full gradient
    projected onto the subspace to 1e-12 (orthonormal coordinates: E^T grad V(E z)), and fixed
    points found in the subspace are critical points of the full network to 1e-12."""
    from dynsys.fixedpoints import find_fixed_points
    from dynsys.symmetry import young_subgroup

    net = teacher_student(np.eye(K))
    H = young_subgroup(UnitInputSymmetry(K, K), (K - 1, 1))
    sub = fixed_subspace_system(net, H)
    E = sub.lift(np.eye(sub.n)) - sub.lift(np.zeros(sub.n))  # rows: the orthonormal basis
    np.testing.assert_allclose(E @ E.T, np.eye(sub.n), atol=1e-14)
    z = np.random.default_rng(K).uniform(0.2, 1.2, size=(40, sub.n))
    full = net.gradient(sub.lift(z))
    np.testing.assert_allclose(sub.gradient(z), full @ E.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        sub.lift(sub.gradient(z)) - sub.lift(0 * z), full @ E.T @ E, rtol=0, atol=1e-12
    )
    found = find_fixed_points(
        sub, np.random.default_rng(0).uniform(-1, 1.5, (100, sub.n)), classify=False
    )
    assert found.sizes["point"] >= 3
    for x in found["x"].values:
        assert np.abs(net.gradient(sub.lift(x))).max() <= 1e-12
