"""The spectra monitored along a branch (computed in one batch at the end of each run for small
dense systems) are the true ones: checked against characteristic polynomials and spectra known
in closed form."""

import numpy as np
import pytest

from dynsys.continuation import ContinuationOptions, bifurcation_diagram
from dynsys.continuation._linalg import dense_spectra
from dynsys.models import lorenz

SIGMA, BETA = 10.0, 8.0 / 3.0
HOPF_R = 470.0 / 19.0


@pytest.fixture(scope="module")
def diagram():
    options = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
    tree = bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=options)
    return [tree[name].dataset for name in sorted(tree.children)]


def _eigenvalues(branch):
    return branch["eigenvalue_real"].values + 1j * branch["eigenvalue_imag"].values


def test_origin_spectrum_is_minus_beta_and_the_quadratic_roots(diagram):
    origin = diagram[0]
    for r, lam in zip(origin["param"].values, _eigenvalues(origin), strict=True):
        expected = np.append(np.roots([1.0, SIGMA + 1.0, SIGMA * (1.0 - r)]), -BETA)
        assert np.allclose(np.sort_complex(lam), np.sort_complex(expected), atol=1e-9)
    r = origin["param"].values
    assert np.array_equal(origin["index"].values, (r > 1.0).astype(int))
    assert np.array_equal(origin["stable"].values, r < 1.0)


def test_pair_spectrum_solves_the_characteristic_polynomial(diagram):
    pair = diagram[1]
    r = pair["param"].values
    lam = _eigenvalues(pair)
    away = np.abs(r - 1.0) > 1e-6  # the branch point itself has a double zero eigenvalue
    coeffs = np.stack(
        [np.ones_like(r), np.full_like(r, SIGMA + BETA + 1.0), BETA * (SIGMA + r)], axis=1
    )
    poly = (
        lam**3
        + coeffs[:, 1:2] * lam**2
        + coeffs[:, 2:3] * lam
        + (2 * SIGMA * BETA * (r - 1))[:, None]
    )
    scale = 1.0 + np.abs(lam) ** 3
    assert np.all(np.abs(poly[away]) <= 1e-9 * scale[away])
    # two eigenvalues cross into the right half plane at the Hopf point
    expected_index = np.where(r > HOPF_R, 2, 0)
    assert np.array_equal(pair["index"].values[away], expected_index[away])


def test_dense_spectra_of_a_mixed_stack_are_the_known_ones_sorted():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    symmetric = q @ np.diag([2.0, -1.0, 0.5]) @ q.T
    focus = np.array([[-1.0, -3.0, 0.0], [3.0, -1.0, 0.0], [0.0, 0.0, 4.0]])
    got = dense_spectra(np.stack([symmetric, focus, np.zeros((3, 3))]))
    assert np.allclose(got[0], [2.0, 0.5, -1.0], atol=1e-12)
    assert np.allclose(got[1], [4.0, -1.0 + 3.0j, -1.0 - 3.0j], atol=1e-12)
    assert np.array_equal(got[2], np.zeros(3, dtype=complex))
