"""Settings of pseudo-arclength continuation, checked on construction."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ContinuationError

__all__ = ["ContinuationError", "ContinuationOptions"]


def _require(ok: bool, name: str, expected: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"`{name}` must be {expected}; got {value!r}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ContinuationOptions:
    """Settings of a pseudo-arclength continuation run.

    Parameters
    ----------
    ds : float
        First arclength step (positive; the direction is chosen separately).
    ds_min, ds_max : float
        Bounds on the adaptive step. A corrector that fails at ``ds_min`` ends the run
        (``stop_reason`` "step_underflow").
    max_points : int
        Maximum number of points per direction (the start point included).
    p_min, p_max : float
        Bounds on the continued parameter; the last point of a run that crosses one lies on it.
    x_max : float
        A run ends when a state component exceeds this in absolute value ("state_bound").
    newton_tol : float
        Corrector convergence: a Newton step of at most ``newton_tol * (1 + max|u|)`` in the
        unknowns ``u = (x, p)``. Values down to ``1e-15`` are allowed for tight work.
    newton_max_iter : int
        Corrector iterations before the step is halved.
    detect_folds, detect_branch_points, detect_hopf, detect_index_changes : bool
        Which special points to look for: fold (LP), simple branch point (BP), Hopf (H), and
        changes of the unstable index not explained by those (IC).
    locate_tol : float
        Special points are located until the bracket in arclength is at most
        ``locate_tol`` times the step that bracketed them.
    locate_max_iter : int
        Iterations allowed when locating one special point; then its status is "guess".
    n_eigen : int
        For a sparse Jacobian: how many eigenvalues of smallest modulus are monitored.
    zero_tol : float
        Relative zero threshold for eigenvalues (see
        :func:`dynsys.stability.classify_eigenvalues`).
    lyapunov : bool
        Compute the first Lyapunov coefficient at Hopf points (dense Jacobians).

    Raises
    ------
    ValueError
        If a value is out of range; the message shows the value.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions
    >>> ContinuationOptions(ds_max=0.5, p_max=30.0).ds
    0.01
    >>> ContinuationOptions(ds=1.0, ds_max=0.5)
    Traceback (most recent call last):
    ...
    ValueError: `ds` must be between ds_min=1e-08 and ds_max=0.5; got 1.0.
    """

    ds: float = 0.01
    ds_min: float = 1e-8
    ds_max: float = 0.1
    max_points: int = 1000
    p_min: float = -math.inf
    p_max: float = math.inf
    x_max: float = 1e6
    newton_tol: float = 1e-10
    newton_max_iter: int = 8
    detect_folds: bool = True
    detect_branch_points: bool = True
    detect_hopf: bool = True
    detect_index_changes: bool = True
    locate_tol: float = 1e-12
    locate_max_iter: int = 60
    n_eigen: int = 6
    zero_tol: float = 1e-8
    lyapunov: bool = True

    def __post_init__(self) -> None:
        for name in ("ds", "ds_min", "ds_max", "x_max", "newton_tol", "locate_tol", "zero_tol"):
            value = getattr(self, name)
            _require(
                isinstance(value, int | float) and not isinstance(value, bool) and value > 0,
                name,
                "a positive number",
                value,
            )
        _require(math.isfinite(self.ds_max), "ds_max", "finite", self.ds_max)
        _require(
            self.ds_min <= self.ds_max,
            "ds_min",
            f"at most ds_max={self.ds_max!r}",
            self.ds_min,
        )
        _require(
            self.ds_min <= self.ds <= self.ds_max,
            "ds",
            f"between ds_min={self.ds_min!r} and ds_max={self.ds_max!r}",
            self.ds,
        )
        _require(
            _is_int(self.max_points) and self.max_points >= 2,
            "max_points",
            "an integer >= 2",
            self.max_points,
        )
        for name in ("p_min", "p_max"):
            value = getattr(self, name)
            _require(
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and not math.isnan(value),
                name,
                "a number (use +-inf for no bound)",
                value,
            )
        _require(self.p_min < self.p_max, "p_min", f"below p_max={self.p_max!r}", self.p_min)
        _require(
            self.newton_tol >= 1e-15,
            "newton_tol",
            ">= 1e-15 (double precision cannot do better)",
            self.newton_tol,
        )
        _require(self.locate_tol >= 1e-16, "locate_tol", ">= 1e-16", self.locate_tol)
        for name in ("newton_max_iter", "locate_max_iter", "n_eigen"):
            value = getattr(self, name)
            _require(_is_int(value) and value >= 1, name, "an integer >= 1", value)
        for name in (
            "detect_folds",
            "detect_branch_points",
            "detect_hopf",
            "detect_index_changes",
            "lyapunov",
        ):
            value = getattr(self, name)
            _require(isinstance(value, bool), name, "True or False", value)

    def settings(self) -> dict[str, Any]:
        """The options as a flat dict, for provenance attributes.

        Examples
        --------
        >>> ContinuationOptions().settings()["newton_tol"]
        1e-10
        """
        return asdict(self)
