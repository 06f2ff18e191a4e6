"""Attractors of any kind: points, cycles, chaotic and quasi-periodic sets, and their Lyapunov
spectra, for flows (:class:`~dynsys.System`) and maps (:class:`~dynsys.maps.Map`).

- :func:`find_attractors` follows orbits from many seeds and detects recurrence in a grid of
  cells (sparse: only visited cells are stored, so the state may have any dimension). An orbit
  that keeps revisiting its own cells has found an attractor, which is then described: a point
  refined by Newton, a cycle with its period (Poincare returns for flows, the exact period for
  maps) and multipliers, or a recurrent set classified by its largest Lyapunov exponent
  (chaotic, quasi-periodic, or undecided). Later orbits that enter cells of a known attractor
  are labelled with it. Per-seed labels follow the convention of basin results: the
  attractor's row, or minus the outcome code (``dynsys.explain(-label)``).
- :func:`label_states` labels end states or orbit tails with a table of attractors
  (vectorized): a point within a tolerance, a cycle up to phase, a recurrent set by its cells.
- :func:`lyapunov_spectrum` estimates Lyapunov exponents by the QR method (Benettin et al.,
  Shimada and Nagashima) for a batch of orbits, with running estimates, a batch-means standard
  error and the Kaplan-Yorke dimension (:func:`kaplan_yorke_dimension`).

References
----------
G. Datseris and A. Wagemakers, Chaos 32, 023104 (2022) (attractors by recurrences in a grid).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._find import find_attractors
    from ._label import label_states
    from ._lyapunov import kaplan_yorke_dimension, lyapunov_spectrum
    from ._options import AttractorOptions, LyapunovOptions
    from ._table import KINDS

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "find_attractors": "._find",
        "label_states": "._label",
        "kaplan_yorke_dimension": "._lyapunov",
        "lyapunov_spectrum": "._lyapunov",
        "AttractorOptions": "._options",
        "LyapunovOptions": "._options",
        "KINDS": "._table",
    },
)

__all__ = [
    "KINDS",
    "AttractorOptions",
    "LyapunovOptions",
    "find_attractors",
    "kaplan_yorke_dimension",
    "label_states",
    "lyapunov_spectrum",
]
