"""eig_left_right: scipy.linalg.eig(A, left=True, right=True), bit for bit, for less."""

import numpy as np
import pytest
import scipy.linalg as sla

from dynsys.continuation._eig import eig_left_right


@pytest.mark.parametrize("n", [1, 2, 3, 5, 12, 40])
def test_same_values_as_scipy(n):
    rng = np.random.default_rng(n)
    for k in range(20):
        A = rng.normal(size=(n, n))
        if k % 3 == 0:
            A = A + A.T  # real spectrum: real eigenvectors
        for ours, theirs in zip(eig_left_right(A), sla.eig(A, left=True, right=True), strict=True):
            assert ours.dtype == theirs.dtype
            assert np.array_equal(ours, theirs)


def test_not_finite_goes_to_scipy():
    A = np.array([[1.0, np.nan], [0.0, 2.0]])
    with pytest.raises(ValueError):
        sla.eig(A, left=True, right=True)
    with pytest.raises(ValueError):
        eig_left_right(A)
