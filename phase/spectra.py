"""Pictures of Hessian spectra: the smoothed spectral density (or the weighted histogram of the
quadrature nodes) of a :func:`dynsys.spectra.spectral_density` result, on a log scale, with
thresholds marked and the estimated counts below them annotated."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from dynsys.errors import InputError
from dynsys.spectra import fraction_below

__all__ = ["draw_spectral_density"]

_STYLES = ("density", "histogram")


def draw_spectral_density(
    ds: xr.Dataset,
    ax=None,
    *,
    style: str = "density",
    thresholds=None,
    log: bool = True,
    annotate: bool = True,
    color: str = "#0072b2",
    label: str | None = None,
    floor: float = 1e-6,
):
    """Draw a spectral density estimated by stochastic Lanczos quadrature.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`dynsys.spectra.spectral_density`.
    ax : matplotlib Axes, optional
        Where to draw; the current axes by default.
    style : {"density", "histogram"}
        The smoothed density ``density(grid)`` (its Gaussian width is stated in the legend) or
        the weighted histogram of the nodes (estimated number of eigenvalues per bin).
    thresholds : sequence of float, optional
        Where to draw vertical lines annotated with the estimated number (and fraction) of
        eigenvalues below, with its standard error across probes; the Dataset's ``threshold``
        coordinate by default; ``[]`` for none.
    log : bool
        Logarithmic vertical axis (the spectra of network Hessians are very skewed).
    annotate : bool
        Write the counts next to the threshold lines.
    color : str
        Colour of the density or the bars.
    label : str, optional
        Legend label (by default it names the estimate and its parameters).
    floor : float
        On a log axis, values below ``floor * max`` are raised to it (a density has no zeros
        in principle, only underflow).

    Returns
    -------
    dict
        ``"artist"`` (the density line or the bar container), ``"thresholds"`` (lines),
        ``"annotations"`` (texts), ``"axes"``.

    Raises
    ------
    InputError
        If ``ds`` is not a spectral density or ``style`` is unknown.

    Examples
    --------
    >>> from dynsys.spectra import spectral_density
    >>> ds = spectral_density(np.diag(np.arange(1.0, 11.0)), n_vectors=2, lanczos_steps=10,
    ...                       thresholds=[5.5])
    >>> fig, ax = plt.subplots()
    >>> drawn = draw_spectral_density(ds, ax=ax)
    >>> drawn["annotations"][0].get_text().splitlines()[0]
    '5.0 ± 0.0 below 5.5'
    >>> plt.close(fig)
    """
    missing = [v for v in ("node", "weight", "density", "histogram") if v not in ds.variables]
    if missing:
        raise InputError(
            f"the Dataset has no {missing}; pass a result of dynsys.spectra.spectral_density."
        )
    if style not in _STYLES:
        raise InputError(f"`style` must be one of {_STYLES}; got {style!r}.")
    ax = plt.gca() if ax is None else ax
    n = int(ds.attrs["n"])
    if style == "density":
        y = ds["density"].values
        if log:
            y = np.maximum(y, floor * np.nanmax(y))
        sigma = ds.attrs.get("sigma", float("nan"))
        text = label or f"SLQ density (Gaussian width {sigma:.3g})"
        (artist,) = ax.plot(ds["grid"].values, y, color=color, lw=1.5, label=text)
        if log:
            ax.set_ylim(bottom=floor * np.nanmax(y), top=3 * np.nanmax(y))
        ax.set_ylabel("eigenvalues per unit")
    else:
        low, high = ds["bin_low"].values, ds["bin_high"].values
        counts = ds["histogram"].values
        if log:
            counts = np.where(counts > 0, counts, np.nan)
        text = label or "SLQ histogram of the nodes"
        artist = ax.bar(
            low, counts, width=high - low, align="edge", color=color, alpha=0.7, label=text
        )
        ax.set_ylabel("eigenvalues per bin")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("eigenvalue")
    probes, steps = ds.attrs.get("n_vectors", "?"), ds.attrs.get("lanczos_steps", "?")
    ax.set_title(f"n = {n}: {probes} probes x {steps} Lanczos steps", fontsize="medium")
    if thresholds is None:
        thresholds = ds["threshold"].values if "threshold" in ds.coords else []
    lines, notes = [], []
    for i, t in enumerate(np.atleast_1d(np.asarray(thresholds, dtype=float))):
        est = fraction_below(ds, float(t))
        lines.append(ax.axvline(t, color="#d55e00", ls="--", lw=1.0))
        if annotate:
            se = est.standard_error * n
            note = (
                f"{est.count:.1f} ± {se:.1f} below {t:g}\n"
                f"({100 * est.fraction:.1f}% [{100 * est.low:.1f}, {100 * est.high:.1f}])"
            )
            notes.append(
                ax.annotate(
                    note,
                    xy=(t, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(4, -6 - 26 * i),
                    textcoords="offset points",
                    fontsize="small",
                    color="#d55e00",
                    va="top",
                )
            )
    ax.legend(loc="lower right", fontsize="small")
    return {"artist": artist, "thresholds": lines, "annotations": notes, "axes": ax}
