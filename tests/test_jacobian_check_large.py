"""An analytic Jacobian is checked at every size: above the size where a full finite-difference
Jacobian is affordable, along fixed directions (``J v`` against a directional difference of the
field); for the teacher-student network above 2,000 parameters, its Hessian action matrix-free.
A wrong entry is refused with the row named, a right one accepted."""

import numpy as np
import pytest

from dynsys import System
from dynsys.errors import InvalidSystemError
from dynsys.models import teacher_student
from dynsys.models.relu import _network

N = 400  # above the full finite-difference check (200)


def coupled(wrong_row: int | None):
    """x_i' = -x_i + 0.5 sin(x_{i+1}): a dense Jacobian of size N, one entry wrong if asked."""

    def f(x, p):
        return -x + 0.5 * np.sin(np.roll(x, -1, axis=-1))

    def jac(x, p):
        J = -np.eye(N) + 0.5 * np.eye(N, k=1) * np.cos(np.roll(x, -1, axis=-1))[..., :, None]
        J[..., N - 1, 0] = 0.5 * np.cos(x[..., 0])
        if wrong_row is not None:
            J[..., wrong_row, wrong_row] += 0.3
        return J

    return System(f, N, {}, jac=jac, name="coupled")


def test_a_right_large_dense_jacobian_is_accepted():
    assert coupled(None).n == N


def test_a_wrong_large_dense_jacobian_is_refused_with_its_row():
    with pytest.raises(InvalidSystemError, match="row 123 of J v"):
        coupled(123)


def test_teacher_student_above_2000_parameters_checks_its_hessian_action(monkeypatch):
    assert teacher_student(np.eye(46)).n == 2116  # checked matrix-free, accepted

    class Wrong(_network.HessianAction):
        def __call__(self, v):
            out = np.array(super().__call__(v), dtype=float)
            out[..., 7] *= 1.5
            return out

    monkeypatch.setattr(_network, "HessianAction", Wrong)
    with pytest.raises(InvalidSystemError, match="matrix-free"):
        teacher_student(np.eye(46))
