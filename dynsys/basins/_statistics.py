"""Binomial confidence intervals, the sequential stopping rule and per-chunk random streams.

A basin probability is estimated by the fraction of sampled initial states whose orbit reaches the
attractor: ``k`` successes out of ``n`` independent draws. :func:`wilson_interval` gives the Wilson
score interval for the probability, :func:`widths_below` is the test of the sequential mode (draw
more until every interval is narrow enough), and :func:`chunk_seed` gives every chunk of samples its
own random stream, derived from one root seed, so that results do not depend on which worker drew
which chunk, or in which order.

References
----------
E. B. Wilson, Probable inference, the law of succession, and statistical inference, J. Am. Stat.
Assoc. 22, 209 (1927). L. D. Brown, T. T. Cai and A. DasGupta, Interval estimation for a binomial
proportion, Statist. Sci. 16, 101 (2001).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from ..errors import InputError

__all__ = ["chunk_rng", "chunk_seed", "exact_coverage", "widths_below", "wilson_interval"]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"`confidence` must lie in (0, 1); got {confidence!r}.")
    return float(ndtri(0.5 + 0.5 * confidence))


def wilson_interval(successes, trials, *, confidence: float = 0.95):
    """Wilson score interval for a binomial probability, elementwise.

    Parameters
    ----------
    successes : array_like of int
        Number of successes ``k`` (``0 <= k <= n``).
    trials : array_like of int
        Number of trials ``n``; broadcast against ``successes``. Where ``n = 0`` the interval is
        the uninformative ``[0, 1]``.
    confidence : float
        Nominal coverage, 0.95 for a 95% interval.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds, of the broadcast shape.

    Raises
    ------
    ValueError
        If ``k < 0``, ``k > n`` or ``confidence`` is not in (0, 1).

    Notes
    -----
    With ``z`` the ``(1 + confidence) / 2`` normal quantile and ``p = k / n``, the interval is
    ``(p + z^2/2n -+ z sqrt(p (1 - p)/n + z^2/4n^2)) / (1 + z^2/n)``. Unlike the normal (Wald)
    interval it stays inside ``[0, 1]``, is never empty at ``k = 0`` or ``k = n``, and its actual
    coverage stays close to the nominal one for small ``n`` (Brown, Cai and DasGupta 2001).

    Examples
    --------
    >>> low, high = wilson_interval(0, 10)
    >>> float(low), round(float(high), 4)
    (0.0, 0.2775)
    >>> [round(float(v), 4) for v in wilson_interval(50, 100)]
    [0.4038, 0.5962]
    """
    z = _z(confidence)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise InputError(
            f"`successes` must lie in [0, trials]; got successes={successes!r}, trials={trials!r}."
        )
    k, n = np.broadcast_arrays(k, n)
    low = np.zeros(k.shape)
    high = np.ones(k.shape)
    ok = n > 0
    if np.any(ok):
        kk, nn = k[ok], n[ok]
        p = kk / nn
        z2n = z * z / nn
        centre = (p + 0.5 * z2n) / (1.0 + z2n)
        half = z / (1.0 + z2n) * np.sqrt(p * (1.0 - p) / nn + 0.25 * z2n / nn)
        # exact ends: k = 0 gives low = 0, k = n gives high = 1 (not 1 - 1e-17)
        low[ok] = np.where(kk == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        high[ok] = np.where(kk == nn, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def exact_coverage(probability: float, trials: int, *, confidence: float = 0.95) -> float:
    """Probability that the Wilson interval from ``trials`` draws covers ``probability``.

    Sums the binomial probabilities of the counts ``k`` whose interval contains the true value;
    used to choose test problems where the nominal coverage is met.

    Examples
    --------
    >>> round(exact_coverage(0.5, 100), 4)
    0.9431
    """
    from scipy.stats import binom

    k = np.arange(trials + 1)
    low, high = wilson_interval(k, trials, confidence=confidence)
    covers = (low <= probability) & (probability <= high)
    return float(binom.pmf(k[covers], trials, probability).sum())


def widths_below(counts, trials: int, target_width: float, *, confidence: float = 0.95) -> bool:
    """True when every Wilson interval of ``counts`` out of ``trials`` is narrower than the target.

    The test of the sequential mode of :func:`dynsys.basins.basin_probabilities`: batches are drawn
    until it holds (or a sample budget runs out). Checking after fixed batch sizes, rather than
    after every draw, keeps the effect of the data-dependent stopping on the coverage small.

    Examples
    --------
    >>> widths_below([480, 520], 1000, 0.07), widths_below([48, 52], 100, 0.07)
    (True, False)
    """
    if trials <= 0:
        return False
    low, high = wilson_interval(np.asarray(counts), trials, confidence=confidence)
    return bool(np.all(high - low < target_width))


def chunk_seed(seed: int | np.random.SeedSequence | None, chunk: int) -> np.random.SeedSequence:
    """The seed sequence of chunk number ``chunk``, a child of the root ``seed``.

    Equal to ``numpy.random.SeedSequence(seed).spawn(chunk + 1)[chunk]``, but computed directly, so
    that it depends only on the root seed and the chunk number (not on how many chunks were made
    before, or where).

    Examples
    --------
    >>> a = chunk_seed(7, 3).generate_state(2)
    >>> b = np.random.SeedSequence(7).spawn(4)[3].generate_state(2)
    >>> bool((a == b).all())
    True
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if chunk < 0:
        raise InputError(f"`chunk` must be >= 0; got {chunk}.")
    return np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, int(chunk)), pool_size=root.pool_size
    )


def chunk_rng(seed, chunk: int) -> np.random.Generator:
    """A ``numpy.random.Generator`` on the stream of chunk ``chunk`` (see :func:`chunk_seed`)."""
    return np.random.default_rng(chunk_seed(seed, chunk))
