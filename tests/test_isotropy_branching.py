"""Equivariant branch switching checked against mathematics: the Z_2 pitchfork x' = mu x - x^3
(branch x^2 = mu), and a ring of n cells with D_n x Z_2 symmetry whose first non-uniform
bifurcation has a two-dimensional kernel (invisible to a determinant test): two conjugacy classes
of axial subgroups, each with its branch, whose amplitude follows the cubic normal form."""

import numpy as np
import pytest

from dynsys.continuation import ContinuationOptions
from dynsys.models import pitchfork_normal_form
from dynsys.symmetry import ExplicitGroup, axial_subgroups, equivariant_branches, isotropy
from dynsys.system import System


def ring(n: int) -> System:
    """x_i' = mu x_i - x_i^3 + (x_{i+1} + x_{i-1} - 2 x_i), indices mod n."""

    def f(x, p):
        return p["mu"] * x - x**3 + np.roll(x, 1, -1) + np.roll(x, -1, -1) - 2 * x

    def jac(x, p):
        eye = np.eye(n)
        lap = np.roll(eye, 1, 0) + np.roll(eye, -1, 0) - 2 * eye
        return (p["mu"] - 3 * x**2)[..., :, None] * eye + lap

    return System(f, n, {"mu": 0.0}, jac=jac, dfdp=lambda x, p, name: x, name=f"ring{n}")


def dihedral(n: int) -> ExplicitGroup:
    i = np.arange(n)
    return ExplicitGroup([np.roll(i, 1), (-i) % n, ~i])  # rotation, reflection, x -> -x


def test_z2_pitchfork_branch():
    options = ContinuationOptions(ds_max=0.05, p_min=-1.0, p_max=1.0)
    tree = equivariant_branches(
        pitchfork_normal_form(),
        ExplicitGroup([[~0]]),
        [0.0],
        "mu",
        params={"mu": 0.0},
        options=options,
    )
    assert tree.ds.attrs["kernel_dimension"] == 1 and tree.ds.attrs["isotropy_name"] == "Z_2"
    branch = tree["axial0"].ds
    x, mu = branch["x_full"].values[:, 0], branch["param"].values
    assert np.abs(x).max() > 0.5
    np.testing.assert_allclose(x**2, mu, atol=1e-8)  # x^2 = mu on the new branch


@pytest.mark.parametrize("n", [4, 5, 6])
def test_dihedral_ring_axial_branches(n):
    system, group = ring(n), dihedral(n)
    mu_star = 2.0 - 2.0 * np.cos(2 * np.pi / n)
    zero = np.zeros(n)
    J = system.jac(zero, {"mu": mu_star})
    assert np.sum(np.abs(np.linalg.eigvalsh(J)) < 1e-12) == 2  # a 2-D kernel
    gamma = isotropy(group, zero)
    assert gamma.order == 4 * n
    kernel = np.linalg.svd(J)[2][-2:].T
    axial = axial_subgroups(group, gamma.elements(), kernel)
    assert len(axial) == 2  # the two classes of reflection axes of the planar action
    options = ContinuationOptions(ds_max=0.02, p_min=mu_star - 0.2, p_max=mu_star + 0.3)
    tree = equivariant_branches(system, group, zero, "mu", params={"mu": mu_star}, options=options)
    assert sorted(tree.children) == ["axial0", "axial1"]
    names = set()
    for child in tree.children.values():
        branch = child.ds
        X, mu = branch["x_full"].values, branch["param"].values
        residual = np.abs(system.f(X, {"mu": 0.0}) + mu[:, None] * X).max()
        assert residual < 1e-8  # equilibria of the whole ring
        # near the bifurcation, the cubic normal form on the kernel line of the unit vector v:
        # a' = (mu - mu*) a - (sum v_i^4) a^3, so |x|^2 = a^2 = (mu - mu*) / sum v_i^4
        near = (mu > mu_star + 0.005) & (mu < mu_star + 0.02) & (np.abs(X).max(-1) > 1e-6)
        assert near.any()
        v = tree.ds["direction"].values[int(child.name.removeprefix("axial"))]
        expected = (mu[near] - mu_star) / (v**4).sum()
        np.testing.assert_allclose((X[near] ** 2).sum(-1), expected, rtol=0.1)
        far = X[np.argmax(np.abs(X).max(-1))]
        H = isotropy(group, far)
        assert H.order == branch.attrs["axial_order"]  # it keeps exactly its axial isotropy
        names.add((H.order, tuple(sorted(np.round(np.abs(far), 6)))))
    assert len(names) == 2  # two different patterns
