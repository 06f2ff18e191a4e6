"""Branch points, branch switching, Hopf points and bifurcation diagrams, against closed forms:
pitchfork, Lorenz (BP at r = 1, Hopf at r = 470/19), Brusselator (Hopf at b = 1 + a^2), the first
Lyapunov coefficient against the planar formula of Guckenheimer and Holmes."""

import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr

from dynsys import Status
from dynsys.continuation import (
    ContinuationOptions,
    bifurcation_diagram,
    continue_branch,
    switch_branch,
)
from dynsys.errors import InputError
from dynsys.io import load, save
from dynsys.models import brusselator, fold_normal_form, lorenz, pitchfork_normal_form
from dynsys.system import System

SIGMA, BETA = 10.0, 8.0 / 3.0
R_HOPF = SIGMA * (SIGMA + BETA + 3) / (SIGMA - BETA - 1)  # = 470/19
LORENZ_OPTIONS = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)


# ---------------------------------------------------------------------------- pitchfork
def test_pitchfork_branch_point_and_switching_reach_both_halves():
    opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    trivial = continue_branch(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    assert trivial["special_type"].values.tolist() == ["BP"]
    assert abs(float(trivial["special_param"][0])) < 1e-10
    assert trivial["special_status"].values.tolist() == [Status.CONVERGED]
    # the trivial branch loses stability there: one eigenvalue (mu) crosses zero
    assert int(trivial["special_delta_index"][0]) == 1
    new = switch_branch(pitchfork_normal_form(), trivial, 0, options=opts)
    x, mu = new["x"].values[:, 0], new["param"].values
    np.testing.assert_allclose(x**2, mu, atol=1e-12)
    assert x.min() == pytest.approx(-1.0, abs=1e-12) and x.max() == pytest.approx(1.0, abs=1e-12)
    assert new.attrs["switch_method"] == "branching equation"
    # supercritical: the new branch is stable (eigenvalue mu - 3x^2 = -2 mu)
    assert np.all(new["stable"].values[mu > 1e-6])
    start = new.attrs["start_step"]
    assert new["special_type"].values.tolist() == ["BP"]
    assert int(new["special_step"][0]) == start and abs(float(new["param"][start])) < 1e-10


def test_switching_needs_a_branch_point():
    opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    trivial = continue_branch(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    with pytest.raises(InputError, match="index into the 1 special points"):
        switch_branch(pitchfork_normal_form(), trivial, 3)


def test_transcritical_switching_with_a_nonzero_slope():
    """``x' = mu x - x^2 + x^3 / 3``: the branches cross at the origin at an angle."""
    system = System(lambda x, p: p["mu"] * x - x**2 + x**3 / 3, ["x"], {"mu": -0.5})
    opts = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=0.5)
    trivial = continue_branch(system, [0.0], "mu", options=opts)
    assert abs(float(trivial["special_param"][0])) < 1e-10
    new = switch_branch(system, trivial, 0, options=opts)
    x, mu = new["x"].values[:, 0], new["param"].values
    np.testing.assert_allclose(mu, x - x**2 / 3, atol=1e-10)  # the other branch
    assert x.min() < -0.3 and x.max() > 0.3


# ---------------------------------------------------------------------------- Lorenz
@pytest.fixture(scope="module")
def lorenz_tree() -> xr.DataTree:
    return bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)


def test_lorenz_origin_branch_point_at_r_one(lorenz_tree):
    origin = lorenz_tree["branch0"].dataset
    assert origin["special_type"].values.tolist() == ["BP"]
    assert abs(float(origin["special_param"][0]) - 1.0) < 1e-10
    assert np.abs(origin["x"].values).max() == 0.0
    r = origin["param"].values
    assert np.all(origin["index"].values[r < 1 - 1e-6] == 0)
    assert np.all(origin["index"].values[r > 1 + 1e-6] == 1)


def test_lorenz_switching_gives_the_nontrivial_pair_with_hopf_points(lorenz_tree):
    assert sorted(lorenz_tree.children) == ["branch0", "branch1"]
    pair = lorenz_tree["branch1"].dataset
    assert pair.attrs["parent_branch"] == "branch0" and pair.attrs["depth"] == 1
    x, y, z = pair["x"].values.T
    r = pair["param"].values
    np.testing.assert_allclose(z, r - 1, atol=1e-9)
    np.testing.assert_allclose(x, y, atol=1e-9)
    np.testing.assert_allclose(x**2, BETA * (r - 1), atol=1e-9)
    assert x.min() < -8 and x.max() > 8  # both equilibria C+ and C-
    hopf = pair["special_type"].values == "H"
    assert hopf.sum() == 2  # one on each half, by symmetry
    np.testing.assert_allclose(pair["special_param"].values[hopf], 470 / 19, atol=1e-8)
    np.testing.assert_allclose(
        np.abs(pair["special_x"].values[hopf, 0]), np.sqrt(BETA * (R_HOPF - 1)), atol=1e-7
    )
    # at the Hopf point lambda = +-i omega with omega^2 = beta (r + sigma)
    np.testing.assert_allclose(
        pair["special_hopf_omega"].values[hopf], np.sqrt(BETA * (R_HOPF + SIGMA)), rtol=1e-9
    )
    assert np.all(pair["special_lyapunov"].values[hopf] > 0)  # subcritical
    assert sorted(pair["special_delta_index"].values[hopf].tolist()) == [-2, 2]
    # stable between the branch point and the Hopf points, index 2 beyond
    stable_part = (r > 1.5) & (r < R_HOPF - 1e-3)
    assert np.all(pair["stable"].values[stable_part])
    assert np.all(pair["index"].values[r > R_HOPF + 1e-3] == 2)


def test_lorenz_diagram_is_deterministic_and_round_trips(lorenz_tree, tmp_path):
    again = bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    for name in ("branch0", "branch1"):
        xr.testing.assert_equal(
            lorenz_tree[name].dataset.drop_attrs(), again[name].dataset.drop_attrs()
        )
    path = tmp_path / "lorenz.nc"
    save(lorenz_tree, path)
    loaded = load(path)
    xr.testing.assert_identical(loaded["branch1"].dataset, lorenz_tree["branch1"].dataset)


# ---------------------------------------------------------------------------- diagrams
def test_diagram_does_not_retrace_a_branch_met_at_two_branch_points():
    """``x' = x (1 - x^2 - p^2)``: the trivial branch meets the circle at p = -1 and p = +1."""
    system = System(lambda x, p: x * (1 - x**2 - p["p"] ** 2), ["x"], {"p": -1.5})
    opts = ContinuationOptions(ds_max=0.1, p_min=-1.5, p_max=1.5)
    tree = bifurcation_diagram(system, [0.0], "p", options=opts, max_depth=3)
    assert sorted(tree.children) == ["branch0", "branch1"]
    circle = tree["branch1"].dataset
    x, p = circle["x"].values[:, 0], circle["param"].values
    np.testing.assert_allclose(x**2 + p**2, 1.0, atol=1e-10)
    assert circle["status"].sel(end="forward") == Status.CLOSED_LOOP
    trivial = tree["branch0"].dataset
    np.testing.assert_allclose(np.sort(trivial["special_param"].values), [-1.0, 1.0], atol=1e-10)


def test_diagram_depth_zero_is_the_first_branch_only():
    opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    tree = bifurcation_diagram(
        pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts, max_depth=0
    )
    assert list(tree.children) == ["branch0"] and tree.attrs["n_branches"] == 1
    with pytest.raises(InputError, match="`max_depth` must be an integer >= 0; got -1"):
        bifurcation_diagram(pitchfork_normal_form(), [0.0], "mu", max_depth=-1)


# ---------------------------------------------------------------------------- Hopf
@pytest.mark.parametrize("a", [0.5, 1.0, 2.0])
def test_brusselator_hopf_at_one_plus_a_squared_with_frequency_a(a):
    opts = ContinuationOptions(ds_max=0.3, p_min=0.0, p_max=8.0)
    branch = continue_branch(brusselator(a=a, b=0.5), [a, 0.5 / a], "b", options=opts)
    assert branch["special_type"].values.tolist() == ["H"]
    assert float(branch["special_param"][0]) == pytest.approx(1 + a * a, abs=1e-8)
    assert float(branch["special_hopf_omega"][0]) == pytest.approx(a, rel=1e-9)
    assert int(branch["special_delta_index"][0]) == 2
    np.testing.assert_allclose(branch["x"].values[:, 0], a, atol=1e-12)  # equilibrium (a, b/a)


def test_neutral_saddle_is_not_a_hopf_point():
    """``(p x - x^3, -y)`` at the origin: eigenvalues p and -1 sum to zero at p = 1 (a neutral
    saddle) but never cross the imaginary axis as a complex pair."""
    system = System(
        lambda s, p: np.stack([p["p"] * s[..., 0] - s[..., 0] ** 3, -s[..., 1]], -1),
        ["x", "y"],
        {"p": 0.5},
    )
    branch = continue_branch(
        system, [0.0, 0.0], "p", options=ContinuationOptions(ds_max=0.1, p_min=0.5, p_max=2.0)
    )
    assert "H" not in branch["special_type"].values.tolist()
    assert np.any(np.isclose(branch["param"].values, 1.0, atol=0.1))


def planar_hopf(omega, quadratic, cubic) -> System:
    """``x' = mu x - omega y + F(x, y)``, ``y' = omega x + mu y + G(x, y)``, origin fixed."""
    a1, a2, a3, c1, c2, c3 = quadratic
    b1, b2, d1, d2 = cubic

    def f(s, p):
        x, y, mu = s[..., 0], s[..., 1], p["mu"]
        return np.stack(
            [
                mu * x
                - omega * y
                + a1 * x * x
                + a2 * x * y
                + a3 * y * y
                + b1 * x**3
                + b2 * x * y * y,
                omega * x
                + mu * y
                + c1 * x * x
                + c2 * x * y
                + c3 * y * y
                + d1 * x * x * y
                + d2 * y**3,
            ],
            -1,
        )

    return System(f, ["x", "y"], {"mu": -0.5})


@pytest.mark.parametrize(
    ("omega", "quadratic", "cubic"),
    [
        (1.0, (0, 0, 0, 0, 0, 0), (-1.0, -1.0, -1.0, -1.0)),  # normal form with sigma = -1
        (2.5, (0, 0, 0, 0, 0, 0), (0.5, 0.5, 0.5, 0.5)),  # sigma = +0.5
        (1.7, (0.3, -0.7, 0.5, -0.6, 0.25, 0.9), (-0.4, 0.2, 0.1, -0.3)),
    ],
)
def test_first_lyapunov_coefficient_matches_the_planar_formula(omega, quadratic, cubic):
    a1, a2, a3, c1, c2, c3 = quadratic
    b1, b2, d1, d2 = cubic
    fxx, fxy, fyy, gxx, gxy, gyy = 2 * a1, a2, 2 * a3, 2 * c1, c2, 2 * c3
    # Guckenheimer & Holmes (3.4.11): r' = mu r + a r^3 with
    a = (6 * b1 + 2 * b2 + 2 * d1 + 6 * d2) / 16 + (
        fxy * (fxx + fyy) - gxy * (gxx + gyy) - fxx * gxx + fyy * gyy
    ) / (16 * omega)
    branch = continue_branch(
        planar_hopf(omega, quadratic, cubic),
        [0.0, 0.0],
        "mu",
        options=ContinuationOptions(ds_max=0.2, p_max=0.5),
        direction=1,
    )
    assert branch["special_type"].values.tolist() == ["H"]
    assert abs(float(branch["special_param"][0])) < 1e-10
    # Kuznetsov's l1 (|q| = 1) relates to it by l1 = 2 a / omega
    assert float(branch["special_lyapunov"][0]) == pytest.approx(2 * a / omega, rel=1e-6, abs=1e-9)


def sparse_brusselator_with_stable_modes(a: float, m: int = 28) -> System:
    """The Brusselator in (x0, x1) plus ``m`` decoupled decaying modes ``x_i' = -i x_i``, with a
    sparse Jacobian: a Hopf point at ``b = 1 + a^2`` seen through 6 eigenvalues only."""
    rates = np.arange(1.0, m + 1.0)

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        head = np.stack([p["a"] - (p["b"] + 1) * x + x * x * y, p["b"] * x - x * x * y], -1)
        return np.concatenate([head, -rates * s[..., 2:]], -1)

    def jac(s, p):
        x, y = s[0], s[1]
        head = np.array([[-(p["b"] + 1) + 2 * x * y, x * x], [p["b"] - 2 * x * y, -x * x]])
        return sp.block_diag([head, sp.diags(-rates)], format="csr")

    return System(f, 2 + m, {"a": a, "b": 0.5}, jac=jac, probe=np.full(2 + m, 0.3))


def test_hopf_point_of_a_sparse_system_from_a_few_eigenvalues():
    a = 1.5
    system = sparse_brusselator_with_stable_modes(a)
    assert system.jacobian_is_sparse
    x0 = np.concatenate([[a, 0.5 / a], np.zeros(28)])
    branch = continue_branch(
        system, x0, "b", direction=1, options=ContinuationOptions(ds_max=0.3, p_max=5.0, n_eigen=6)
    )
    assert branch.sizes["mode"] == 6
    assert branch.attrs["index_method"].startswith("monitored eigenvalues")
    assert branch["special_type"].values.tolist() == ["H"]
    assert float(branch["special_param"][0]) == pytest.approx(1 + a * a, abs=1e-8)
    assert float(branch["special_hopf_omega"][0]) == pytest.approx(a, rel=1e-8)
    b = branch["param"].values
    np.testing.assert_array_equal(branch["index"].values, np.where(b > 1 + a * a, 2, 0))


def test_index_change_without_its_test_function_is_still_reported():
    """With fold detection off, the fold of ``x' = mu - x^2`` appears as an index change (IC)."""
    from dynsys.models import fold_normal_form

    opts = ContinuationOptions(ds_max=0.2, p_max=1.0, detect=("BP", "H", "IC"))
    branch = continue_branch(fold_normal_form(), [1.0], "mu", options=opts)
    assert branch["special_type"].values.tolist() == ["IC"]
    assert branch["special_status"].values.tolist() == [Status.CONVERGED]
    assert abs(float(branch["special_x"][0, 0])) < 1e-9  # the eigenvalue -2x crosses zero
    assert int(branch["special_delta_index"][0]) == -1  # steps run from x = -1 to x = +1


def test_hopf_of_a_pair_that_is_not_the_nearest_to_the_axis():
    """Two oscillators: pair A (``p - 1 +- 2i``) crosses at p = 1 while pair B
    (``-0.1 +- i``) stays nearer the axis at both ends of the bracketing step."""

    def f(s, p):
        x1, y1, x2, y2 = (s[..., k] for k in range(4))
        r = x1 * x1 + y1 * y1
        return np.stack(
            [
                (p["p"] - 1) * x1 - 2 * y1 - r * x1,
                2 * x1 + (p["p"] - 1) * y1 - r * y1,
                -0.1 * x2 - y2,
                x2 - 0.1 * y2,
            ],
            -1,
        )

    system = System(f, 4, {"p": 0.25})
    opts = ContinuationOptions(ds=0.3, ds_max=0.3, p_max=2.0)
    branch = continue_branch(system, np.zeros(4), "p", options=opts, direction=1)
    k = int(branch["special_step"][0])
    assert np.all(np.abs(branch["param"].values[[k, k + 1]] - 1.0) > 0.1)  # B nearer at both
    assert branch["special_type"].values.tolist() == ["H"]
    assert float(branch["special_param"][0]) == pytest.approx(1.0, abs=1e-10)
    assert float(branch["special_hopf_omega"][0]) == pytest.approx(2.0, rel=1e-9)
    # the planar formula: r' = (p - 1) r - r^3, so a = -1 and l1 = 2 a / omega = -1
    assert float(branch["special_lyapunov"][0]) == pytest.approx(-1.0, rel=1e-6)


def test_the_diagram_tree_is_the_one_xarrays_constructor_builds():
    """A diagram's DataTree (dynsys._dataset.datatree) is the one xarray's constructor gives
    from the same Datasets: the same nodes, names, parents, variables (in order), encodings and
    pickles."""
    import pickle

    from dynsys import _dataset

    tree = bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    root = tree.to_dataset()
    children = {name: tree[name].to_dataset() for name in tree.children}
    built = xr.DataTree(root, children={k: xr.DataTree(ds) for k, ds in children.items()})
    fast = _dataset.datatree(root.copy(), {k: ds.copy() for k, ds in children.items()})
    for made in (tree, fast):
        assert made.identical(built)
        assert list(made.children) == list(built.children) == ["branch0", "branch1"]
        for name in made.children:
            node, reference = made[name], built[name]
            assert node.parent is made and node.name == name
            assert list(node.variables) == list(reference.variables)
            ds, ref = node.to_dataset(), reference.to_dataset()
            assert pickle.dumps(ds) == pickle.dumps(ref)
            assert all(ds[v].dtype == ref[v].dtype for v in ds.variables)
    assert _dataset.datatree(root, {}).identical(xr.DataTree(root))


@pytest.mark.parametrize(
    ("system", "x0", "param", "opts"),
    [
        # the Hopf point (b = 2) lies on the backward run from b = 4
        (brusselator(a=1.0, b=4.0), [1.0, 4.0], "b", {"ds_max": 0.3, "p_min": 0.0, "p_max": 8.0}),
        (fold_normal_form(), [1.0], "mu", {"ds_max": 0.2, "p_max": 1.0}),
    ],
)
def test_diagram_describes_special_points_as_a_branch_does(system, x0, param, opts):
    """A diagram describes the special points of all its branches at the end, in one batch;
    its branches hold the same values as :func:`continue_branch` gives, which describes each
    branch's own (normal-form data of points located on a backward run included)."""
    opts = ContinuationOptions(**opts)
    tree = bifurcation_diagram(system, x0, param, options=opts, max_depth=0)
    branch = continue_branch(system, x0, param, options=opts)
    node = tree["branch0"].to_dataset()
    assert node["special_type"].size == 1
    for name in branch.variables:
        xr.testing.assert_identical(node[name].drop_attrs(), branch[name].drop_attrs())
    assert np.isfinite(node["special_lyapunov"].values).all() == (param == "b")
    assert np.isfinite(node["special_fold_a"].values).all() == (param == "mu")
