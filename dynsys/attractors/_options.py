"""Options of :func:`~dynsys.attractors.find_attractors` and
:func:`~dynsys.attractors.lyapunov_spectrum`, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._newton import NewtonOptions
from .._options import Options, choice, integer, nested, number, numbers

__all__ = ["INTEGRATION_METHODS", "AttractorOptions", "LyapunovOptions"]

INTEGRATION_METHODS = ("dop853", "dopri5", "rosenbrock23")
_MIN_RTOL = 100 * np.finfo(float).eps


@dataclass(frozen=True)
class LyapunovOptions(Options):
    """Numerics of :func:`~dynsys.attractors.lyapunov_spectrum` (the times are its arguments).

    Parameters
    ----------
    method : {"dop853", "dopri5"}
        Runge-Kutta pair of :func:`dynsys.integrate.flow` that integrates a flow together with
        its variational equation (maps are iterated exactly).
    rtol, atol : float
        Tolerances of the local error of that integration; tight by default, because the sum of
        the exponents is only as accurate as ``log |det Y|`` (see Notes of
        :func:`~dynsys.attractors.lyapunov_spectrum`).
    n_batches : int
        Each orbit's run is cut into this many consecutive blocks of equal length; the standard
        error is the spread of the block estimates of every orbit over the square root of their
        number (batch means; at least two blocks in all are needed). Short blocks make it
        conservative: the growth over consecutive blocks is anti-correlated (what one block
        gains by ending where the stretching is strong, the next loses), so with many
        independent orbits ``n_batches=1`` (each orbit one batch) gives the sharpest estimate.
    n_checkpoints : int
        Running estimates are recorded at this many evenly spaced times.
    escape_radius : float
        An orbit whose state norm exceeds this ends ``escaped`` (inf disables the test).
    max_steps : int
        Most step attempts of the integrator between two re-orthonormalizations (flows).

    Examples
    --------
    >>> LyapunovOptions(n_batches=20).rtol
    1e-10
    >>> LyapunovOptions(n_batches=0)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: LyapunovOptions: `n_batches` must be a positive integer; got 0.
    """

    method: str = choice("dop853", ("dop853", "dopri5"), "Runge-Kutta pair for flows")
    rtol: float = number(1e-10, "relative tolerance of the local error (flows)")
    atol: float = number(1e-12, "absolute tolerance of the local error (flows)", at_least=0.0)
    n_batches: int = integer(10, "blocks per orbit for the batch-means standard error")
    n_checkpoints: int = integer(100, "times at which running estimates are recorded")
    escape_radius: float = number(1e8, "an orbit with |x|_2 above this escapes", allow_inf=True)
    max_steps: int = integer(100_000, "most integrator steps between re-orthonormalizations")

    def _check(self) -> None:
        if self.rtol < _MIN_RTOL:
            raise self._fail(
                "rtol", f"at least {_MIN_RTOL:.1e} (rounding dominates below)", self.rtol
            )


@dataclass(frozen=True)
class AttractorOptions(Options):
    """How :func:`~dynsys.attractors.find_attractors` follows orbits, detects recurrence in a
    grid of cells and describes what it finds.

    Parameters
    ----------
    cell_size : float or sequence of float
        Edge of a grid cell: one value for every state, or one per state. Required: it sets the
        resolution at which two attractors are told apart (two attractors that share a cell are
        one), and should be small against the distances between attractors and basin
        boundaries, large against the spacing of consecutive samples on an attractor.
    grid_low, grid_high : float or sequence of float, optional
        A bounded grid ``[grid_low, grid_high]`` (both or neither). Without it the grid is
        unbounded and sparse (only visited cells are stored, so any dimension works), with
        cells centred on the multiples of ``cell_size``; with it, cell edges start at
        ``grid_low``. An orbit outside the bounded grid is followed but not recorded; it ends
        ``escaped`` after ``max_outside`` consecutive samples outside.
    dt : float
        Sampling interval of flows (maps are sampled at every iterate).
    recurrence_count : int
        An orbit that lands in cells it has already visited this many samples in a row has
        found an attractor.
    recognition_count : int
        An orbit that lands in cells of one known attractor this many samples in a row is
        labelled with it.
    collect_samples : int
        Samples followed after recurrence is detected, to settle onto the attractor and record
        its cells before it is described.
    max_outside : int
        Consecutive samples outside a bounded grid after which an orbit ends ``escaped``.
    max_steps : int
        Most samples per orbit (iterates of a map); an orbit that uses them up without finding
        or recognising an attractor ends ``max_steps``.
    escape_radius : float
        An orbit with state norm above this ends ``escaped`` (inf disables the test).
    method : {"dop853", "dopri5", "rosenbrock23"}
        Integrator of flows (:func:`dynsys.integrate.flow`).
    rtol, atol : float
        Tolerances of the local error of every integration (orbits, Poincare returns, monodromy
        matrices).
    cycle_tol : float
        Returns to a Poincare section (flows) or iterates (maps) that repeat within
        ``cycle_tol * max(1, |x|_inf)`` make a cycle.
    max_period : int
        Longest period of a map cycle tested (iterates); for flows, most section crossings near
        the section point per period.
    zero_tol : float
        An eigenvalue of a flow's point is zero when its modulus is at most
        ``zero_tol * max(1, max |lambda|)`` (as in :func:`dynsys.stability.classify`); a
        multiplier of a map's point or cycle, or a Floquet multiplier of a flow's cycle (other
        than the one along the flow), with ``|mu| >= 1 - zero_tol`` is neutral or unstable. A
        neutral object is not hyperbolic and its linearisation cannot show that it attracts:
        orbits that settle on it end ``not_attracting`` (a point of a gradient flow with zero
        eigenvalues and none positive still attracts, as in basin computations).
    newton : NewtonOptions
        Newton settings that refine points (and map cycles).
    lyapunov_time : float
        Time over which each Lyapunov orbit of a recurrent set of a flow is followed.
    lyapunov_iterations : int
        Iterations of each Lyapunov orbit of a recurrent set of a map.
    lyapunov_orbits : int
        Points of a recurrent set from which Lyapunov exponents are estimated (batched).
    lyapunov_dt : float or None
        Re-orthonormalization interval of those runs (flows); None: ``dt``.
    lyapunov_resolution : float
        Exponents within this of 0 count as zero. A recurrent set is "chaotic" when its
        largest exponent minus 3 standard errors exceeds it, "quasi-periodic" when the largest
        exponent plus and minus 3 standard errors lies within it of 0, "recurrent" (undecided,
        with a note) otherwise.
    n_draw : int
        Points kept on each attractor (for drawing and for labelling by distance).
    batch_size : int
        Orbits followed together (a setting of where work runs; results do not depend on it
        except through the order in which attractors become known).

    Examples
    --------
    >>> AttractorOptions(cell_size=0.05).cell_size
    (0.05,)
    >>> AttractorOptions(cell_size=[0.1, -1.0])
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: AttractorOptions: `cell_size` must be positive numbers; got ...
    """

    cell_size: tuple[float, ...] | None = numbers(
        None,
        "edge of a grid cell: one value, or one per state (required by find_attractors; "
        "automatic in basin computations when none)",
    )
    grid_low: tuple[float, ...] | None = numbers(None, "lower corner of a bounded grid")
    grid_high: tuple[float, ...] | None = numbers(None, "upper corner of a bounded grid")
    dt: float = number(0.1, "sampling interval of flows")
    recurrence_count: int = integer(100, "revisits in a row that make an attractor")
    recognition_count: int = integer(2, "samples in a row in a known attractor's cells")
    collect_samples: int = integer(1000, "samples recorded on an attractor once found")
    max_outside: int = integer(100, "samples in a row outside a bounded grid before escape")
    max_steps: int = integer(20_000, "most samples (map iterates) per orbit")
    escape_radius: float = number(1e8, "an orbit with |x|_2 above this escapes", allow_inf=True)
    method: str = choice("dop853", INTEGRATION_METHODS, "integrator of flows")
    rtol: float = number(1e-9, "relative tolerance of the local error")
    atol: float = number(1e-11, "absolute tolerance of the local error", at_least=0.0)
    cycle_tol: float = number(1e-6, "relative distance of repeated returns that make a cycle")
    max_period: int = integer(64, "longest map period tested; section crossings per period")
    zero_tol: float = number(1e-6, "neutral eigenvalues and multipliers")
    newton: NewtonOptions = nested(NewtonOptions, "Newton settings that refine points")
    lyapunov_time: float = number(100.0, "time of each Lyapunov orbit (flows)")
    lyapunov_iterations: int = integer(10_000, "iterations of each Lyapunov orbit (maps)")
    lyapunov_orbits: int = integer(4, "Lyapunov orbits per recurrent set")
    lyapunov_dt: float | None = number(
        None, "re-orthonormalization interval (flows; none: dt)", allow_none=True
    )
    lyapunov_resolution: float = number(1e-2, "exponents within this of 0 count as zero")
    n_draw: int = integer(500, "points kept on each attractor")
    batch_size: int = integer(512, "orbits followed together", in_attrs=False)

    def __post_init__(self) -> None:
        for name in ("cell_size", "grid_low", "grid_high"):  # one number for every state
            value = getattr(self, name)
            if np.ndim(value) == 0 and value is not None and not isinstance(value, str | bool):
                object.__setattr__(self, name, (value,))
        super().__post_init__()

    def _check(self) -> None:
        for name in ("cell_size", "grid_low", "grid_high"):
            value = getattr(self, name)
            if value is not None and len(value) == 0:
                raise self._fail(name, "one number or one per state", value)
        if self.cell_size is not None and min(self.cell_size) <= 0:
            raise self._fail("cell_size", "positive numbers", self.cell_size)
        if (self.grid_low is None) != (self.grid_high is None):
            name = "grid_high" if self.grid_high is None else "grid_low"
            raise self._fail(name, "given together with the other corner of the grid", None)
        if self.grid_low is not None:
            low, high = np.asarray(self.grid_low), np.asarray(self.grid_high)
            if low.size != high.size and 1 not in (low.size, high.size):
                raise self._fail(
                    "grid_high", f"as many numbers as grid_low ({low.size}) or one", self.grid_high
                )
            if np.any(np.broadcast_to(low, np.broadcast_shapes(low.shape, high.shape)) >= high):
                raise self._fail("grid_high", "above grid_low in every state", self.grid_high)
        if self.rtol < _MIN_RTOL:
            raise self._fail(
                "rtol", f"at least {_MIN_RTOL:.1e} (rounding dominates below)", self.rtol
            )
        if self.collect_samples < 2 * self.recognition_count:
            raise self._fail(
                "collect_samples",
                f"at least 2 * recognition_count = {2 * self.recognition_count}",
                self.collect_samples,
            )
