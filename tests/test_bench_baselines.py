"""The benchmarks' baselines do the same work as dynsys: at small sizes each one gives the same
answers, and both agree with an independent value (a closed form, a published point or a much
more accurate integration), so that no printed ratio compares unequal work."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_flow, bench_relu, bench_saddles, bench_sparse, bench_spectra
from dynsys.models.relu import gradient


# ---------------------------------------------------------------------------- ReLU gradient
def test_numpy_relu_gradient_matches_the_closed_form_values():
    # W = 2 I, teacher I (d = 2): diagonal 1/2 + 1/(2 pi), off-diagonal 1/4 (by hand from
    # Tian's G); at the teacher the gradient vanishes
    twice = bench_relu.numpy_gradient(2.0 * np.eye(2)[None], np.eye(2))
    expected = [[0.5 + 0.5 / np.pi, 0.25], [0.25, 0.5 + 0.5 / np.pi]]
    np.testing.assert_allclose(twice.reshape(2, 2), expected, rtol=1e-14)
    at_teacher = bench_relu.numpy_gradient(np.eye(3)[None], np.eye(3))
    np.testing.assert_allclose(at_teacher, 0.0, atol=1e-15)


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_numpy_relu_gradient_equals_dynsys_on_a_batch(chunk):
    W = np.random.default_rng(5).standard_normal((7, 4, 3))
    teacher = np.random.default_rng(6).standard_normal((5, 3))  # K* != K, not orthonormal
    ours = gradient(W, teacher)
    theirs = bench_relu.numpy_gradient(W, teacher, chunk=chunk)
    assert bench_relu.relative_difference(ours, theirs) <= bench_relu.TOLERANCE


# ---------------------------------------------------------------------------- flows
def test_duffing_baseline_and_flow_agree_with_a_tight_reference():
    x0 = bench_flow.starts(12)
    reference = bench_flow.scipy_duffing(x0, 1, method="DOP853", rtol=1e-13, atol=1e-14)
    baseline = bench_flow.scipy_duffing(x0, 5)
    ours = bench_flow.dynsys_duffing(x0).x_final.values
    # rtol 1e-8 over t in [0, 10]: both within 1e-5 of the reference (measured ~1e-6)
    assert np.abs(baseline - reference).max() < 1e-5
    assert np.abs(ours - reference).max() < 1e-5


@pytest.mark.parametrize("method", bench_flow.METHODS)
def test_stiff_baseline_gives_the_fates_of_flow_and_of_the_slow_manifold(method):
    # on the slow manifold y = x^2 the reduced flow is x' = x^2 - x: x0 < 1 goes to the sink,
    # x0 > 1 blows up; plus a few generic starts checked against flow
    x0 = np.r_[[[0.5, 0.25], [-1.5, 2.25], [1.5, 2.25]], bench_flow.starts(7)]
    fates = bench_flow.scipy_stiff(x0, chunk=4, method=method)
    assert fates[:3].tolist() == ["sink", "sink", "escape"]
    assert fates.tolist() == bench_flow.dynsys_fates(bench_flow.dynsys_stiff(x0)).tolist()


# ---------------------------------------------------------------------------- spectra
def test_dense_routes_and_matrix_free_give_the_same_extreme_eigenvalues():
    from dynsys.models.relu import hessian, teacher_student

    kd = 5
    W = bench_spectra.student(kd)
    full = np.linalg.eigvalsh(hessian(W, np.eye(kd)))  # the whole spectrum, by LAPACK
    expected = np.r_[full[: bench_spectra.TOP], full[-bench_spectra.TOP :]]
    for route in bench_spectra.DENSE_ROUTES.values():
        np.testing.assert_allclose(route(W), expected, atol=1e-10)
    _, ds = bench_spectra.matrix_free(teacher_student(np.eye(kd)), W)
    np.testing.assert_allclose(np.sort(ds["eigenvalue"].values), expected, atol=1e-10)


# ---------------------------------------------------------------------------- saddles
def test_ase_and_dynsys_find_the_published_mueller_brown_saddles():
    pytest.importorskip("ase")
    published = np.array([[-0.822, 0.624], [0.212, 0.293]])  # Mueller and Brown (1979)
    case = bench_saddles.case("mueller_brown")
    saddles = bench_saddles.run_dynsys(case)["x"].values
    tops = np.array(bench_saddles.run_ase(case))
    # each pair's climbing image is the saddle between them: A-M the first, M-B the second
    np.testing.assert_allclose(tops, published, atol=1e-3)
    order = np.argsort(saddles[:, 0])
    np.testing.assert_allclose(saddles[order], published, atol=1e-3)
    np.testing.assert_allclose(tops, saddles[order], atol=case["tol"])


# ---------------------------------------------------------------------------- continuation
def test_sparse_baseline_and_dynsys_find_the_closed_form_fold_on_a_2x2_grid():
    # m = 2 (h = 1/3): by symmetry all four unknowns equal u, so -18 u + lam e^u = 0 and the
    # fold is the maximum of lam = 18 u e^(-u): lam = 18 / e at u = 1
    theirs = bench_sparse.scipy_fold(2, n_eigen=2)
    ours = bench_sparse.fold_of(bench_sparse.dynsys_fold(2, n_eigen=2))
    assert theirs["fold"] == pytest.approx(18.0 / np.e, rel=1e-10)
    assert ours == pytest.approx(18.0 / np.e, rel=1e-10)


def test_sparse_baseline_and_dynsys_agree_on_an_8x8_grid():
    theirs = bench_sparse.scipy_fold(8)
    ours = bench_sparse.fold_of(bench_sparse.dynsys_fold(8))
    assert theirs["fold"] == pytest.approx(ours, rel=bench_sparse.FOLD_AGREEMENT)
    # and both near the continuum fold (the error is O(h^2), h = 1/9)
    assert abs(ours - bench_sparse.BRATU_2D_FOLD) < 0.05


# ---------------------------------------------------------------------------- the runner
def test_each_bench_starts_from_the_runs_environment(monkeypatch):
    # a bench that changes os.environ (dask's LocalCluster sets MALLOC_TRIM_THRESHOLD_ and
    # thread counts there) must not hand its variables to the processes of the next bench
    import os

    from benchmarks.__main__ import same_environment

    monkeypatch.setenv("DYNSYS_BENCH_KEPT", "1")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dict(os.environ)
    with same_environment():
        os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"
        os.environ["DYNSYS_BENCH_KEPT"] = "changed"
        del os.environ["DYNSYS_BENCH_KEPT"]
    assert dict(os.environ) == before
    with pytest.raises(RuntimeError), same_environment():
        os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"
        raise RuntimeError("a bench that fails")
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
