"""Options of the saddle search (:func:`dynsys.saddles.find_saddles` and its two searches)."""

from __future__ import annotations

from dataclasses import dataclass

from .._newton import NewtonOptions
from .._options import Options, integer, nested, number
from ..graph import GraphOptions

__all__ = ["SaddleOptions"]


@dataclass(frozen=True)
class SaddleOptions(Options):
    """Settings of :func:`~dynsys.saddles.find_saddles`, :func:`~dynsys.saddles.string_method`
    and :func:`~dynsys.saddles.dimer_search`.

    Parameters
    ----------
    n_images : int
        Images per string, the two minima included.
    max_iter : int
        Iterations of a string (all strings of a round move together, one gradient call each).
    time_step : float or None
        Step ``dt`` of the string's and the dimer's descent; None (default) takes
        ``step_factor / lambda_max``, ``lambda_max`` the largest Hessian eigenvalue at the
        minima (strings) or estimated by power iteration at the starts (dimer).
    step_factor : float
        See ``time_step``.
    max_move : float
        Largest displacement of an image or a walker in one iteration, relative to
        ``max(1, |x|_inf)`` of the problem's scale.
    climb_after : float
        Fraction of ``max_iter`` after which the highest image climbs (the climbing string), or
        the iteration at which the string has relaxed to ``relax_tol`` if that comes first.
    relax_tol, climb_tol : float
        The string has relaxed when every image moves by less than ``relax_tol`` (relative to
        the largest gradient on the initial straight string) per unit time after the
        reparametrisation; the climbing image has converged when its ``|grad V|`` is below
        ``climb_tol`` times that same scale.
    perturbation : float
        The initial strings are straight segments plus ``N(0, perturbation^2)`` displacements
        (relative to the segment's length) of the interior images, drawn from the seed: a
        string that starts on an invariant line (through a maximum, say) leaves it.
    max_rounds : int
        Rounds of splitting: a string whose energy profile has an interior local minimum is
        split there (the intermediate minimum, found by the flow, becomes the end of two new
        strings of the next round).
    dimer_length : float
        Finite-difference length of the dimer's Hessian-vector products, relative to
        ``max(1, |x|_inf)`` (unused when the system has ``hessian_action``).
    dimer_iter : int
        Translation steps of a dimer walker.
    dimer_rotations : int
        Rotations (Rayleigh-Ritz steps in the plane of the mode and its rotational force) per
        translation.
    dimer_tol : float
        A walker has converged when ``|grad V|`` is below ``dimer_tol`` times the largest
        gradient at the starts (at least 1 in units of the potential).
    dimer_offset : float
        Dimer walkers from a minimum start this far (relative to ``max(1, |x|_inf)``) along its
        softest Hessian modes, both signs, and along seeded random directions.
    dimer_walkers : int
        Random-direction walkers per minimum (besides the ``2 * dimer_modes`` along modes).
    dimer_modes : int
        Softest Hessian modes of each minimum along which walkers start (both signs).
    refine_tol : float
        Newton may move a candidate this far (relative) and still count as its saddle.
    match_tol : float
        The end of a traced manifold is a given minimum within this (relative, up to the group).
    zero_tol : float
        Relative zero of Hessian eigenvalues in the classification.
    newton : NewtonOptions
        Newton settings of the refinement of candidates (and of intermediate minima).
    graph : GraphOptions
        How the unstable manifolds of candidates are traced (by
        :func:`dynsys.graph.critical_point_graph`, one round).

    Raises
    ------
    dynsys.errors.OptionError
        Naming the option and the value given.

    Examples
    --------
    >>> SaddleOptions(n_images=21).n_images
    21
    >>> SaddleOptions(n_images=2)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: SaddleOptions: `n_images` must be an integer >= 3; got 2.
    """

    n_images: int = integer(17, "images per string, ends included", at_least=3)
    max_iter: int = integer(3000, "iterations of a string")
    time_step: float | None = number(
        None, "descent step dt (None: step_factor/lambda_max)", allow_none=True
    )
    step_factor: float = number(0.5, "dt = step_factor / lambda_max when time_step is None")
    max_move: float = number(0.05, "largest displacement per iteration (relative)")
    climb_after: float = number(
        0.3, "fraction of max_iter after which the top image climbs", at_most=1.0
    )
    relax_tol: float = number(1e-3, "string relaxed: image speed below this (relative)")
    climb_tol: float = number(1e-6, "climbing image converged: |grad V| below this (relative)")
    perturbation: float = number(
        0.02, "seeded displacement of initial interior images", at_least=0.0
    )
    max_rounds: int = integer(4, "rounds of splitting strings at intermediate minima")
    dimer_length: float = number(1e-4, "finite-difference length of the dimer (relative)")
    dimer_iter: int = integer(2000, "translation steps of a dimer walker")
    dimer_rotations: int = integer(3, "rotations per translation step")
    dimer_tol: float = number(1e-6, "walker converged: |grad V| below this (relative)")
    dimer_offset: float = number(0.05, "start offset of walkers from a minimum (relative)")
    dimer_walkers: int = integer(4, "random-direction walkers per minimum", at_least=0)
    dimer_modes: int = integer(2, "softest modes per minimum along which walkers start", at_least=0)
    refine_tol: float = number(0.05, "Newton may move a candidate this far (relative)")
    match_tol: float = number(1e-5, "a manifold end is a given minimum within this (relative)")
    zero_tol: float = number(1e-8, "relative zero of Hessian eigenvalues")
    newton: NewtonOptions = nested(NewtonOptions, "Newton settings of the refinement")
    graph: GraphOptions = nested(GraphOptions, "how unstable manifolds are traced")
