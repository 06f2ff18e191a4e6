"""The variables of a basin result: the attractor table, counts, fractions and intervals, and the
symmetry elements that map end points onto their attractors."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex, status_variable
from .._status import Status
from ._known import KnownAttractors
from ._labels import role_of
from ._samplers import describe_sampler
from ._statistics import wilson_interval

__all__ = ["attractor_variables", "element_variables", "probability_dataset"]


ENERGY_TOL = 1e-8
"""Relative energy tolerance under which a minimum counts as low as the reference."""


def _outcome_name(label: int) -> str:
    return Status(-label).name.lower()


def _stack(values, n: int, k: int, dtype=float) -> np.ndarray:
    """Per-attractor vectors (None: unknown) padded to ``n``, then ``k`` rows of NaN."""
    fill = np.nan if dtype is float else complex(np.nan, np.nan)
    out = np.full((len(values) + k, n), fill, dtype=dtype)
    for j, v in enumerate(values):
        if v is not None:
            v = np.asarray(v).ravel()[:n]
            out[j, : v.size] = v
    return out


def attractor_variables(
    attractors: KnownAttractors,
    labels: np.ndarray,
    *,
    confidence: float,
    reference=None,
    reference_name: str = "teacher",
    extra_labels=(),
) -> tuple[dict[str, xr.Variable], dict[str, Any]]:
    """Variables over the ``attractor`` dim and its coordinate.

    The rows are the attractors ``0..m-1`` (:meth:`KnownAttractors.rows`: the points that
    attract, then the attractors found by recurrence) followed by the outcomes without an
    attractor that occur in ``labels`` (or in ``extra_labels``): label ``-c`` for the outcome
    code ``c``, in order of the codes.
    """
    labels = np.asarray(labels).ravel()
    rows = attractors.rows(reference)
    m, n = len(rows), attractors.system.n
    outcomes = sorted(
        {int(v) for v in np.unique(labels[labels < 0])} | {int(v) for v in extra_labels},
        reverse=True,
    )
    coord = np.concatenate([np.arange(m), np.asarray(outcomes, dtype=np.int64)])
    k = len(outcomes)
    total = labels.size
    counts = np.array([np.count_nonzero(labels == c) for c in coord], dtype=np.int64)
    low, high = wilson_interval(counts, total, confidence=confidence)
    fraction = counts / total if total else np.full(len(coord), np.nan)
    names = [_outcome_name(c) for c in outcomes]
    pct = f"{100 * confidence:g}%"
    a = "attractor"
    n_drawn = max([len(r.samples) for r in rows] or [1])
    drawn = np.full((m + k, n_drawn, n), np.nan)
    for j, r in enumerate(rows):
        drawn[j, : len(r.samples)] = r.samples

    def column(name, fill, dtype=float):
        return np.array([getattr(r, name) for r in rows] + [fill] * k, dtype=dtype)

    variables = {
        "attractor_x": xr.Variable(
            (a, "state"),
            _stack([r.x for r in rows], n, k),
            {
                "long_name": "a state on the attractor: the point, a point of the cycle, a sample "
                "of the set (NaN for outcomes without one)"
            },
        ),
        "attractor_kind": xr.Variable(
            a,
            np.array([r.kind for r in rows] + names, dtype=str),
            {
                "long_name": "kind of a point (its classification), cycle, chaotic, "
                "quasi-periodic or recurrent; or the outcome's name"
            },
        ),
        "attractor_type": xr.Variable(
            a,
            np.array([r.type for r in rows] + [""] * k, dtype=str),
            {"long_name": "point, cycle, chaotic, quasi-periodic or recurrent (empty: outcome)"},
        ),
        "attractor_index": xr.Variable(
            a,
            column("index", -1, np.int64),
            {"long_name": "number of unstable directions (-1: a recurrent set, or no attractor)"},
        ),
        "attractor_nullity": xr.Variable(
            a,
            column("nullity", -1, np.int64),
            {"long_name": "number of neutral directions (-1: a recurrent set, or no attractor)"},
        ),
        "attractor_residual": xr.Variable(
            a,
            column("residual", np.nan),
            {
                "long_name": "|f| at a point (|g(x) - x| for a map), |g^q(x) - x| at a map's "
                "cycle, the return gap of a flow's cycle (verification)"
            },
        ),
        "attractor_origin": xr.Variable(
            a,
            np.array([r.origin for r in rows] + ["outcome"] * k, dtype=str),
            {"long_name": "given, reference, found (refined by Newton), recurrence, or outcome"},
        ),
        "attractor_period": xr.Variable(
            a,
            column("period", np.nan),
            {
                "long_name": "period: time of a flow's cycle, iterates of a map's cycle (1 for a "
                "map's point); NaN otherwise"
            },
        ),
        "attractor_period_error": xr.Variable(
            a,
            column("period_error", np.nan),
            {"long_name": "error estimate of the period of a flow's cycle (0: exact)"},
        ),
        "attractor_period_method": xr.Variable(
            a,
            column("period_method", "", str),
            {"long_name": "collocation, poincare returns (flows' cycles), exact (maps)"},
        ),
        **split_complex(
            _stack([r.eigenvalues for r in rows], n, k, dtype=complex),
            (a, "mode"),
            "attractor_eigenvalue",
            "Jacobian eigenvalue of a flow's point, multiplier of a map's point or cycle, "
            "Floquet multiplier of a flow's cycle",
        ),
        "attractor_lyapunov": xr.Variable(
            (a, "exponent"),
            _stack([r.lyapunov for r in rows], n, k),
            {"long_name": "Lyapunov exponents, largest first (NaN: not computed)"},
        ),
        "attractor_lyapunov_stderr": xr.Variable(
            (a, "exponent"),
            _stack([r.lyapunov_stderr for r in rows], n, k),
            {"long_name": "standard error of the Lyapunov exponents (0: exact)"},
        ),
        "attractor_lyapunov_method": xr.Variable(
            a,
            column("lyapunov_method", "", str),
            {"long_name": "eigenvalues, multipliers, floquet or qr"},
        ),
        "attractor_samples": xr.Variable(
            (a, "attractor_sample", "state"),
            drawn,
            {"long_name": "points on the attractor for drawing (NaN-padded)"},
        ),
        "attractor_note": xr.Variable(
            a, column("note", "", str), {"long_name": "why a set is undecided, or a warning"}
        ),
        "n_orbits": xr.Variable(a, counts, {"long_name": "number of orbits"}),
        "fraction": xr.Variable(a, fraction, {"long_name": "fraction of orbits"}),
        "ci_low": xr.Variable(a, low, {"long_name": f"lower end of the {pct} Wilson interval"}),
        "ci_high": xr.Variable(a, high, {"long_name": f"upper end of the {pct} Wilson interval"}),
    }
    system = attractors.system
    has_energy = system.is_gradient or getattr(system, "has_potential", False)
    if has_energy:
        variables["attractor_energy"] = xr.Variable(
            a,
            column("energy", np.nan),
            {"long_name": "potential at the attractor (mean over a cycle's or a set's points)"},
        )
    if reference is not None:
        as_low = np.zeros(m, dtype=bool)
        if has_energy:
            ref_energy = float(
                np.min(system.potential(np.asarray(reference, dtype=float), attractors.params))
            )
            energy = np.array([r.energy for r in rows])
            as_low = energy <= ref_energy + ENERGY_TOL * max(1.0, abs(ref_energy))
        roles = [
            role_of(r.role_kind, r.is_reference, reference_name, bool(as_low[j]))
            for j, r in enumerate(rows)
        ]
        roles += names
        variables["attractor_role"] = xr.Variable(
            a, np.array(roles, dtype=str), {"long_name": "role of the attractor"}
        )
    coords = {
        a: (
            a,
            coord,
            {"long_name": "label (negative: minus the outcome code; dynsys.explain(-label))"},
        ),
        "mode": np.arange(n),
        "exponent": np.arange(n),
    }
    return variables, coords


def element_variables(g: np.ndarray | None, labels: np.ndarray, dims: tuple[str, ...], known=None):
    """``permutation(dims)``: index into ``permutation_table(permutation, slot)``, the distinct
    group elements ``g`` (row 0 the identity) with ``act(g, x_final)`` close to the attractor;
    -1 where the orbit has no attractor or no such element was found (``known`` False)."""
    if g is None:
        return {}
    n = g.shape[-1]
    flat = g.reshape(-1, n)
    identity = np.arange(n)
    table, inverse = np.unique(np.concatenate([identity[None], flat]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    # put the identity first
    first = inverse[0]
    order = np.concatenate([[first], np.delete(np.arange(len(table)), first)])
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    index = position[inverse[1:]].astype(np.int64)
    index[np.asarray(labels).ravel() < 0] = -1
    if known is not None:
        index[~np.asarray(known).ravel()] = -1
    return {
        "permutation": xr.Variable(
            dims,
            index.reshape(g.shape[:-1]),
            {
                "long_name": "symmetry element mapping the end point to its attractor (row of "
                "permutation_table; -1: none)"
            },
        ),
        "permutation_table": xr.Variable(
            ("permutation", "slot"),
            table[order].astype(np.int64),
            {"long_name": "group element g: act(g, x_final) is close to the attractor"},
        ),
    }


def orbit_variables(out: dict[str, Any], dims: tuple[str, ...], shape) -> dict[str, xr.Variable]:
    """``status``, ``t_final`` (flows) and ``n_steps`` (steps of a flow, iterations of a map) of
    the orbits, reshaped to ``shape``."""
    data = {"status": status_variable(out["status"].reshape(shape), dims)}
    if "t_final" in out:
        data["t_final"] = xr.Variable(
            dims, out["t_final"].reshape(shape), {"long_name": "final time"}
        )
    data["n_steps"] = xr.Variable(
        dims, out["n_steps"].reshape(shape), {"long_name": "steps (iterations of a map)"}
    )
    if "stop_row" in out:
        data["arrived_in_region"] = xr.Variable(
            dims,
            (out["stop_row"] >= 0).reshape(shape),
            {"long_name": "stopped in the stop region of its point (not by the |f| rule)"},
        )
    return data


def probability_dataset(run, attractors, out, *, sampler, seed, reference) -> xr.Dataset:
    """Assemble the result of :func:`basin_probabilities` from the labelled samples."""
    sys_ = run.system
    options = run.options
    s = ("sample",)
    out["label"] = attractors.labels_of(out["row"], out["rec"], out["status"])
    data: dict[str, Any] = {
        "label": xr.Variable(
            s, out["label"], {"long_name": "attractor label (negative: minus the outcome code)"}
        ),
        **orbit_variables(out, s, (-1,)),
    }
    for name, long_name in (("x0", "initial state"), ("x_final", "final state")):
        if name in out:
            data[name] = xr.Variable(("sample", "state"), out[name], {"long_name": long_name})
    variables, coords = attractor_variables(
        attractors,
        out["label"],
        confidence=options.confidence,
        reference=reference,
        reference_name=options.reference_name,
    )
    data.update(variables)
    data.update(element_variables(out["g"], out["label"], s, out["g_known"]))
    coords.update(sample=np.arange(len(out["label"])), state=list(sys_.state_names))
    attrs = provenance(
        sys_.with_params(**run.params),
        **run.attrs(),
        **attractors.attrs(),
        **describe_sampler(sampler),
        seed=seed,
        n_samples=len(out["label"]),
        n_rounds=out["n_rounds"],
        n_calls=out["n_calls"],
        n_evaluations=out["n_evaluations"],
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
