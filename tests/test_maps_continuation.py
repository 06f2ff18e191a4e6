"""Continuation of map fixed points and cycles: LP, BP, PD and NS against known values, and
switching onto doubled cycles along the logistic cascade."""

import numpy as np
import pytest
from numpy.polynomial import Polynomial

from dynsys import ContinuationOptions, GradientSystem, NewtonOptions, Status, status_names
from dynsys.continuation import bifurcation_diagram, continue_branch, switch_branch
from dynsys.io import load, load_tree, save
from dynsys.maps import Map, gradient_descent_map
from dynsys.models import double_well, teacher_student

# Feigenbaum's cascade of the logistic map: r_1 = 3, r_2 = 1 + sqrt(6), then to 13 digits
CASCADE = [3.0, 1.0 + np.sqrt(6.0), 3.544090359551922, 3.564407266095]
TIGHT = NewtonOptions(step_tol=1e-12, max_iter=8)


def logistic(r: float = 2.5) -> Map:
    return Map(
        lambda x, p: p["r"] * x * (1 - x),
        ["x"],
        {"r": r},
        jac=lambda x, p: (p["r"] * (1 - 2 * x))[..., None],
        dgdp=lambda x, p, name: x * (1 - x),
        name="logistic",
    )


def logistic_as_descent(r: float = 2.5) -> Map:
    """The logistic map as gradient descent with step 1 on V = (1 - r) x^2 / 2 + r x^3 / 3:
    x - V'(x) = x - (1 - r) x - r x^2 = r x (1 - x)."""

    def V(x, p):
        return (1 - p["r"]) * x[..., 0] ** 2 / 2 + p["r"] * x[..., 0] ** 3 / 3

    def grad(x, p):
        return (1 - p["r"]) * x + p["r"] * x**2

    def hess(x, p):
        return (1 - p["r"] + 2 * p["r"] * x)[..., None]

    system = GradientSystem(V, ["x"], {"r": r}, grad=grad, hess=hess, name="cubic")
    return gradient_descent_map(system, step=1.0)


def pd_rows(branch) -> list[int]:
    """Rows of the period doublings located on a branch; a branch from switch_branch starts at
    a PD of its parent (row 0, at ``start_step``), which is left out."""
    types = branch["special_type"].values.tolist()
    switched = int(branch.attrs.get("parent_special", -1)) >= 0
    return [i for i, t in enumerate(types) if t == "PD" and not (switched and i == 0)]


def cascade(map, levels: int) -> tuple[list[float], list]:
    opts = ContinuationOptions(ds_max=0.02, p_min=2.5, p_max=3.569, newton=TIGHT)
    branch = continue_branch(map, [0.6], "r", options=opts)
    found, branches = [], [branch]
    for _ in range(levels):
        row = pd_rows(branch)[0]
        assert branch["special_status"].values[row] == Status.CONVERGED
        found.append(float(branch["special_param"][row]))
        branch = switch_branch(map, branch, row, options=opts)
        branches.append(branch)
    return found, branches


def test_logistic_cascade_by_switching_at_each_period_doubling():
    found, branches = cascade(logistic(), 4)
    np.testing.assert_allclose(found, CASCADE, atol=1e-9, rtol=0)
    assert [int(b.attrs["period"]) for b in branches] == [1, 2, 4, 8, 16]
    for b in branches:
        assert b["x_cycle"].shape[1] == b.attrs["period"]
        # every point of every branch is a cycle of the map: g(x_i) = x_(i+1)
        X, r = b["x_cycle"].values[..., 0], b["param"].values[:, None]
        assert np.abs(r * X * (1 - X) - np.roll(X, -1, axis=1)).max() < 1e-10
    # the flip coefficient of x -> r x (1 - x) at r = 3, x = 2/3: c = 9 (supercritical)
    first = branches[0]
    row = pd_rows(first)[0]
    assert float(first["special_flip_c"][row]) == pytest.approx(9.0, rel=1e-5)
    # the doubled cycles are stable between their birth and their own doubling
    two = branches[1]
    inside = (two["param"] > CASCADE[0] + 1e-3) & (two["param"] < CASCADE[1] - 1e-3)
    assert bool(two["stable"].where(inside, drop=True).all())
    assert float(np.abs(two["multiplier_real"].values).max()) < 20


def test_the_logistic_map_as_gradient_descent_doubles_at_the_same_values():
    found, _ = cascade(logistic_as_descent(), 2)
    np.testing.assert_allclose(found, CASCADE[:2], atol=1e-9, rtol=0)


def test_bifurcation_diagram_follows_the_cascade(tmp_path):
    opts = ContinuationOptions(ds_max=0.02, p_min=2.5, p_max=3.569, newton=TIGHT)
    tree = bifurcation_diagram(logistic(), [0.6], "r", options=opts, max_depth=3)
    periods = [int(tree[name].attrs["period"]) for name in sorted(tree.children)]
    assert periods == [1, 2, 4, 8]
    doubling = []
    for name in sorted(tree.children):
        branch = tree[name].to_dataset()
        doubling += [float(branch["special_param"][i]) for i in pd_rows(branch)]
    np.testing.assert_allclose(sorted(doubling), CASCADE, atol=1e-9, rtol=0)
    back = load_tree(save(tree, tmp_path / "cascade.nc"))
    assert sorted(back.children) == sorted(tree.children)


def test_double_well_descent_flips_at_step_one(tmp_path):
    gd = gradient_descent_map(double_well(), step=0.5)
    opts = ContinuationOptions(ds_max=0.1, p_min=0.1, p_max=2.5, newton=TIGHT)
    branch = continue_branch(gd, [1.0, 0.0], "eta", options=opts)
    assert branch["special_type"].values.tolist() == ["PD", "PD"]
    # multipliers 1 - 2 eta (x, curvature 2) and 1 - eta (y, curvature 1): -1 at 1 and 2
    np.testing.assert_allclose(branch["special_param"].values, [1.0, 2.0], atol=1e-10, rtol=0)
    mu = branch["special_multiplier_real"].values  # sorted by modulus: -1 first, then -3
    np.testing.assert_allclose(mu, [[-1.0, 0.0], [-3.0, -1.0]], atol=1e-10)
    eta = branch["param"].values
    np.testing.assert_allclose(
        np.sort(branch["multiplier_real"].values, axis=1),
        np.sort(np.column_stack([1 - 2 * eta, 1 - eta]), axis=1),
        atol=1e-12,
    )
    assert branch["stable"].values.tolist() == (eta < 1).tolist()
    # c = g'''/6 - g'' (g'')/(g' - 1) / 2 = -1 + 9 = 8 for g = x - eta (x^3 - x) at x = 1, eta = 1
    assert float(branch["special_flip_c"][0]) == pytest.approx(8.0, rel=1e-5)
    assert status_names(branch["status"].values).tolist() == ["param_bound", "param_bound"]
    back = load(save(branch, tmp_path / "branch.nc"))
    np.testing.assert_array_equal(back["multiplier_real"].values, branch["multiplier_real"].values)

    # the doubled branch: the 2-cycles x -> g(x) -> x, the roots of (g(g(x)) - x)/(g(x) - x)
    two = switch_branch(gd, branch, 0, options=opts.replace(p_max=1.2))
    assert two.attrs["period"] == 2 and two["special_type"].values[0] == "PD"
    x = two["x_cycle"].sel(state="x").values
    np.testing.assert_allclose(two["x_cycle"].sel(state="y").values, 0.0, atol=1e-12)
    checked = 0
    for k in range(1, two.sizes["step"]):
        e = float(two["param"][k])
        g = Polynomial([0.0, 1.0 + e, 0.0, -e])
        z = Polynomial([0.0, 1.0])
        roots = divmod(g(g) - z, g - z)[0].roots()
        roots = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
        if e > 1.0 + 1e-4:
            near = roots[np.abs(roots - 1.0) < 0.5]
            np.testing.assert_allclose(np.sort(x[k]), near, atol=1e-10, rtol=0)
            checked += 1
    assert checked > 5
    assert bool(two["stable"][1:].all())  # supercritical: stable for 1 < eta < 1.2


def test_neimark_sacker_of_the_delayed_logistic_map():
    # x -> y, y -> r y (1 - x): the fixed point (1 - 1/r, 1 - 1/r) has Dg = [[0, 1], [1 - r, 1]],
    # det r - 1, trace 1: a complex pair of modulus sqrt(r - 1), on the unit circle at r = 2,
    # where it is exp(+-i pi / 3)
    def g(x, p):
        return np.stack([x[..., 1], p["r"] * x[..., 1] * (1 - x[..., 0])], axis=-1)

    delayed = Map(g, ["x", "y"], {"r": 1.5}, name="delayed logistic")
    opts = ContinuationOptions(ds_max=0.1, p_min=1.3, p_max=2.6, newton=TIGHT)
    branch = continue_branch(delayed, [1 / 3, 1 / 3], "r", options=opts)
    assert branch["special_type"].values.tolist() == ["NS"]
    assert float(branch["special_param"][0]) == pytest.approx(2.0, abs=1e-10)
    assert float(branch["special_ns_angle"][0]) == pytest.approx(np.pi / 3, abs=1e-9)
    r = branch["param"].values
    mu = branch["multiplier_real"].values + 1j * branch["multiplier_imag"].values
    np.testing.assert_allclose(np.abs(mu), np.sqrt(r - 1)[:, None] * [1, 1], rtol=1e-9)
    np.testing.assert_allclose(branch["x"].values, (1 - 1 / r)[:, None] * [1, 1], atol=1e-12)
    assert set(branch["kind"].values[r < 1.99]) == {"focus sink"}
    assert set(branch["kind"].values[r > 2.01]) == {"focus source"}


def test_fold_and_flip_of_a_quadratic_map():
    # x -> x + mu - x^2: fixed points x = +-sqrt(mu) meet at a fold at mu = 0 (multiplier
    # 1 - 2x = +1); the upper one flips at x = 1, mu = 1 (multiplier -1)
    quad = Map(lambda x, p: x + p["mu"] - x**2, ["x"], {"mu": 0.25}, name="quadratic")
    opts = ContinuationOptions(ds_max=0.05, p_min=-0.5, p_max=1.5, newton=TIGHT)
    branch = continue_branch(quad, [0.5], "mu", options=opts)
    types = branch["special_type"].values.tolist()
    assert sorted(types) == ["LP", "PD"]
    lp, pd = types.index("LP"), types.index("PD")
    assert float(branch["special_param"][lp]) == pytest.approx(0.0, abs=1e-10)
    assert float(branch["special_multiplier_real"][lp, 0]) == pytest.approx(1.0, abs=1e-8)
    # residual mu - x^2: the fixed points exist above the fold value, so a = -1 (Kuznetsov)
    assert float(branch["special_fold_a"][lp]) == pytest.approx(-1.0, rel=1e-5)
    assert float(branch["special_param"][pd]) == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(branch["special_x"].values[pd], [1.0], atol=1e-10)
    x, mu = branch["x"].values[:, 0], branch["param"].values
    np.testing.assert_allclose(x**2, mu, atol=1e-12)
    np.testing.assert_allclose(branch["multiplier_real"].values[:, 0], 1 - 2 * x, atol=1e-12)


def test_transcritical_branch_point_and_switch():
    # the trivial fixed point 0 of r x (1 - x) has multiplier r: it exchanges stability with
    # 1 - 1/r at r = 1
    opts = ContinuationOptions(ds_max=0.05, p_min=0.5, p_max=1.8, newton=TIGHT, detect=("BP",))
    trivial = continue_branch(logistic(0.6), [0.0], "r", options=opts)
    assert trivial["special_type"].values.tolist() == ["BP"]
    assert float(trivial["special_param"][0]) == pytest.approx(1.0, abs=1e-10)
    other = switch_branch(logistic(), trivial, 0, options=opts)
    x, r = other["x"].values[:, 0], other["param"].values
    np.testing.assert_allclose(x, 1 - 1 / r, atol=1e-10)
    assert r.min() < 0.6 and r.max() > 1.7
    assert other["stable"].values.tolist() == (r > 1).tolist()


def test_teacher_student_descent_loses_the_minimum_at_two_over_the_top_curvature():
    system = teacher_student(np.eye(2))
    teacher = np.eye(2).ravel()
    lam_max = float(np.linalg.eigvalsh(system.hessian(teacher))[-1])
    gd = gradient_descent_map(system, step=1.0)
    opts = ContinuationOptions(ds_max=0.1, p_min=0.5, p_max=2.6, newton=TIGHT)
    branch = continue_branch(gd, teacher, "eta", options=opts)
    assert branch["special_type"].values.tolist() == ["PD"]
    assert float(branch["special_param"][0]) == pytest.approx(2.0 / lam_max, abs=1e-8)
    np.testing.assert_allclose(branch["x"].values, np.tile(teacher, (branch.sizes["step"], 1)))
