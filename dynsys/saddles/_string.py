"""The climbing string method (E, Ren and Vanden-Eijnden 2007; Ren and Vanden-Eijnden 2013),
batched over images and strings, with splitting at intermediate minima.

One iteration moves every interior image of every active string by ``-dt grad V`` (one gradient
call for all of them), then redistributes the images evenly in arc length along each string.
Once a string has relaxed, its highest image climbs: its force along the tangent is reversed
(``-grad V + 2 (grad V . tau) tau``) and the images on each side of it are redistributed
separately, so that it converges to the saddle. A relaxed string whose energy profile has an
interior local minimum is split there instead: gradient descent from that image finds the
intermediate minimum, and two new strings (the halves of the old one) join it to the ends.

References
----------
W. E, W. Ren and E. Vanden-Eijnden, J. Chem. Phys. 126, 164103 (2007): the simplified string
method. W. Ren and E. Vanden-Eijnden, J. Chem. Phys. 138, 134105 (2013): the climbing string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance
from .._points import PointCatalogue
from .._status import Status, status_attrs, status_names
from ..errors import InputError
from ._common import (
    Counter,
    check_options,
    largest_curvature,
    require_potential,
    scale_of,
    states,
)
from ._options import SaddleOptions

__all__ = ["StringRun", "run_strings", "string_method"]


def redistribute(paths: np.ndarray, climb: np.ndarray) -> np.ndarray:
    """Images of each string ``(s, N, n)`` evenly in arc length along its polyline; a string with
    a climbing image ``climb[k] > 0`` keeps it and is redistributed on each side separately."""
    out = np.empty_like(paths)
    N = paths.shape[1]
    for k, P in enumerate(paths):
        seg = np.linalg.norm(np.diff(P, axis=0), axis=-1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        c = int(climb[k])
        if c > 0:
            t = np.concatenate([np.linspace(0.0, s[c], c + 1), np.linspace(s[c], s[-1], N - c)[1:]])
        else:
            t = np.linspace(0.0, s[-1], N)
        idx = np.clip(np.searchsorted(s, t, side="right"), 1, N - 1)
        length = seg[idx - 1]
        frac = np.clip((t - s[idx - 1]) / np.where(length > 0, length, 1.0), 0.0, 1.0)
        out[k] = P[idx - 1] + frac[:, None] * (P[idx] - P[idx - 1])
        out[k, 0], out[k, -1] = P[0], P[-1]
        if c > 0:
            out[k, c] = P[c]
    return out


def _cap(step: np.ndarray, cap: float) -> np.ndarray:
    norm = np.linalg.norm(step, axis=-1, keepdims=True)
    return step * np.minimum(1.0, cap / np.maximum(norm, 1e-300))


def _evolve(counter, paths, climb, dt, n_iter, cap, g_scale, opts) -> tuple[np.ndarray, ...]:
    """Move the strings for at most ``n_iter`` iterations; a string stops when relaxed (no
    climbing image) or when its climbing image has converged. Returns the paths, whether each
    stopped, its last image speed and the climbing image's ``|grad V|``."""
    s = len(paths)
    done = np.zeros(s, dtype=bool)
    speed = np.full(s, np.inf)
    g_climb = np.full(s, np.inf)
    for _ in range(n_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        P = paths[idx]
        G = counter.gradient(P[:, 1:-1])
        c = climb[idx]
        rows = np.flatnonzero(c > 0)
        if rows.size:
            ci = c[rows]
            tau = P[rows, ci + 1] - P[rows, ci - 1]
            tau /= np.maximum(np.linalg.norm(tau, axis=-1, keepdims=True), 1e-300)
            gc = G[rows, ci - 1]
            g_climb[idx[rows]] = np.linalg.norm(gc, axis=-1)
            G[rows, ci - 1] = gc - 2.0 * np.sum(gc * tau, axis=-1, keepdims=True) * tau
        new = P.copy()
        new[:, 1:-1] += _cap(-dt * G, cap)
        new = redistribute(new, c)
        move = np.linalg.norm(new - P, axis=-1).max(axis=-1) / dt
        ok = np.all(np.isfinite(new), axis=(1, 2))
        paths[idx[ok]] = new[ok]
        speed[idx] = move
        relaxed = move < opts.relax_tol * g_scale[idx]
        climbed = g_climb[idx] < opts.climb_tol * g_scale[idx]
        done[idx] = np.where(c > 0, climbed, relaxed) | ~ok
    return paths, done, speed, g_climb


def _descend(counter, X, dt, cap, tol, n_iter) -> np.ndarray:
    """Gradient descent from states ``(k, n)`` until ``|grad V| <= tol`` (per state)."""
    X = X.copy()
    active = np.arange(len(X))
    for _ in range(n_iter):
        if active.size == 0:
            break
        G = counter.gradient(X[active])
        norm = np.linalg.norm(G, axis=-1)
        keep = norm > tol
        active, G = active[keep], G[keep]
        X[active] += _cap(-dt * G, cap)
    return X


def _initial(a, b, N, rng, perturbation) -> np.ndarray:
    t = np.linspace(0.0, 1.0, N)[:, None]
    path = (1.0 - t) * a + t * b
    noise = rng.standard_normal(path.shape) * perturbation * np.linalg.norm(b - a)
    noise[0] = noise[-1] = 0.0
    return path + noise


def _even(P: np.ndarray, N: int) -> np.ndarray:
    seg = np.linalg.norm(np.diff(P, axis=0), axis=-1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], N)
    return np.stack([np.interp(t, s, P[:, j]) for j in range(P.shape[1])], axis=-1)


@dataclass
class StringRun:
    """Final strings of a run (one per unsplit string) and the minima they join."""

    paths: list[np.ndarray] = field(default_factory=list)
    energy: list[np.ndarray] = field(default_factory=list)
    climbing: list[int] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    end_a: list[int] = field(default_factory=list)
    end_b: list[int] = field(default_factory=list)
    pair: list[int] = field(default_factory=list)
    round: list[int] = field(default_factory=list)
    n_split: int = 0


def run_strings(
    system, p, minima: PointCatalogue, pairs, opts: SaddleOptions, rng, counter: Counter
) -> StringRun:
    """Climbing strings between the catalogue's minima ``pairs`` (rows), in rounds of splits.

    Intermediate minima are added to ``minima`` (origin ``"path"``).
    """
    N = opts.n_images
    pending = []
    for k, (i, j) in enumerate(pairs):
        a, b = minima.x[i], minima.x[j]
        pending.append((i, j, a, b, _initial(a, b, N, rng, opts.perturbation), k))
    run = StringRun()
    for rnd in range(opts.max_rounds + 1):
        if not pending:
            break
        paths = np.stack([item[4] for item in pending])
        ends = np.concatenate([paths[:, 0], paths[:, -1]])
        scale = scale_of(paths.reshape(-1, system.n))
        dt = opts.time_step or opts.step_factor / largest_curvature(system, p, ends)
        cap = opts.max_move * scale
        g0 = np.linalg.norm(counter.gradient(paths[:, 1:-1]), axis=-1).max(axis=-1)
        g_scale = np.maximum(g0, 1e-12)
        climb = np.zeros(len(paths), dtype=np.int64)
        relax_iter = max(1, int(opts.climb_after * opts.max_iter))
        paths, _, _, _ = _evolve(counter, paths, climb, dt, relax_iter, cap, g_scale, opts)
        E = counter.energy(paths)
        split_at = np.zeros(len(paths), dtype=np.int64)
        if rnd < opts.max_rounds:
            for k, e in enumerate(E):
                inner = np.flatnonzero((e[1:-1] < e[:-2]) & (e[1:-1] <= e[2:])) + 1
                if inner.size:
                    split_at[k] = inner[np.argmin(e[inner])]
        nxt = []
        rows = np.flatnonzero(split_at > 0)
        if rows.size:
            X = paths[rows, split_at[rows]]
            tol = opts.climb_tol * g_scale[rows].min()
            X = _descend(counter, X, dt, cap, tol, opts.max_iter)
            refined = minima.refine(X)
            for r, x, st in zip(rows, refined.x, refined.status, strict=True):
                i, j = pending[r][0], pending[r][1]
                if st != Status.CONVERGED:
                    split_at[r] = 0
                    continue
                m = int(minima.match(x[None], opts.match_tol)[0][0])
                if m < 0:
                    m = int(minima.add(x[None], "path", tol=opts.match_tol)[0])
                if m in (i, j) or minima.index[m] != 0:
                    split_at[r] = 0
                    continue
                P, c = paths[r], split_at[r]
                P1, P2 = P[: c + 1].copy(), P[c:].copy()
                P1[-1] = P2[0] = x
                nxt.append((i, m, P1[0], x, _even(P1, N), pending[r][5]))
                nxt.append((m, j, x, P2[-1], _even(P2, N), pending[r][5]))
                run.n_split += 1
        climbers = np.flatnonzero(split_at == 0)
        if climbers.size:
            sub = paths[climbers]
            climb = np.argmax(E[climbers][:, 1:-1], axis=-1) + 1
            remaining = max(1, opts.max_iter - relax_iter)
            sub, done, _, _ = _evolve(
                counter, sub, climb, dt, remaining, cap, g_scale[climbers], opts
            )
            Es = counter.energy(sub)
            for q, k in enumerate(climbers):
                run.paths.append(sub[q])
                run.energy.append(Es[q])
                run.climbing.append(int(climb[q]))
                run.status.append(int(Status.CONVERGED if done[q] else Status.MAX_ITER))
                run.end_a.append(int(pending[k][0]))
                run.end_b.append(int(pending[k][1]))
                run.pair.append(int(pending[k][5]))
                run.round.append(rnd)
        pending = nxt
    return run


def string_dataset(system, p, run: StringRun, minima: PointCatalogue, opts, seed, counter):
    n = system.n
    s = len(run.paths)
    path = np.stack(run.paths) if s else np.zeros((0, opts.n_images, n))
    energy = np.stack(run.energy) if s else np.zeros((0, opts.n_images))
    climbing = np.asarray(run.climbing, dtype=np.int64)
    highest = path[np.arange(s), climbing] if s else np.zeros((0, n))
    ds = xr.Dataset(
        {
            "path": (("string", "image", "state"), path, {"long_name": "images of the string"}),
            "energy": (("string", "image"), energy, {"long_name": "potential at the images"}),
            "climbing": ("string", climbing, {"long_name": "image that climbed to the saddle"}),
            "highest": (("string", "state"), highest, {"long_name": "the climbing image"}),
            "status": ("string", np.asarray(run.status, dtype=np.int8), status_attrs()),
            "end_a": (
                "string",
                np.asarray(run.end_a, dtype=np.int64),
                {"long_name": "first end (row of `minimum`)"},
            ),
            "end_b": (
                "string",
                np.asarray(run.end_b, dtype=np.int64),
                {"long_name": "last end (row of `minimum`)"},
            ),
            "pair": (
                "string",
                np.asarray(run.pair, dtype=np.int64),
                {"long_name": "the input pair the string descends from"},
            ),
            "round": (
                "string",
                np.asarray(run.round, dtype=np.int64),
                {"long_name": "splitting round"},
            ),
            "minimum_x": (("minimum", "state"), minima.x.copy()),
            "minimum_energy": ("minimum", minima.energy.copy()),
            "minimum_origin": ("minimum", minima.origin.astype(str)),
        },
        coords={"state": list(system.state_names)},
        attrs=provenance(
            system.with_params(**p),
            **opts.as_attrs(),
            seed=seed,
            n_split=run.n_split,
            n_gradient=counter.count,
        ),
    )
    return ds


def minima_catalogue(system, p, X, opts, symmetry=None) -> tuple[PointCatalogue, np.ndarray]:
    """The given minima, refined by Newton and classified, in a catalogue (rows in the order
    given, duplicates merged); a state that is not next to a minimum is an error."""
    cat = PointCatalogue(
        system,
        p,
        symmetry=symmetry,
        newton=opts.newton,
        zero_tol=opts.zero_tol,
        refine_tol=opts.refine_tol,
    )
    refined = cat.refine(X)
    bad = np.flatnonzero(refined.status != Status.CONVERGED)
    if bad.size:
        raise InputError(
            f"{bad.size} of the {len(X)} given minima (rows {bad[:10].tolist()}) are not next to "
            "a critical point (Newton: "
            + ", ".join(status_names(refined.status[bad][:3]))
            + "). Give minima, e.g. from find_fixed_points() or gradient descent."
        )
    rows = cat.add(refined.x, "given", tol=opts.match_tol)
    not_min = np.flatnonzero(cat.index[rows] != 0)
    if not_min.size:
        raise InputError(
            f"given minima rows {not_min[:10].tolist()} are critical points of index "
            f"{cat.index[rows][not_min][:10].tolist()}, not minima; give minima (index 0)."
        )
    return cat, rows


def string_method(
    system,
    minimum_a,
    minimum_b,
    *,
    params: Mapping[str, Any] | None = None,
    n_images: int | None = None,
    options: SaddleOptions | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """Climbing strings between minima, split at the intermediate minima they find.

    Each string starts as the straight segment between its ends plus small seeded
    displacements of the interior images, relaxes under ``-grad V`` with the images kept evenly
    spaced in arc length (one batched gradient call per iteration over all images of all
    strings), then its highest image climbs to the saddle. A relaxed string with an interior
    local minimum of energy is split there instead, into two strings of the next round.

    Parameters
    ----------
    system : GradientSystem
        The potential.
    minimum_a, minimum_b : array_like, shape (n,) or (k, n)
        The ends: one pair, or ``k`` pairs run together.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    n_images : int, optional
        Images per string (overrides ``options.n_images``).
    options : SaddleOptions, optional
        Settings; ``SaddleOptions()`` when omitted.
    seed : int
        Seed of the initial displacements: the same seed gives the same strings.

    Returns
    -------
    xarray.Dataset
        Dims ``string``, ``image``, ``state``, ``minimum``: ``path``, ``energy``, ``climbing``
        (the image index that climbed), ``highest`` (its state), ``status`` (``converged``: the
        climbing image met ``climb_tol``; ``max_iter``), ``end_a``, ``end_b`` (rows of
        ``minimum_x``: the given ends first, then the intermediate minima found), ``pair``,
        ``round``; attribute ``n_gradient`` (states whose gradient was evaluated).

    Raises
    ------
    dynsys.errors.InputError
        If the system is not a GradientSystem or the ends have the wrong shape.

    Examples
    --------
    >>> from dynsys.models import mueller_brown
    >>> ds = string_method(mueller_brown(), [-0.558, 1.442], [-0.050, 0.467])
    >>> ds["highest"].values.round(3).tolist()
    [[-0.822, 0.624]]
    """
    require_potential(system, "string_method()")
    opts = check_options(options)
    if n_images is not None:
        opts = opts.replace(n_images=n_images)
    p = system.resolve_params(params)
    A = states(minimum_a, system.n, "minimum_a")
    B = states(minimum_b, system.n, "minimum_b")
    if len(A) != len(B):
        raise InputError(
            f"`minimum_a` holds {len(A)} states and `minimum_b` {len(B)}; give as many of each."
        )
    minima, rows = minima_catalogue(system, p, np.concatenate([A, B]), opts)
    rows_a, rows_b = rows[: len(A)], rows[len(A) :]
    counter = Counter(system, p)
    rng = np.random.default_rng(seed)
    run = run_strings(system, p, minima, list(zip(rows_a, rows_b, strict=True)), opts, rng, counter)
    return string_dataset(system, p, run, minima, opts, seed, counter)
