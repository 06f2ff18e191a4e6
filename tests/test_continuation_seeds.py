"""The continuation seed problems at a small size, against mathematics:

- Theorem 7: the symmetric saddle continued in K matches Tian's closed form to 1e-9 at every point
  for K in [1.5, 50];
- the K = 2 critical points continued in the teacher angle are critical (closed-form gradient ~ 0)
  at every step, and each special point has a Hessian eigenvalue crossing zero;
- the mixed-sign second-layer weight: the first special point on the spurious branches is a zero
  of a Hessian eigenvalue, and Newton on the extended system (grad = 0, H v = 0) finds it too;
- the locator of special points, when its corrector fails next to a branch point, returns the
  point nearest the zero of the test function that it found (regression test).
"""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.optimize import root

from dynsys import Status
from dynsys.continuation import _detect
from dynsys.models.reduced import theorem7_saddle
from dynsys.models.relu import gradient, hessian, two_unit_teacher

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"seed_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- Theorem 7
def test_theorem7_saddle_matches_the_closed_form_for_K_from_1_5_to_50():
    example = load_example("theorem7_continuation_in_K")
    branch = example.continue_saddle(quick=True)
    K = branch["param"].values
    assert K.min() == 1.5 and K.max() == 50.0
    assert branch.sizes["step"] >= 20
    expected = theorem7_saddle(K)
    np.testing.assert_allclose(branch["x"].values[:, 0], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(branch["x"].values[:, 1], expected, rtol=0, atol=1e-9)
    # a saddle of index 1 all along (Theorem 7: attracting on the diagonal, repelling across)
    assert set(branch["index"].values.tolist()) == {1}


# ---------------------------------------------------------------------------- angle
@pytest.fixture(scope="module")
def angle_run():
    example = load_example("two_unit_angle_continuation")
    system = example.angle_system()
    points = example.critical_points(system, seeds=200)
    tree = example.continue_in_angle(system, points, quick=True)
    return example, points, example.branches(tree)


def test_angle_teacher_is_two_unit_teacher():
    example = load_example("two_unit_angle_continuation")
    for angle in np.linspace(0.0, np.pi, 7):
        np.testing.assert_array_equal(example.teacher_at(angle), two_unit_teacher(angle))


def test_angle_branches_are_critical_at_every_step(angle_run):
    _, points, branches = angle_run
    assert (points["nullity"].values == 0).sum() >= 2  # the global minimum and a saddle
    assert branches
    for name, branch in branches.items():
        angles = branch["param"].values
        assert angles.min() >= 0.1 - 1e-12 and angles.max() <= np.pi + 1e-12, name
        W = branch["x"].values.reshape(-1, 2, 2)
        for w, angle in zip(W, angles, strict=True):
            g = gradient(w, two_unit_teacher(min(max(angle, 0.0), np.pi)))
            assert np.abs(g).max() < 1e-9, (name, angle)


def test_angle_special_points_are_zero_hessian_eigenvalues(angle_run):
    _, _, branches = angle_run
    rows = 0
    for name, branch in branches.items():
        for row in range(branch.sizes["special"]):
            angle = float(branch["special_param"].values[row])
            W = branch["special_x"].values[row].reshape(2, 2)
            eig = np.linalg.eigvalsh(hessian(W, two_unit_teacher(angle)))
            assert np.abs(eig).min() < 1e-6 * np.abs(eig).max(), (name, angle)
            rows += 1
    assert rows >= 1  # the symmetry-breaking branch point of the symmetric saddle


# ---------------------------------------------------------------------------- mixed signs
@pytest.fixture(scope="module")
def mixed_run():
    example = load_example("mixed_sign_second_layer")
    system = example.mixed_sign_system(2)
    points = example.critical_points(system, -1.0, seeds=300)
    return example, example.follow(system, points, quick=True)


def extended_root(x, a1):
    """Newton on ``grad L = 0, H v = 0, <v, v0> = 1`` in ``(W, a_1, v)``, for K = 2, from
    the closed-form gradient and Hessian only."""
    W_star = np.eye(2)

    def a_of(a):
        return np.array([a, 1.0])

    H0 = hessian(x.reshape(2, 2), W_star, a_of(a1), a_of(a1))
    w, V = np.linalg.eigh(H0)
    v0 = V[:, np.argmin(np.abs(w))]

    def equations(z):
        W, a, v = z[:4].reshape(2, 2), z[4], z[5:]
        return np.concatenate(
            [
                gradient(W, W_star, a_of(a), a_of(a)),
                hessian(W, W_star, a_of(a), a_of(a)) @ v,
                [v @ v0 - 1.0],
            ]
        )

    sol = root(equations, np.concatenate([x, [a1], v0]), method="hybr", tol=1e-14)
    assert np.linalg.norm(equations(sol.x)) < 1e-12
    return sol.x[4]


def test_mixed_sign_first_special_point_is_a_hessian_zero(mixed_run):
    example, branches = mixed_run
    found = example.first_special(branches)
    assert found is not None
    name, row = found
    branch = branches[name]
    a1 = float(branch["special_param"].values[row])
    x = branch["special_x"].values[row]
    W_star, a = np.eye(2), np.array([a1, 1.0])
    assert 0.0 < a1 < 1.0
    assert np.abs(gradient(x.reshape(2, 2), W_star, a, a)).max() < 1e-12
    eig = np.linalg.eigvalsh(hessian(x.reshape(2, 2), W_star, a, a))
    rank = int(np.argmin(np.abs(eig)))
    assert abs(eig[rank]) < 1e-9 * np.abs(eig).max()
    # the same eigenvalue has opposite signs on the two sides: a minimum meets a saddle
    step = int(branch["special_step"].values[row])
    sides = []
    for j in (step, step + 1):
        aj = np.array([branch["param"].values[j], 1.0])
        Wj = branch["x"].values[j].reshape(2, 2)
        sides.append(np.linalg.eigvalsh(hessian(Wj, W_star, aj, aj))[rank])
    assert sides[0] * sides[1] < 0
    kinds = {str(branch["kind"].values[step]), str(branch["kind"].values[step + 1])}
    assert kinds == {"minimum", "saddle-1"}
    # an independent location: Newton on the extended system
    assert abs(extended_root(x, a1) - a1) < 1e-8


def test_mixed_sign_teacher_never_loses_stability():
    example = load_example("mixed_sign_second_layer")
    system = example.mixed_sign_system(2)
    branch = example.teacher_branch(system, quick=True)
    assert branch["param"].values.min() == -1.0
    assert branch.sizes["special"] == 0
    assert set(branch["kind"].values.tolist()) == {"minimum"}
    # zero residual: the Hessian is the Gauss-Newton matrix D M D, D = diag(a_j I)
    assert example.congruence_error(branch, 2) < 1e-12


# ---------------------------------------------------------------------------- locator
def test_failed_location_returns_the_point_nearest_the_zero():
    """The corrector may fail next to a branch point; the best point found must be returned,
    not the last Illinois iterate (regression: it returned the last one, 1e-5 off)."""

    def point(s):
        return SimpleNamespace(u=np.array([s]))

    def fn(pt):
        return np.tanh(20.0 * (pt.u[0] - 0.3))

    class Branch:
        span = 1.0
        left, right = point(0.0), point(1.0)

        def __init__(self):
            self.known = [(0.0, self.left), (1.0, self.right)]
            self.calls = 0

        def at(self, s):
            self.calls += 1
            if self.calls < 3:
                pt = point(s)
                self.known.append((s, pt))
                return pt
            near = point(0.3 + 1e-7)  # an approach step got close, then the target failed
            self.known.append((0.3 + 1e-7, near))
            return None

    branch = Branch()
    options = SimpleNamespace(locate_tol=1e-12, locate_max_iter=60)
    found, status = _detect._illinois(branch, fn, options)
    assert status == Status.MAX_ITER  # not located: the best estimate so far
    assert found.u[0] == 0.3 + 1e-7
