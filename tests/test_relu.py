"""The teacher-student ReLU network: closed forms against calculus, sampling and Tian's theorems."""

import itertools
import math

import numpy as np
import pytest

from dynsys._fd import fd_gradient, fd_jacobian
from dynsys.models import relu
from dynsys.models.relu import NotDifferentiableError
from dynsys.models.relu._mc import RunningMoments

# (K, K*, d, train_a, seed): unequal sizes, over- and under-parameterised students
CONFIGS = [(3, 2, 4, False, 0), (2, 4, 3, True, 1), (4, 4, 6, False, 2), (5, 3, 2, True, 3)]


def random_network(K, K_star, d, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, d))
    W_star = rng.standard_normal((K_star, d))
    a = rng.uniform(-1.5, 1.5, K)
    a_star = rng.uniform(-1.5, 1.5, K_star)
    return W, W_star, a, a_star


def state_functions(W_star, a, a_star, K, d, train_a):
    """Loss and gradient as functions of flat states (..., n)."""

    def split(x):
        W = x[..., : K * d].reshape(*x.shape[:-1], K, d)
        return W, (x[..., K * d :] if train_a else a)

    def L(x):
        W, a_now = split(x)
        return relu.loss(W, W_star, a_now, a_star)

    def g(x):
        W, a_now = split(x)
        return relu.gradient(W, W_star, a_now, a_star, train_a=train_a)

    return L, g


# ---------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize(("K", "K_star", "d", "train_a", "seed"), CONFIGS)
def test_gradient_equals_finite_difference_of_loss(K, K_star, d, train_a, seed):
    W, W_star, a, a_star = random_network(K, K_star, d, seed)
    L, g = state_functions(W_star, a, a_star, K, d, train_a)
    x = relu.pack_state(W, a if train_a else None)
    grad = g(x)
    grad_fd = fd_gradient(L, x)
    assert grad.shape == (K * d + (K if train_a else 0),)
    assert np.abs(grad - grad_fd).max() <= 1e-7 * np.abs(grad).max()


@pytest.mark.parametrize(("K", "K_star", "d", "train_a", "seed"), CONFIGS)
def test_hessian_equals_finite_difference_of_gradient_and_is_symmetric(K, K_star, d, train_a, seed):
    W, W_star, a, a_star = random_network(K, K_star, d, seed)
    _, g = state_functions(W_star, a, a_star, K, d, train_a)
    x = relu.pack_state(W, a if train_a else None)
    H = relu.hessian(W, W_star, a, a_star, train_a=train_a)
    H_fd = fd_jacobian(g, x)
    assert np.abs(H - H_fd).max() <= 1e-6 * np.abs(H).max()
    np.testing.assert_allclose(H, np.swapaxes(H, -1, -2), rtol=0, atol=1e-14)


def test_hessian_at_parallel_and_antiparallel_units_matches_finite_differences():
    # angles 0 and pi between units are where the kernel is only twice differentiable: the
    # Hessian is Lipschitz there, so a plain central difference has an O(step) error
    W_star = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    W = np.array([[0.7, 0.2, 0.1], [1.4, 0.4, 0.2], [-0.35, -0.1, -0.05]])
    a = np.array([1.0, 0.5, -0.8])
    _, g = state_functions(W_star, a, None, 3, 3, False)
    H = relu.hessian(W, W_star, a)
    x, step = W.ravel(), 1e-7
    shifts = step * np.eye(9)
    H_fd = ((g(x + shifts) - g(x - shifts)) / (2 * step)).T
    assert np.abs(H - H_fd).max() <= 1e-6 * np.abs(H).max()


@pytest.mark.parametrize(("K", "K_star", "d", "train_a", "seed"), CONFIGS)
def test_gradient_and_loss_agree_with_monte_carlo_within_four_standard_errors(
    K, K_star, d, train_a, seed
):
    W, W_star, a, a_star = random_network(K, K_star, d, seed)
    est = relu.monte_carlo(
        W, W_star, a, a_star, n_samples=1_000_000, rng=100 + seed, train_a=train_a
    )
    grad = relu.gradient(W, W_star, a, a_star, train_a=train_a)
    assert est.n_samples == 1_000_000
    assert abs(est.loss - relu.loss(W, W_star, a, a_star)) < 4 * est.loss_se
    assert np.all(np.abs(est.gradient - grad) < 4 * est.gradient_se)
    # the standard errors are those of 10^6 samples, not of a single one
    assert np.all(est.gradient_se < 0.01 * (1 + np.abs(grad)))


def test_monte_carlo_does_not_depend_on_the_chunking():
    W, W_star, a, a_star = random_network(3, 2, 4, 7)
    one = relu.monte_carlo(W, W_star, a, a_star, n_samples=30_000, rng=5, chunk_size=30_000)
    many = relu.monte_carlo(W, W_star, a, a_star, n_samples=30_000, rng=5, chunk_size=997)
    np.testing.assert_allclose(many.gradient, one.gradient, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(many.gradient_se, one.gradient_se, rtol=1e-8)
    assert many.loss == pytest.approx(one.loss, rel=1e-10)


def test_running_moments_merge_equals_numpy_mean_and_variance():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=(1000, 3))
    acc = RunningMoments(3)
    for chunk in np.array_split(values, 7):
        acc.add_samples(chunk)
    np.testing.assert_allclose(acc.mean, values.mean(0), rtol=1e-13)
    np.testing.assert_allclose(acc.standard_error(), values.std(0, ddof=1) / np.sqrt(1000))


def test_kernel_and_gating_closed_forms_against_monte_carlo():
    rng = np.random.default_rng(11)
    d, n = 4, 1_000_000
    u, v = rng.standard_normal(d), rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    prod = np.maximum(X @ u, 0) * np.maximum(X @ v, 0)
    kern = relu.relu_kernel(u[None], v[None])[0, 0]
    assert abs(prod.mean() - kern) < 4 * prod.std() / math.sqrt(n)
    gate = X * ((X @ u > 0) * np.maximum(X @ v, 0))[:, None]  # x 1(e.x > 0) relu(w.x)
    closed = relu.population_gating(u, v)
    assert np.all(np.abs(gate.mean(0) - closed) < 4 * gate.std(0) / math.sqrt(n))


def test_kernel_special_angles():
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    U = np.array([2 * e1])
    V = np.array([3 * e1, 3 * e2, -3 * e1])
    # theta = 0: E[relu(z)^2] |u||v| = 1/2; pi/2: independent halves 1/(2 pi); pi: never both on
    np.testing.assert_allclose(relu.relu_kernel(U, V)[0], [3.0, 3.0 / np.pi, 0.0], atol=1e-15)


# ---------------------------------------------------------------------------- critical points
@pytest.mark.parametrize("K", [1, 2, 3, 4, 5])
def test_every_permutation_of_the_teacher_is_a_global_minimum(K):
    rng = np.random.default_rng(K)
    d = K + 1
    W_star = rng.standard_normal((K, d))
    a_star = rng.uniform(0.5, 1.5, K)
    perms = np.array(list(itertools.permutations(range(K))))
    W = W_star[perms]  # (K!, K, d), a batch of networks
    a = a_star[perms]
    scale = float(relu.loss(np.zeros((K, d)), W_star, np.ones(K), a_star))  # E[g*^2] / 2
    assert np.all(np.abs(relu.loss(W, W_star, a, a_star)) < 1e-13 * scale)
    grad = relu.gradient(W, W_star, a, a_star, train_a=True)
    assert np.abs(grad).max() < 1e-13
    # and it is a strict minimum up to the symmetry: nearby networks have larger loss
    bumped = W + 1e-3 * rng.standard_normal(W.shape)
    assert np.all(relu.loss(bumped, W_star, a, a_star) > 0)


def test_random_permutations_of_a_twenty_unit_teacher_are_global_minima():
    rng = np.random.default_rng(20)
    W_star = relu.random_teacher(20, 20, rng=rng)
    perms = np.array([rng.permutation(20) for _ in range(30)])
    W = W_star[perms]
    assert np.abs(relu.loss(W, W_star)).max() < 1e-12
    assert np.abs(relu.gradient(W, W_star)).max() < 1e-12
    shifted = W_star[np.roll(np.arange(20), 1)] + 0.1 * rng.standard_normal((20, 20))
    assert relu.loss(shifted, W_star) > 1e-3  # the test can fail: not every point is a minimum


def symmetric_point(K, x, y):
    return y * np.ones((K, K)) + (x - y) * np.eye(K)


@pytest.mark.parametrize("K", range(2, 21))
def test_tian_theorem_7_symmetric_saddle_has_zero_gradient(K):
    value = (math.sqrt(K - 1) - math.acos(1 / math.sqrt(K)) + math.pi) / (math.pi * K)
    teacher = relu.orthonormal_teacher(K)
    grad = relu.gradient(symmetric_point(K, value, value), teacher)
    assert np.abs(grad).max() < 1e-10
    # off the saddle on the same line the gradient does not vanish
    off = relu.gradient(symmetric_point(K, 1.01 * value, 1.01 * value), teacher)
    assert np.abs(off).max() > 1e-4
    # the teacher, (x, y) = (1, 0), is critical too
    assert np.abs(relu.gradient(symmetric_point(K, 1.0, 0.0), teacher)).max() < 1e-12


@pytest.mark.parametrize("K", [2, 3, 5])
def test_symmetric_saddle_hessian_has_negative_and_exactly_k_minus_one_zero_eigenvalues(K):
    value = (math.sqrt(K - 1) - math.acos(1 / math.sqrt(K)) + math.pi) / (math.pi * K)
    H = relu.hessian(symmetric_point(K, value, value), relu.orthonormal_teacher(K))
    eig = np.linalg.eigvalsh(H)
    assert eig.min() < -0.1 and eig.max() > 0.1  # a saddle, as Theorem 7 says
    # all K units equal u: rescaling them by (1 + t_j) with sum t_j = 0 keeps g, hence L, fixed;
    # these K - 1 directions span the null space (a manifold of critical points)
    assert np.sum(np.abs(eig) < 1e-10) == K - 1
    u = symmetric_point(K, value, value)[0]
    t = np.eye(K)[:-1] - np.eye(K)[-1]  # (K - 1, K), rows sum to 0
    directions = (t[:, :, None] * u).reshape(K - 1, K * K)
    assert np.abs(directions @ H).max() < 1e-12


# ---------------------------------------------------------------------------- the singular set
def test_zero_unit_loss_is_defined_and_equals_the_network_without_it():
    W, W_star, a, a_star = random_network(3, 2, 4, 9)
    W[1] = 0.0
    assert relu.loss(W, W_star, a, a_star) == pytest.approx(
        float(relu.loss(W[[0, 2]], W_star, a[[0, 2]], a_star)), rel=1e-13
    )


def test_zero_unit_gradient_raises_or_is_nan_per_item_as_documented():
    W, W_star, a, a_star = random_network(3, 2, 4, 9)
    batch = np.stack([W, W, W])
    batch[1, 2] = 0.0
    with pytest.raises(NotDifferentiableError, match=r"unit\(s\) \[3\]"):
        relu.gradient(batch, W_star, a, a_star)
    with pytest.raises(NotDifferentiableError):
        relu.hessian(batch, W_star, a, a_star)
    grad = relu.gradient(batch, W_star, a, a_star, on_singular="nan")
    assert np.all(np.isnan(grad[1])) and np.all(np.isfinite(grad[[0, 2]]))
    np.testing.assert_array_equal(grad[0], relu.gradient(W, W_star, a, a_star))
    hess = relu.hessian(batch, W_star, a, a_star, on_singular="nan")
    assert np.all(np.isnan(hess[1])) and np.all(np.isfinite(hess[[0, 2]]))
    flat = batch.reshape(3, -1)
    assert relu.singular_mask(flat, K=3, d=4).tolist() == [False, True, False]
    system = relu.teacher_student(W_star, K=3, a=a, a_star=a_star)
    field = system.f(flat)
    assert np.all(np.isnan(field[1])) and np.all(np.isfinite(field[[0, 2]]))
    assert np.isfinite(system.potential(flat)).all()


def test_gradient_jumps_at_a_zero_unit():
    # the one-sided limits of the gradient at w_j = 0 depend on the direction of approach
    W, W_star, a, a_star = random_network(2, 2, 3, 4)
    u = np.array([1.0, 0.0, 0.0])
    limits = []
    for direction in (u, -u):
        W_t = W.copy()
        W_t[0] = 1e-9 * direction
        limits.append(relu.gradient(W_t, W_star, a, a_star)[:3])
    assert np.abs(limits[0] - limits[1]).max() > 1e-2


# ---------------------------------------------------------------------------- the system
def test_teacher_student_system_is_the_negative_gradient_and_hessian():
    W, W_star, a, a_star = random_network(3, 2, 4, 12)
    system = relu.teacher_student(W_star, K=3, a=a, a_star=a_star)
    x = np.stack([W.ravel(), 0.5 * W.ravel()])
    # the system's gradient takes the fixed-teacher path (same formula, other rounding)
    np.testing.assert_allclose(
        system.f(x), -relu.gradient(x.reshape(2, 3, 4), W_star, a, a_star), rtol=0, atol=1e-14
    )
    np.testing.assert_array_equal(
        system.jac(x), -relu.hessian(x.reshape(2, 3, 4), W_star, a, a_star)
    )
    np.testing.assert_allclose(
        system.potential(x), relu.loss(x.reshape(2, 3, 4), W_star, a, a_star)
    )
    assert system.n == 12 and system.state_names[-1] == "w3_4" and system.has_analytic_jacobian

    trained = relu.teacher_student(W_star, K=3, a_star=a_star, train_a=True)
    z = relu.pack_state(W, a)
    assert trained.state_names[-3:] == ("a1", "a2", "a3")
    np.testing.assert_array_equal(
        trained.gradient(z), relu.gradient(W, W_star, a, a_star, train_a=True)
    )


def test_batched_gradient_and_hessian_equal_the_per_network_values():
    rng = np.random.default_rng(3)
    W_star = rng.standard_normal((3, 5))
    W = rng.standard_normal((4, 2, 3, 5))  # a (4, 2) batch of networks
    a = rng.standard_normal((4, 2, 3))
    grad = relu.gradient(W, W_star, a, train_a=True)
    hess = relu.hessian(W, W_star, a, train_a=True)
    for i, j in itertools.product(range(4), range(2)):
        np.testing.assert_allclose(
            grad[i, j], relu.gradient(W[i, j], W_star, a[i, j], train_a=True)
        )
        np.testing.assert_allclose(hess[i, j], relu.hessian(W[i, j], W_star, a[i, j], train_a=True))


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="input dimension"):
        relu.loss(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="`a` has shape"):
        relu.loss(np.ones((2, 3)), np.ones((2, 3)), a=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="on_singular"):
        relu.gradient(np.ones((2, 3)), np.ones((2, 3)), on_singular="ignore")
    with pytest.raises(ValueError, match="train_a"):
        relu.teacher_student(np.eye(2), a=[1.0, 1.0], train_a=True)
    with pytest.raises(ValueError, match="one hidden unit"):
        relu.loss(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        relu.monte_carlo(np.eye(2), np.eye(2), n_samples=1, rng=0)


# ---------------------------------------------------------------------------- helpers
def test_hungarian_matching_recovers_a_known_permutation():
    rng = np.random.default_rng(8)
    W_star = rng.standard_normal((6, 4))
    perms = np.array([rng.permutation(6) for _ in range(5)])
    noise = 1e-3 * rng.standard_normal((5, 6, 4))
    distance, found = relu.distance_to_teacher(W_star[perms] + noise, W_star)
    np.testing.assert_array_equal(found, perms)
    np.testing.assert_allclose(distance, np.linalg.norm(noise.reshape(5, -1), axis=1), rtol=1e-12)


def test_hungarian_matching_with_an_extra_student_unit_counts_its_norm():
    W_star = np.eye(3)
    W = np.vstack([W_star[[1, 2, 0]], [[0.0, 0.3, 0.4]]])
    distance, perm = relu.distance_to_teacher(W, W_star)
    assert perm.tolist() == [1, 2, 0, -1]
    assert float(distance) == pytest.approx(0.5, rel=1e-14)


def test_teachers_and_initialisations():
    assert np.allclose(
        relu.orthonormal_teacher(4, rng=3) @ relu.orthonormal_teacher(4, rng=3).T, np.eye(4)
    )
    W = relu.two_unit_teacher(1.0, d=4, norms=(2.0, 3.0))
    assert np.linalg.norm(W, axis=1).tolist() == pytest.approx([2.0, 3.0])
    assert math.acos(W[0] @ W[1] / 6.0) == pytest.approx(1.0, rel=1e-14)
    x = relu.xavier_init(5, 15, rng=0, size=2000)
    assert x.std() == pytest.approx(math.sqrt(2 / 20), rel=0.01)  # 150k draws: 0.2% s.e.
    ball = relu.small_ball_init(3, 2, radius=0.1, rng=1, size=20_000).reshape(-1, 3, 2)
    r = np.linalg.norm(ball, axis=-1)
    assert r.max() <= 0.1
    # uniform in a disc: P(r < radius / 2) = 1/4, 60k units give s.e. 0.0018
    assert abs((r < 0.05).mean() - 0.25) < 4 * math.sqrt(0.25 * 0.75 / r.size)
    with pytest.raises(ValueError, match="orthonormal"):
        relu.orthonormal_teacher(3, 2)


@pytest.mark.parametrize("K, K_star, d", [(3, 5, 4), (7, 6, 6), (20, 20, 20)])
def test_fixed_teacher_path_equals_the_general_gradient(K, K_star, d):
    rng = np.random.default_rng(K * 100 + d)
    W_star = rng.standard_normal((K_star, d))
    a, a_star = rng.uniform(0.5, 1.5, K), rng.uniform(-1.0, 1.5, K_star)
    system = relu.teacher_student(W_star, K=K, a=a, a_star=a_star)
    x = rng.standard_normal((3, 70, K * d)) / np.sqrt(d)  # crosses the internal chunk size
    expected = relu.gradient(x.reshape(3, 70, K, d), W_star, a, a_star)
    got = system.gradient(x)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13 * np.abs(expected).max())
    # a zero hidden unit: the item is flagged NaN, the others are untouched
    x[1, 5, :d] = 0.0
    got = system.gradient(x)
    assert np.isnan(got[1, 5]).all() and np.isfinite(np.delete(got.reshape(-1, K * d), 75, 0)).all()


@pytest.mark.parametrize(
    "options",
    [
        {"converge_tol": 1e-9 / (2 * np.pi), "converge_block": 4, "t_max": np.inf},
        {"converge_tol": 1e-10, "t_max": np.inf, "max_steps": 10**6},
        {"converge_tol": None, "t_max": np.inf, "max_steps": 700},  # step limit
        {"converge_tol": None, "t_max": 35.0},  # time limit: 350 iterations
        {"converge_tol": 1e-10, "t_max": np.inf, "escape_radius": 3.0, "learning_rate": 9.0},
    ],
)
def test_compiled_descent_tail_follows_the_numpy_loop(options):
    # the last runs of a batch are finished by a compiled loop; it must stop on the same rules,
    # at the same iteration, at the same state (up to rounding) as the numpy loop
    from dynsys.integrate import FlowOptions, flow

    options = {"method": "gradient_descent", "learning_rate": 0.1, **options}
    rng = np.random.default_rng(11)
    x0 = rng.normal(0.0, 0.5, (3, 16))
    with_tail = relu.teacher_student(np.eye(4))
    without = relu.teacher_student(np.eye(4), compiled=False)
    assert with_tail.descent_kernel is not None and without.descent_kernel is None
    a = flow(with_tail, x0, options=FlowOptions(**options))
    b = flow(without, x0, options=FlowOptions(**options))
    np.testing.assert_array_equal(a["status"].values, b["status"].values)
    np.testing.assert_array_equal(a["n_steps"].values, b["n_steps"].values)
    np.testing.assert_allclose(a["x_final"].values, b["x_final"].values, rtol=0, atol=1e-11)
    np.testing.assert_allclose(a["t_final"].values, b["t_final"].values, rtol=1e-15)
