"""Hessian spectra without forming the Hessian: matrix-free operators, extreme eigenvalues by
Lanczos, spectral densities by stochastic Lanczos quadrature.

Dense Hessians stop at a few thousand parameters (``n^2`` memory, ``n^3`` time). Here the Hessian
of a gradient system's potential is a :class:`scipy.sparse.linalg.LinearOperator`
(:func:`hessian_operator`: the model's analytic Hessian-vector product, a sparse analytic
Hessian, or central differences of the gradient), and everything else needs only products
``H v``:

- :func:`extreme_eigenvalues`: the largest and smallest eigenvalues by implicitly restarted
  Lanczos (ARPACK), each with its residual norm (an error bound) and a status; failures are
  reported per eigenvalue, never raised;
- :func:`spectral_density`: stochastic Lanczos quadrature (Ubaru, Chen and Saad 2017) with
  Rademacher probes and full reorthogonalisation: per-probe Gauss quadrature nodes and weights,
  a smoothed density, a weighted histogram, and counts of eigenvalues below thresholds with
  their standard errors across probes, in one labeled xarray Dataset;
- :func:`fraction_below`: the fraction of eigenvalues below a threshold with a confidence
  interval from the probe variance.

Sign convention: for a :class:`~dynsys.system.GradientSystem` the vector field is
``f = -grad V`` and its Jacobian ``-Hess V``; the operator here is ``+Hess V`` (positive
semidefinite at a minimum of ``V``).

Examples
--------
>>> import numpy as np
>>> from dynsys.models.relu import teacher_student
>>> system = teacher_student(np.eye(4))
>>> H = hessian_operator(system, np.eye(4).ravel())  # the global minimum W = W*
>>> ds = extreme_eigenvalues(H, k=2)
>>> bool(ds["eigenvalue"].min() > 0), bool(ds["residual"].max() < 1e-10)
(True, True)
"""

from ._density import FractionBelow, fraction_below, spectral_density
from ._extreme import extreme_eigenvalues
from ._operator import FD_REL_STEP, HessianOperator, hessian_operator

__all__ = [
    "FD_REL_STEP",
    "FractionBelow",
    "HessianOperator",
    "extreme_eigenvalues",
    "fraction_below",
    "hessian_operator",
    "spectral_density",
]
