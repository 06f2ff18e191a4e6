"""Linear stability of equilibria (of flows) and of fixed points of maps: eigenvalues of the
Jacobian, or multipliers, unstable index, nullity and kind.

At an equilibrium ``x*`` the flow near ``x*`` follows ``y' = J y`` with ``J = df/dx(x*)``, as long
as no eigenvalue of ``J`` has zero real part (Hartman-Grobman). The eigenvalues therefore give:

- ``index``: the number of eigenvalues with positive real part (unstable directions). For a
  gradient system ``J = -Hess V``, so this is the Morse index of ``V``: the number of negative
  Hessian eigenvalues.
- ``nullity``: the number of eigenvalues that are numerically zero. A manifold of equilibria (a
  circle, a valley of a loss) has nullity at least its dimension.
- ``kind``, a name for the local phase portrait. General systems: "sink node", "sink focus",
  "source node", "source focus", "saddle", "saddle focus", "centre", "non-hyperbolic". Gradient
  systems: "minimum", "maximum", "saddle-<k>" (index k), "degenerate" (nullity > 0).
  "undefined" marks a Jacobian that is not finite.

An eigenvalue counts as zero when ``|lambda| <= zero_tol * max(1, max |lambda|)``, and a real
(imaginary) part counts as zero below the same threshold.

Maps ``x -> g(x)``: near a fixed point ``x*`` orbits follow ``y -> A y``, ``A = Dg(x*)``, whose
eigenvalues are the *multipliers* ``mu``; the unit circle plays the part of the imaginary axis
(for a cycle of period k the multipliers are those of ``D g^k``). :func:`classify_multipliers`
gives ``index`` (multipliers outside the unit circle), ``nullity`` (multipliers on it) and the
kinds "sink", "source", "saddle-<k>" (k multipliers outside), each prefixed "flip " when the
multiplier of largest modulus is real negative (nearby orbits alternate sides) or "focus " when
it is complex (they rotate); on the unit circle "fold" (one multiplier +1), "flip" (one
multiplier -1), "neimark-sacker" (one complex pair), "non-hyperbolic" (several).
A multiplier lies on the unit circle when ``||mu| - 1| <= zero_tol``, and is real when
``|Im mu| <= zero_tol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ._dataset import provenance, split_complex
from ._validate import as_state_batch, check_positive
from .errors import InputError
from .maps import Map

__all__ = [
    "MAP_KINDS",
    "classify",
    "classify_eigenvalues",
    "classify_multipliers",
    "sort_multipliers",
]

CLASSIFICATION_VARIABLES = (
    "eigenvalue_real",
    "eigenvalue_imag",
    "eigenvector_real",
    "eigenvector_imag",
    "index",
    "nullity",
    "kind",
    "energy",
    "multiplier_real",
    "multiplier_imag",
    "stable",
)


def classify_eigenvalues(
    eigenvalues, *, gradient: bool, zero_tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify equilibria from the eigenvalues of their Jacobians.

    Parameters
    ----------
    eigenvalues : array_like
        Jacobian eigenvalues, shape ``(..., k)``: the last axis holds the spectrum of one point.
        Real or complex; NaN marks an unknown spectrum.
    gradient : bool
        True for gradient systems (Jacobian ``-Hess V``): kinds "minimum", "maximum",
        "saddle-<k>", "degenerate". False for the general kinds (see the module docstring).
    zero_tol : float
        Relative threshold: an eigenvalue (real part, imaginary part) is zero when its modulus
        is at most ``zero_tol * max(1, max |lambda|)``.

    Returns
    -------
    index : numpy.ndarray of int
        Number of eigenvalues with positive real part, shape ``(...)``; -1 where unknown.
    nullity : numpy.ndarray of int
        Number of numerically zero eigenvalues; -1 where unknown.
    kind : numpy.ndarray of str
        The kind of each point; "undefined" where the spectrum holds NaN or inf.

    Raises
    ------
    ValueError
        If ``eigenvalues`` is a scalar or ``zero_tol`` is not a positive number.

    Notes
    -----
    A sink (source) is a focus when its leading eigenvalue, the one closest to the imaginary axis,
    is complex: nearby orbits spiral as they approach (leave). A saddle is a "saddle focus" when
    its leading stable or leading unstable eigenvalue is complex (Shilnikov's convention). A
    "centre" has only non-zero purely imaginary eigenvalues; any other spectrum touching the
    imaginary axis is "non-hyperbolic".

    Examples
    --------
    >>> index, nullity, kind = classify_eigenvalues([[-1.0, 2.0], [-1 + 3j, -1 - 3j]],
    ...                                             gradient=False)
    >>> index.tolist(), nullity.tolist(), kind.tolist()
    ([1, 0], [0, 0], ['saddle', 'sink focus'])
    >>> classify_eigenvalues([2.0, -1.0, -3.0], gradient=True)[2].item()
    'saddle-1'
    """
    zero_tol = check_positive(zero_tol, "zero_tol")
    lam = np.asarray(eigenvalues)
    if lam.ndim == 0:
        raise InputError(
            "`eigenvalues` must have shape (..., k) with the spectrum on the last axis; got a "
            "scalar. Wrap one eigenvalue as [value]."
        )
    lam = lam.astype(complex)
    finite = np.all(np.isfinite(lam), axis=-1)
    if not finite.all():
        lam = np.where(finite[..., None], lam, 0.0)
    modulus = np.abs(lam)
    thr = zero_tol * np.maximum(np.max(modulus, axis=-1, initial=0.0), 1.0)[..., None]
    re, im = lam.real, lam.imag
    k = lam.shape[-1]
    index = (re > thr).sum(axis=-1)  # count_nonzero: the same, its checks cost more
    nullity = (modulus <= thr).sum(axis=-1)
    if gradient:
        kind = np.where(finite, _gradient_kinds(index, nullity, k), "undefined")
    else:
        code = np.where(finite, _general_kinds(re, im, thr, index, nullity), -1)
        kind = np.asarray(_GENERAL_KINDS[code], dtype=_GENERAL_KINDS.dtype)
    index = np.where(finite, index, -1)
    nullity = np.where(finite, nullity, -1)
    return index, nullity, kind


def _gradient_kinds(index: np.ndarray, nullity: np.ndarray, k: int) -> np.ndarray:
    saddle = np.char.add("saddle-", index.astype(str))
    out = np.where(index == 0, "minimum", np.where(index == k, "maximum", saddle))
    return np.where(nullity > 0, "degenerate", out).astype(str)


def _leading_is_complex(re, im, thr, side: int) -> np.ndarray:
    """Whether the stable (side=-1) or unstable (side=+1) eigenvalue nearest the axis is complex."""
    on_side = side * re > thr
    distance = np.where(on_side, side * re, np.inf)
    lead = np.argmin(distance, axis=-1)[..., None]
    lead_im = np.take_along_axis(im, lead, axis=-1)[..., 0]
    return on_side.any(axis=-1) & (np.abs(lead_im) > thr[..., 0])


_GENERAL_KINDS = np.array(
    [
        "saddle",
        "saddle focus",
        "source node",
        "source focus",
        "sink node",
        "sink focus",
        "centre",
        "non-hyperbolic",
        "undefined",  # last: code -1
    ]
)


def _general_kinds(re, im, thr, index, nullity) -> np.ndarray:
    """Codes of the general kinds (positions in ``_GENERAL_KINDS``), each rule below overriding
    the ones before it."""
    k = re.shape[-1]
    n_neg = (re < -thr).sum(axis=-1)
    n_axis = (np.abs(re) <= thr).sum(axis=-1)
    stable_focus = _leading_is_complex(re, im, thr, -1)
    unstable_focus = _leading_is_complex(re, im, thr, +1)
    code = (stable_focus | unstable_focus).astype(np.intp)  # saddle (0), saddle focus (1)
    code = np.where(n_neg == 0, 2 + unstable_focus, code)  # source node, source focus
    code = np.where(index == 0, 4 + stable_focus, code)  # sink node, sink focus
    code = np.where(n_axis > 0, 7, code)  # non-hyperbolic
    code = np.where((n_axis == k) & (nullity == 0), 6, code)  # centre
    return np.where(nullity > 0, 7, code)  # non-hyperbolic


MAP_KINDS = (
    "sink",
    "flip sink",
    "focus sink",
    "source",
    "flip source",
    "focus source",
    "saddle-<k>",
    "flip saddle-<k>",
    "focus saddle-<k>",
    "fold",
    "flip",
    "neimark-sacker",
    "non-hyperbolic",
    "undefined",
)
"""The kinds of fixed points and cycles of maps (``<k>``: the number of multipliers outside the
unit circle); see :func:`classify_multipliers`."""


def sort_multipliers(multipliers) -> np.ndarray:
    """Multipliers ``(..., k)`` sorted by modulus, then real part, then imaginary part, all
    descending: mode 0 is the dominant multiplier, and a complex pair is adjacent with the
    positive imaginary part first.

    Examples
    --------
    >>> sort_multipliers([0.5, -2.0, 0.5 + 1j, 0.5 - 1j]).tolist()
    [(-2+0j), (0.5+1j), (0.5-1j), (0.5+0j)]
    """
    mu = np.asarray(multipliers, dtype=complex)
    if mu.ndim == 0:
        raise InputError("`multipliers` must have shape (..., k); wrap one value as [value].")
    order = np.lexsort((-mu.imag, -mu.real, -np.abs(mu)), axis=-1)
    return np.take_along_axis(mu, order, axis=-1)


def classify_multipliers(
    multipliers, *, zero_tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify fixed points (or cycles) of maps from their multipliers.

    Parameters
    ----------
    multipliers : array_like
        Eigenvalues of ``Dg`` at a fixed point (of ``D g^k`` for a cycle of period k), shape
        ``(..., k)``: the last axis holds the multipliers of one point. NaN marks an unknown set.
    zero_tol : float
        A multiplier lies on the unit circle when ``||mu| - 1| <= zero_tol``; it counts as real
        when ``|Im mu| <= zero_tol`` (multipliers are scale-free, so the threshold is absolute).

    Returns
    -------
    index : numpy.ndarray of int
        Number of multipliers outside the unit circle (unstable directions); -1 where unknown.
    nullity : numpy.ndarray of int
        Number of multipliers on the unit circle; -1 where unknown.
    kind : numpy.ndarray of str
        One of :data:`MAP_KINDS`: "sink" (all inside), "source" (all outside), "saddle-<k>";
        prefixed "flip " when the multiplier of largest modulus is real and negative (orbits
        near the point alternate sides of it), "focus " when it is complex. On the unit circle:
        "fold" (one multiplier at +1), "flip" (one at -1: period doubling), "neimark-sacker"
        (one complex pair), "non-hyperbolic" (any other combination); "undefined" for a set
        holding NaN or inf.

    Raises
    ------
    dynsys.errors.InputError
        If ``multipliers`` is a scalar or ``zero_tol`` is not a positive number.

    Examples
    --------
    >>> index, nullity, kind = classify_multipliers([[0.5, -0.2], [-1.1, 0.3], [-1.0, 0.3]])
    >>> index.tolist(), nullity.tolist(), kind.tolist()
    ([0, 1, 0], [0, 0, 1], ['sink', 'flip saddle-1', 'flip'])
    >>> classify_multipliers([0.6 + 0.8j, 0.6 - 0.8j])[2].item()
    'neimark-sacker'
    """
    zero_tol = check_positive(zero_tol, "zero_tol")
    mu = np.asarray(multipliers)
    if mu.ndim == 0:
        raise InputError(
            "`multipliers` must have shape (..., k) with the multipliers on the last axis; got "
            "a scalar. Wrap one multiplier as [value]."
        )
    mu = mu.astype(complex)
    finite = np.all(np.isfinite(mu), axis=-1)
    mu = sort_multipliers(np.where(finite[..., None], mu, 0.0))
    k = mu.shape[-1]
    modulus = np.abs(mu)
    on_circle = np.abs(modulus - 1.0) <= zero_tol
    real = np.abs(mu.imag) <= zero_tol
    index = np.count_nonzero(modulus > 1.0 + zero_tol, axis=-1)
    nullity = np.count_nonzero(on_circle, axis=-1)
    n_fold = np.count_nonzero(on_circle & real & (mu.real > 0), axis=-1)
    n_flip = np.count_nonzero(on_circle & real & (mu.real < 0), axis=-1)
    n_pair = np.count_nonzero(on_circle & ~real, axis=-1)
    saddle = np.char.add("saddle-", index.astype(str))
    base = np.where(index == 0, "sink", np.where(index == k, "source", saddle))
    lead = mu[..., 0] if k else np.zeros(mu.shape[:-1], dtype=complex)
    lead_real = np.abs(lead.imag) <= zero_tol
    prefix = np.where(~lead_real, "focus ", np.where(lead.real < 0, "flip ", ""))
    hyperbolic = np.char.add(prefix.astype(str), base.astype(str))
    kind = np.select(
        [
            nullity == 0,
            (nullity == 1) & (n_fold == 1),
            (nullity == 1) & (n_flip == 1),
            (nullity == 2) & (n_pair == 2),
        ],
        [hyperbolic, "fold", "flip", "neimark-sacker"],
        default="non-hyperbolic",
    ).astype(str)
    kind = np.where(finite, kind, "undefined")
    index = np.where(finite, index, -1)
    nullity = np.where(finite, nullity, -1)
    return index, nullity, kind


def _fix_phase(vectors: np.ndarray) -> np.ndarray:
    """Make each eigenvector's largest-modulus component real and positive (deterministic)."""
    largest = np.argmax(np.abs(vectors), axis=-2)[..., None, :]
    pivot = np.take_along_axis(vectors, largest, axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        phase = np.where(np.abs(pivot) > 0, np.abs(pivot) / pivot, 1.0)
    return vectors * phase


def _spectra(J: np.ndarray, symmetric: bool, vectors: bool, *, by_modulus: bool = False):
    """Eigenvalues (and eigenvectors) of ``(m, n, n)``, sorted by real part then imaginary part,
    both descending (``by_modulus``: by modulus first, as :func:`sort_multipliers`); NaN for a
    non-finite matrix."""
    m, n = J.shape[0], J.shape[-1]
    finite = np.all(np.isfinite(J), axis=(-2, -1))
    J = np.where(finite[:, None, None], J, 0.0)
    if symmetric:
        w, V = np.linalg.eigh(0.5 * (J + np.swapaxes(J, -1, -2)))
        w, V = w.astype(complex), V.astype(complex) if vectors else None
    elif vectors:
        w, V = np.linalg.eig(J)
        w, V = w.astype(complex), V.astype(complex)
    else:
        w, V = np.linalg.eigvals(J).astype(complex), None
    keys = (-w.imag, -w.real, -np.abs(w)) if by_modulus else (-w.imag, -w.real)
    order = np.lexsort(keys, axis=-1) if m else np.zeros((0, n), dtype=int)
    w = np.take_along_axis(w, order, axis=-1)
    w[~finite] = np.nan
    if V is not None:
        V = _fix_phase(np.take_along_axis(V, order[:, None, :], axis=-1))
        V[~finite] = np.nan
    return w, V


def _points_from(system, x) -> tuple[np.ndarray, bool, xr.Dataset | None]:
    """States ``(m, n)`` to classify, whether one state was given, and the input Dataset."""
    if isinstance(x, xr.Dataset):
        if "x" not in x or x["x"].dims != ("point", "state"):
            raise InputError(
                "`x` is a Dataset without a variable `x(point, state)`; pass the result of "
                "find_fixed_points() or an array of states."
            )
        states = np.asarray(x["x"].values, dtype=float)
        if states.shape[1] != system.n:
            raise InputError(
                f"`x` holds states with {states.shape[1]} components; the system has "
                f"{system.n} states {list(system.state_names)}."
            )
        return states, False, x
    arr = as_state_batch(x, system.n, name="x")
    if arr.ndim > 2:
        raise InputError(
            f"`x` has shape {arr.shape}; expected ({system.n},) for one state or "
            f"(m, {system.n}) for m states."
        )
    return arr.reshape(-1, system.n), arr.ndim == 1, None


def classify(
    system,
    x,
    *,
    params: Mapping[str, Any] | None = None,
    eigenvectors: bool = False,
    zero_tol: float = 1e-8,
) -> xr.Dataset:
    """Classify equilibria of a flow by the eigenvalues of the Jacobian, or fixed points of a map
    by their multipliers.

    Parameters
    ----------
    system : System, GradientSystem or Map
        The vector field. For a gradient system the Jacobian ``-Hess V`` is symmetrised and
        diagonalised with ``numpy.linalg.eigh``; otherwise ``numpy.linalg.eig``. For a
        :class:`~dynsys.maps.Map` the eigenvalues of ``Dg`` are the multipliers and the kinds
        are those of :func:`classify_multipliers` (``eigh`` for gradient descent on a gradient
        system, whose ``Dg = I - eta Hess V`` is symmetric).
    x : array_like or xarray.Dataset
        One state ``(n,)``, states ``(m, n)``, or a Dataset with ``x(point, state)`` (a result of
        :func:`dynsys.fixedpoints.find_fixed_points`), returned with the classification variables
        added (old ones replaced).
    params : mapping, optional
        Parameter values overriding the system's defaults.
    eigenvectors : bool
        Also return the eigenvectors, ``eigenvector_real/imag(point, state, mode)``; column
        ``mode`` goes with eigenvalue ``mode``, unit norm, largest component real positive.
    zero_tol : float
        Relative zero threshold for eigenvalues (see :func:`classify_eigenvalues`).

    Returns
    -------
    xarray.Dataset
        Dims ``point``, ``state``, ``mode`` (``point`` dropped for a single state). Variables
        ``x(point, state)``, ``eigenvalue_real/imag(point, mode)`` (Jacobian eigenvalues sorted by
        real part, then imaginary part, descending), ``index(point)``, ``nullity(point)``,
        ``kind(point)``, ``energy(point)`` for gradient systems, and the eigenvectors on request.
        For a map: ``multiplier_real/imag(point, mode)`` instead of the eigenvalues (sorted by
        modulus, descending), ``index`` (multipliers outside the unit circle), ``nullity`` (on
        it), ``kind``, ``stable(point)`` (all ``|mu| < 1``), and ``energy(point)`` for gradient
        descent on a gradient system. The states are not checked to be fixed points.

    Raises
    ------
    ValueError
        If ``x`` has the wrong shape or is not finite, or ``zero_tol`` is not positive.
    dynsys.errors.UnknownParameterError
        If ``params`` names a parameter the system does not have.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> ds = classify(double_well(), [[1.0, 0.0], [0.0, 0.0]])
    >>> ds["kind"].values.tolist(), ds["index"].values.tolist()
    (['minimum', 'saddle-1'], [0, 1])
    >>> ds["eigenvalue_real"].values.tolist()
    [[-1.0, -2.0], [1.0, -1.0]]

    Gradient descent on the double well with step 1.05 overshoots the minimum (1, 0): the
    multiplier along x is ``1 - 1.05 * 2 = -1.1``.

    >>> from dynsys.maps import gradient_descent_map
    >>> gd = gradient_descent_map(double_well(), step=1.05)
    >>> ds = classify(gd, [1.0, 0.0])
    >>> str(ds["kind"].values), ds["multiplier_real"].values.round(12).tolist()
    ('flip saddle-1', [-1.1, -0.05])
    """
    zero_tol = check_positive(zero_tol, "zero_tol")
    points, single, base = _points_from(system, x)
    p = system.resolve_params(params)
    if isinstance(system, Map):
        return _classify_map(system, points, single, base, p, eigenvectors, zero_tol)
    n = system.n
    J = np.zeros((0, n, n))
    if len(points):
        J = np.asarray(system.jac_dense(points, p), dtype=float).reshape(-1, n, n)
    w, V = _spectra(J, system.is_gradient, eigenvectors)
    index, nullity, kind = classify_eigenvalues(w, gradient=system.is_gradient, zero_tol=zero_tol)
    variables: dict[str, xr.Variable] = split_complex(
        w, ("point", "mode"), "eigenvalue", "Jacobian eigenvalue"
    )
    if V is not None:
        variables.update(
            split_complex(V, ("point", "state", "mode"), "eigenvector", "Jacobian eigenvector")
        )
    variables["index"] = xr.Variable(
        "point", index, {"long_name": "number of eigenvalues with positive real part"}
    )
    variables["nullity"] = xr.Variable(
        "point", nullity, {"long_name": "number of numerically zero eigenvalues"}
    )
    variables["kind"] = xr.Variable("point", kind, {"long_name": "kind of equilibrium"})
    return _classified(
        system, points, single, base, p, variables, zero_tol, energy=system.is_gradient
    )


def _classify_map(system: Map, points, single, base, p, eigenvectors: bool, zero_tol: float):
    """:func:`classify` for a map: multipliers of ``Dg`` at the states."""
    n = system.n
    A = np.zeros((0, n, n))
    if len(points):
        A = np.asarray(system.jac_dense(points, p), dtype=float).reshape(-1, n, n)
    w, V = _spectra(A, system.has_potential, eigenvectors, by_modulus=True)
    index, nullity, kind = classify_multipliers(w, zero_tol=zero_tol)
    variables: dict[str, xr.Variable] = split_complex(
        w, ("point", "mode"), "multiplier", "multiplier (eigenvalue of Dg)"
    )
    if V is not None:
        variables.update(
            split_complex(V, ("point", "state", "mode"), "eigenvector", "eigenvector of Dg")
        )
    variables["index"] = xr.Variable(
        "point", index, {"long_name": "number of multipliers outside the unit circle"}
    )
    variables["nullity"] = xr.Variable(
        "point", nullity, {"long_name": "number of multipliers on the unit circle"}
    )
    variables["kind"] = xr.Variable("point", kind, {"long_name": "kind of fixed point of the map"})
    variables["stable"] = xr.Variable(
        "point",
        (index == 0) & (nullity == 0),
        {"long_name": "asymptotically stable: every multiplier inside the unit circle"},
    )
    return _classified(
        system, points, single, base, p, variables, zero_tol, energy=system.has_potential
    )


def _classified(
    system, points, single, base, p, variables: dict, zero_tol: float, *, energy: bool
) -> xr.Dataset:
    """The classification ``variables`` of ``points`` as a Dataset (with the potential when
    ``energy``), or assigned to the given Dataset ``base`` in place of its old ones."""
    if energy:
        variables["energy"] = xr.Variable(
            "point",
            system.potential(points, p) if len(points) else np.zeros(0),
            {"long_name": "potential at the point"},
        )
    if base is not None:
        stale = [name for name in CLASSIFICATION_VARIABLES if name in base]
        out = base.drop_vars(stale).assign(variables)
        out.attrs["zero_tol"] = zero_tol
        return out
    out = xr.Dataset(
        {"x": xr.Variable(("point", "state"), points, {"long_name": "state"}), **variables},
        coords={"state": list(system.state_names)},
        attrs=provenance(system.with_params(**p), zero_tol=zero_tol),
    )
    return out.isel(point=0) if single else out
