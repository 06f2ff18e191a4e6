"""The teacher-student two-layer ReLU network with Gaussian inputs, as a gradient system.

Input ``x ~ N(0, I_d)``; student ``g(x) = sum_j a_j relu(w_j . x)`` with ``K`` hidden units,
teacher ``g*(x) = sum_l a*_l relu(w*_l . x)`` with ``K*`` units. The population loss
``L = 1/2 E[(g - g*)^2]`` has a closed form through the kernel
``E[relu(u.x) relu(v.x)] = |u||v| h(theta) / (2 pi)``, ``h(t) = sin t + (pi - t) cos t``, and so do
its gradient (Tian 2017, Theorem 1 and Eq. 8) and its Hessian; all accept batches of networks.
:func:`hessian_vector_product` (and :meth:`TeacherStudentSystem.hessian_action`) apply the
Hessian to vectors without forming it, for spectra of large networks (:mod:`dynsys.spectra`).

State layout
------------
The state of a network is its first layer ``W (K x d)`` flattened row by row, named
``w1_1, ..., w1_d, w2_1, ..., wK_d`` (unit first, then input coordinate, both from 1); with
``train_a=True`` the output weights follow, ``a1, ..., aK``. :func:`pack_state` and
:func:`unpack_state` convert.

Where the loss is not differentiable
------------------------------------
``L`` is continuous everywhere but not differentiable where a hidden unit's weight vector is zero
(its direction ``e_j = w_j/|w_j|`` is undefined; the gradient jumps there). What happens:

- :func:`loss` is defined and finite everywhere;
- :func:`gradient` and :func:`hessian` raise :class:`NotDifferentiableError` naming the networks
  and units (default ``on_singular="raise"``), or with ``on_singular="nan"`` fill the whole
  gradient (Hessian) of each such network with NaN and leave the others untouched;
- the :class:`~dynsys.system.GradientSystem` of :func:`teacher_student` uses ``"nan"`` so that one
  bad network never stops a batch: batch algorithms see a non-finite field for that item, and
  :func:`singular_mask` tells which items to report as ``Status.NOT_DIFFERENTIABLE``.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017.
"""

from ._network import (
    MonteCarloEstimate,
    NotDifferentiableError,
    TeacherStudentSystem,
    distance_to_teacher,
    gradient,
    hessian,
    hessian_vector_product,
    loss,
    monte_carlo,
    orthonormal_teacher,
    pack_state,
    population_gating,
    random_teacher,
    relu_kernel,
    singular_mask,
    small_ball_init,
    state_names,
    teacher_student,
    two_unit_teacher,
    unpack_state,
    xavier_init,
)
from ._protocol import descent_runs

__all__ = [
    "MonteCarloEstimate",
    "NotDifferentiableError",
    "TeacherStudentSystem",
    "descent_runs",
    "distance_to_teacher",
    "gradient",
    "hessian",
    "hessian_vector_product",
    "loss",
    "monte_carlo",
    "orthonormal_teacher",
    "pack_state",
    "population_gating",
    "random_teacher",
    "relu_kernel",
    "singular_mask",
    "small_ball_init",
    "state_names",
    "teacher_student",
    "two_unit_teacher",
    "unpack_state",
    "xavier_init",
]
