"""Restriction to Fix(H) checked against mathematics: on Fix(Δ S_K) the teacher-student network
is Tian's Theorem 7 system (closed form in dynsys.models.reduced), and equilibria found in a
fixed-point subspace are critical points of the whole network with (at least) that isotropy."""

import numpy as np
import pytest

from dynsys.errors import InputError, InputTypeError
from dynsys.fixedpoints import find_fixed_points
from dynsys.models.reduced import theorem7, theorem7_loss
from dynsys.models.relu import teacher_student
from dynsys.symmetry import (
    ExplicitGroup,
    RestrictedGradientSystem,
    RestrictedSystem,
    UnitInputSymmetry,
    fixed_subspace_embedding,
    fixed_subspace_system,
    isotropy,
    young_subgroup,
)


@pytest.mark.parametrize("K", [2, 3, 5, 7])
def test_fix_delta_sk_is_theorem7(K):
    full = teacher_student(np.eye(K))
    H = young_subgroup(UnitInputSymmetry(K, K), (K,))
    plane = fixed_subspace_system(full, H, orthonormal=False)
    ortho = fixed_subspace_system(full, H)
    assert isinstance(plane, RestrictedSystem) and isinstance(ortho, RestrictedGradientSystem)
    assert plane.n == ortho.n == 2 and plane.state_names == ("w1_1", "w1_2")
    t7 = theorem7(K=float(K))
    z = np.random.default_rng(K).uniform(-1.0, 1.5, size=(50, 2))
    # the coordinates of the full flow are Theorem 7's field
    np.testing.assert_allclose(plane.f(z), t7.f(z), rtol=0, atol=1e-12)
    np.testing.assert_allclose(plane.jac(z), t7.jac(z), rtol=0, atol=1e-10)
    # orthonormal coordinates u = sqrt(metric) z: the field scales by sqrt(metric) too
    root = np.sqrt([K, K * (K - 1.0)])
    np.testing.assert_allclose(ortho.f(z * root), t7.f(z) * root, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ortho.potential(z * root), theorem7_loss(z, K), atol=1e-13)


@pytest.mark.parametrize("K", [4, 5])
def test_critical_points_in_fix_h_are_critical_in_the_full_network(K):
    full = teacher_student(np.eye(K))
    group = UnitInputSymmetry(K, K, tol=1e-7)
    H = young_subgroup(group, (K - 1, 1))
    sub = fixed_subspace_system(full, H, orthonormal=False)
    assert sub.n == 5
    seeds = np.random.default_rng(K).uniform(-1.0, 1.5, size=(200, 5))
    found = find_fixed_points(sub, seeds, classify=False)
    assert found.sizes["point"] >= 3
    names = set()
    for z in found["x"].values:
        x = sub.lift(z)
        assert np.linalg.norm(full.gradient(x)) <= 1e-10
        iso = isotropy(group, x)
        assert iso.order % H.order == 0 and H.fixes(x, tol=1e-12)
        names.add(iso.name)
    assert f"Δ(S_{K - 1} x S_1)" in names and f"Δ(S_{K})" in names  # e.g. the teacher


def test_fix_embedding_from_generators_and_signs():
    group = UnitInputSymmetry(3, 3)
    H = isotropy(group, np.eye(3).ravel())
    assert H.name == "Δ(S_3)" and H.order == 6
    emb = fixed_subspace_embedding(group, H.generators)
    assert emb.m == 2 and emb.is_orthonormal
    flip = ExplicitGroup([[~0, 1]])
    line = fixed_subspace_embedding(isotropy(flip, [0.0, 1.0]))
    np.testing.assert_allclose(np.abs(line.basis), [[0.0], [1.0]], atol=1e-15)
    with pytest.raises(InputError, match="generators"):
        fixed_subspace_embedding(group)
    with pytest.raises(InputTypeError, match="Subgroup"):
        fixed_subspace_embedding(np.eye(9))
    with pytest.raises(InputError, match="n ="):
        fixed_subspace_system(teacher_student(np.eye(2)), H)
