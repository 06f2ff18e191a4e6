"""Spectral density by stochastic Lanczos quadrature, and counts of eigenvalues below thresholds.

For a symmetric ``A`` with eigenpairs ``(lambda_i, u_i)`` and any ``f``,
``tr f(A) = E[v^T f(A) v]`` for Rademacher probes ``v`` (entries +-1, Hutchinson). For one probe,
``v^T f(A) v = n sum_i (u_i . v/|v|)^2 f(lambda_i)`` is an integral against a discrete measure,
which ``m`` Lanczos steps from ``v/|v|`` turn into a Gauss quadrature: nodes ``theta_k`` (the
eigenvalues of the tridiagonal ``T_m``) and weights ``tau_k^2`` (squared first components of its
eigenvectors), exact for polynomials of degree ``2m - 1`` (Golub and Meurant). Averaging over
``n_v`` probes gives ``tr f(A) ~ (n / n_v) sum_probes sum_k tau_k^2 f(theta_k)`` (Ubaru, Chen and
Saad 2017). Here ``f`` is a Gaussian of width ``sigma`` (the smoothed density, which integrates
to ``n``) or the indicator of ``lambda < t`` (the number of eigenvalues below ``t``).

Errors: the spread over probes gives a standard error of each estimate (probe variance only).
The quadrature adds a bias for the indicator, which is not a polynomial: it is small when ``t``
lies in a gap of the spectrum or when ``m`` is large enough for the Krylov space to resolve the
eigenvalues near ``t``, and it vanishes when the Lanczos process of a probe terminates (a
spectrum with at most ``m`` distinct eigenvalues).

References
----------
S. Ubaru, J. Chen and Y. Saad, Fast estimation of tr(f(A)) via stochastic Lanczos quadrature,
SIAM J. Matrix Anal. Appl. 38 (2017) 1075-1099.
G. H. Golub and G. Meurant, Matrices, Moments and Quadrature with Applications, Princeton 2010.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr
from scipy import stats

from .._dataset import provenance
from ..errors import InputError
from ._extreme import _operator_attrs
from ._lanczos import gauss_quadrature, lanczos_block
from ._operator import as_operator

__all__ = ["FractionBelow", "fraction_below", "spectral_density"]

_BLOCK_FLOATS = 1 << 24  # Lanczos vectors kept at once (128 MB): probes run in blocks
_DEFAULT_BINS = 60
_GRID_POINTS = 1001
_SIGMA_FRACTION = 0.01  # default Gaussian width: this fraction of the spread of the nodes


def spectral_density(
    op,
    *,
    n_vectors: int = 20,
    lanczos_steps: int = 80,
    seed: int = 0,
    thresholds=(0.0,),
    sigma: float | None = None,
    grid=None,
    bins=_DEFAULT_BINS,
) -> xr.Dataset:
    """Estimate the spectral density of a symmetric operator by stochastic Lanczos quadrature.

    ``n_vectors`` Rademacher probes; from each, ``lanczos_steps`` Lanczos steps with full
    reorthogonalisation (classical Gram-Schmidt twice per step; all probes of a block share one
    batched operator application per step); the Gauss quadrature of each probe's tridiagonal
    matrix gives nodes and weights, and the estimates average over probes (module notes).

    Parameters
    ----------
    op : LinearOperator, ndarray or sparse matrix
        Real symmetric ``n x n`` (e.g. from :func:`hessian_operator`).
    n_vectors : int
        Number of probes (at least 2 for standard errors).
    lanczos_steps : int
        Lanczos steps per probe (at most ``n``); a probe stops earlier if its Krylov space is
        invariant (then its quadrature is exact).
    seed : int
        Seed of the probes: the result is deterministic for a given seed.
    thresholds : sequence of float
        Count the eigenvalues below each of these.
    sigma : float, optional
        Width (standard deviation) of the Gaussian that smooths the density; by default 1% of
        the spread of all nodes (``max - min``), or ``1e-3 max(1, |node|)`` if they all coincide.
    grid : array_like, optional
        Where to evaluate the smoothed density; by default 1001 points from ``min - 5 sigma``
        to ``max + 5 sigma`` of the nodes (so it integrates to ``n`` to about 1e-6).
    bins : int or array_like
        Number of equal bins over the range of the nodes, or bin edges, for the weighted
        histogram of the nodes.

    Returns
    -------
    xarray.Dataset
        - ``node(probe, node)``, ``weight(probe, node)``: Gauss quadrature per probe (NaN / 0
          beyond ``length(probe)``; weights of a probe sum to 1);
        - ``density(grid)`` with coordinate ``grid`` (eigenvalue): the smoothed density,
          ``n mean_probes sum_k w_k phi_sigma(grid - node_k)``, eigenvalues per unit;
        - ``count_below(threshold)``, ``count_below_se(threshold)``: estimated number of
          eigenvalues ``< threshold`` and its standard error across probes;
          ``count_below_probe(probe, threshold)`` per probe;
        - ``histogram(bin)`` with ``bin_low(bin)``, ``bin_high(bin)``: estimated number of
          eigenvalues per bin ``[low, high)``;
        - attrs: ``n``, ``n_vectors``, ``lanczos_steps``, ``seed``, ``sigma``, ``probe``,
          ``reorthogonalization``, ``n_products``, the operator's ``attrs`` and provenance.

    Raises
    ------
    InputError
        If a count is not positive, ``sigma`` is not positive, or the grid or bins are bad.

    Examples
    --------
    >>> A = np.diag(np.repeat([1.0, 2.0, 5.0], [50, 30, 20]))
    >>> ds = spectral_density(A, n_vectors=4, lanczos_steps=10, thresholds=[1.5, 3.0])
    >>> ds["count_below"].values.round(8).tolist()  # Rademacher probes: exact for diagonal A
    [50.0, 80.0]
    >>> round(float(np.trapezoid(ds["density"], ds["grid"])), 4)
    100.0
    """
    for label, value in (("n_vectors", n_vectors), ("lanczos_steps", lanczos_steps)):
        if int(value) != value or value < 1:
            raise InputError(f"`{label}` must be a positive integer; got {value!r}.")
    if sigma is not None and not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"`sigma` must be a positive width; got {sigma!r}.")
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if thresholds.ndim != 1 or not np.all(np.isfinite(thresholds)):
        raise InputError("`thresholds` must be a sequence of finite numbers.")
    A = as_operator(op)
    n = A.shape[0]
    steps = min(int(lanczos_steps), n)
    counter = getattr(op, "n_products", None)
    rng = np.random.default_rng(seed)
    probes = rng.choice(np.array([-1.0, 1.0]), size=(int(n_vectors), n)) / np.sqrt(n)
    block = max(1, _BLOCK_FLOATS // (steps * n))
    parts = [lanczos_block(A, probes[i : i + block], steps) for i in range(0, len(probes), block)]
    alpha, beta, length = (np.concatenate(x) for x in zip(*parts, strict=True))
    nodes, weights = gauss_quadrature(alpha, beta, length)
    finite = nodes[np.isfinite(nodes)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (np.nan, np.nan)
    if sigma is None:
        spread = hi - lo
        sigma = _SIGMA_FRACTION * spread if spread > 0 else 1e-3 * max(1.0, abs(lo))
    sigma = float(sigma) if np.isfinite(sigma) else 1.0
    if grid is None:
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, _GRID_POINTS) if finite.size else [0.0]
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 1:
        raise InputError("`grid` must be a 1-D array of points.")
    safe_nodes = np.nan_to_num(nodes)
    kern = np.exp(-0.5 * ((grid[:, None, None] - safe_nodes) / sigma) ** 2)
    density = n * np.einsum("gpk,pk->g", kern, weights) / (len(probes) * sigma * np.sqrt(2 * np.pi))
    below = n * np.einsum("tpk,pk->pt", safe_nodes[None] < thresholds[:, None, None], weights)
    edges = _bin_edges(bins, lo, hi)
    index = np.searchsorted(edges, safe_nodes, side="right") - 1
    histogram = np.array(
        [n * weights[index == b].sum() / len(probes) for b in range(edges.size - 1)]
    )
    bad = ~np.all(np.isfinite(alpha), axis=1)
    ds = xr.Dataset(
        {
            "node": (("probe", "node"), nodes, {"long_name": "Gauss quadrature node (Ritz value)"}),
            "weight": (("probe", "node"), weights, {"long_name": "Gauss quadrature weight"}),
            "length": ("probe", length, {"long_name": "Lanczos steps run"}),
            "nonfinite": ("probe", bad, {"long_name": "the operator gave non-finite values"}),
            "density": (
                "grid",
                density,
                {"long_name": "smoothed spectral density (eigenvalues per unit)", "sigma": sigma},
            ),
            "count_below_probe": (("probe", "threshold"), below),
            "count_below": (
                "threshold",
                below.mean(axis=0),
                {"long_name": "estimated number of eigenvalues below the threshold"},
            ),
            "count_below_se": ("threshold", _standard_error(below), {"long_name": "std error"}),
            "histogram": (
                "bin",
                histogram,
                {"long_name": "estimated number of eigenvalues in [bin_low, bin_high)"},
            ),
            "bin_low": ("bin", edges[:-1]),
            "bin_high": ("bin", edges[1:]),
        },
        coords={"grid": grid, "threshold": thresholds},
        attrs=provenance(
            n=n,
            n_vectors=int(n_vectors),
            lanczos_steps=steps,
            seed=seed,
            sigma=sigma,
            probe="rademacher",
            reorthogonalization="full (classical Gram-Schmidt twice per step)",
            method="stochastic Lanczos quadrature (Ubaru, Chen and Saad 2017)",
            **_operator_attrs(op),
        ),
    )
    if counter is not None:
        ds.attrs["n_products"] = int(op.n_products - counter)
    return ds


def _standard_error(values: np.ndarray) -> np.ndarray:
    p = values.shape[0]
    if p < 2:
        return np.full(values.shape[1:], np.nan)
    return values.std(axis=0, ddof=1) / np.sqrt(p)


def _bin_edges(bins, lo: float, hi: float) -> np.ndarray:
    if np.ndim(bins) == 0:
        if int(bins) != bins or bins < 1:
            raise InputError(f"`bins` must be a positive number of bins or edges; got {bins!r}.")
        if not np.isfinite(lo):
            lo, hi = 0.0, 1.0
        pad = 1e-9 * max(1.0, abs(lo), abs(hi))
        return np.linspace(lo - pad, hi + pad, int(bins) + 1)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError("`bins` given as edges must be an increasing 1-D array of >= 2 values.")
    return edges


class FractionBelow(NamedTuple):
    """The estimated fraction of eigenvalues below a threshold, with its confidence interval."""

    fraction: float
    low: float
    high: float
    standard_error: float
    count: float
    n: int
    n_probes: int
    threshold: float
    confidence: float


def fraction_below(ds: xr.Dataset, threshold: float, *, confidence: float = 0.95) -> FractionBelow:
    """Return the fraction of eigenvalues below ``threshold`` with a confidence interval.

    Each probe of a :func:`spectral_density` result gives an estimate
    ``n sum_k w_k 1(node_k < threshold)`` of the count; their mean is the estimate and their
    spread over the ``P`` probes the interval: ``mean +- t_{P-1} se`` (Student t, clipped to
    ``[0, 1]``). The interval accounts for the probe variance only, not for the quadrature bias
    (see :mod:`dynsys.spectra`; raise ``lanczos_steps`` and compare if the threshold lies in a
    dense part of the spectrum).

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`spectral_density` result.
    threshold : float
        Count eigenvalues strictly below it.
    confidence : float
        Level of the interval, in (0, 1).

    Returns
    -------
    FractionBelow
        ``fraction``, ``low``, ``high``, ``standard_error`` (of the fraction), ``count``
        (``fraction * n``), ``n``, ``n_probes``, ``threshold``, ``confidence``. With one probe
        the interval is NaN.

    Raises
    ------
    InputError
        If ``ds`` is not a spectral density or ``confidence`` is not in (0, 1).

    Examples
    --------
    >>> ds = spectral_density(np.diag(np.arange(10.0)), n_vectors=3, lanczos_steps=10)
    >>> round(fraction_below(ds, 2.5).fraction, 10)  # eigenvalues 0, 1, 2 of 10
    0.3
    """
    if not isinstance(ds, xr.Dataset) or not {"node", "weight"} <= set(ds.variables):
        raise InputError(
            "`ds` must be a spectral_density() result (with `node` and `weight`); compute one "
            "with dynsys.spectra.spectral_density(op, ...)."
        )
    if not (0.0 < confidence < 1.0):
        raise InputError(f"`confidence` must lie in (0, 1); got {confidence!r}.")
    threshold = float(threshold)
    n = int(ds.attrs["n"])
    nodes = np.nan_to_num(ds["node"].values)
    per_probe = np.sum(ds["weight"].values * (nodes < threshold), axis=1)  # fractions
    p = per_probe.size
    mean = float(per_probe.mean())
    se = float(per_probe.std(ddof=1) / np.sqrt(p)) if p > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, p - 1)) * se if p > 1 else float("nan")
    return FractionBelow(
        fraction=mean,
        low=max(0.0, mean - half),
        high=min(1.0, mean + half),
        standard_error=se,
        count=mean * n,
        n=n,
        n_probes=p,
        threshold=threshold,
        confidence=float(confidence),
    )
