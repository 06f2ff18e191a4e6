"""The variables of a basin result: the attractor table, counts, fractions and intervals, and the
symmetry elements that map end points onto their attractors."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, status_variable
from .._status import Status
from ._labels import Attractors, role_of
from ._samplers import describe_sampler
from ._statistics import wilson_interval

__all__ = ["attractor_variables", "element_variables", "probability_dataset"]


ENERGY_TOL = 1e-8
"""Relative energy tolerance under which a minimum counts as low as the reference."""


def _outcome_name(label: int) -> str:
    return Status(-label).name.lower()


def attractor_variables(
    attractors: Attractors,
    labels: np.ndarray,
    *,
    confidence: float,
    reference=None,
    reference_name: str = "teacher",
    extra_labels=(),
) -> tuple[dict[str, xr.Variable], dict[str, Any]]:
    """Variables over the ``attractor`` dim and its coordinate.

    The rows are the attractors ``0..m-1`` (the known points that attract, in the order they
    became known) followed by the outcomes without an attractor that occur in ``labels`` (or in
    ``extra_labels``): label ``-c`` for the outcome code ``c``, in order of the codes.
    """
    labels = np.asarray(labels).ravel()
    catalogue = attractors.catalogue
    rows = np.flatnonzero(attractors.attracting())
    m, n = len(rows), attractors.system.n
    outcomes = sorted(
        {int(v) for v in labels if v < 0} | {int(v) for v in extra_labels}, reverse=True
    )
    coord = np.concatenate([np.arange(m), np.asarray(outcomes, dtype=np.int64)])
    k = len(outcomes)
    total = labels.size
    counts = np.array([np.count_nonzero(labels == c) for c in coord], dtype=np.int64)
    low, high = wilson_interval(counts, total, confidence=confidence)
    fraction = counts / total if total else np.full(len(coord), np.nan)
    names = [_outcome_name(c) for c in outcomes]
    kinds = [str(v) for v in catalogue.kind[rows]] + names
    refs = set(attractors.reference_rows(reference).tolist())
    pct = f"{100 * confidence:g}%"
    a = "attractor"
    variables = {
        "attractor_x": xr.Variable(
            (a, "state"),
            np.concatenate([catalogue.x[rows], np.full((k, n), np.nan)]),
            {"long_name": "attractor state (NaN for outcomes without one)"},
        ),
        "attractor_kind": xr.Variable(
            a, np.array(kinds, dtype=str), {"long_name": "kind, or the outcome's name"}
        ),
        "attractor_index": xr.Variable(
            a,
            np.concatenate([catalogue.index[rows], np.full(k, -1)]).astype(np.int64),
            {"long_name": "number of unstable directions (-1: no attractor)"},
        ),
        "attractor_nullity": xr.Variable(
            a,
            np.concatenate([catalogue.nullity[rows], np.full(k, -1)]).astype(np.int64),
            {"long_name": "number of zero eigenvalues (-1: no attractor)"},
        ),
        "attractor_residual": xr.Variable(
            a,
            np.concatenate([catalogue.residual[rows], np.full(k, np.nan)]),
            {"long_name": "|f| at the attractor (verified by Newton)"},
        ),
        "attractor_origin": xr.Variable(
            a,
            np.array([str(v) for v in catalogue.origin[rows]] + ["outcome"] * k, dtype=str),
            {"long_name": "given, reference, found (refined by Newton), or outcome"},
        ),
        "n_orbits": xr.Variable(a, counts, {"long_name": "number of orbits"}),
        "fraction": xr.Variable(a, fraction, {"long_name": "fraction of orbits"}),
        "ci_low": xr.Variable(a, low, {"long_name": f"lower end of the {pct} Wilson interval"}),
        "ci_high": xr.Variable(a, high, {"long_name": f"upper end of the {pct} Wilson interval"}),
    }
    system = attractors.system
    if system.is_gradient:
        variables["attractor_energy"] = xr.Variable(
            a,
            np.concatenate([catalogue.energy[rows], np.full(k, np.nan)]),
            {"long_name": "potential at the attractor"},
        )
    if reference is not None:
        as_low = np.zeros(m, dtype=bool)
        if system.is_gradient:
            ref_energy = float(
                np.min(system.potential(np.asarray(reference, dtype=float), attractors.params))
            )
            energy = catalogue.energy[rows]
            as_low = energy <= ref_energy + ENERGY_TOL * max(1.0, abs(ref_energy))
        roles = [
            role_of(str(catalogue.kind[r]), r in refs, reference_name, bool(as_low[j]))
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
        )
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


def probability_dataset(run, attractors, out, *, sampler, seed, reference) -> xr.Dataset:
    """Assemble the result of :func:`basin_probabilities` from the labelled samples."""
    sys_ = run.system
    options = run.options
    s = ("sample",)
    out["label"] = attractors.labels_of(out["row"], out["status"])
    data: dict[str, Any] = {
        "label": xr.Variable(
            s, out["label"], {"long_name": "attractor label (negative: minus the outcome code)"}
        ),
        "status": status_variable(out["status"], s),
        "t_final": xr.Variable(s, out["t_final"], {"long_name": "final time"}),
        "n_steps": xr.Variable(s, out["n_steps"], {"long_name": "steps"}),
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
        **describe_sampler(sampler),
        seed=seed,
        n_samples=len(out["label"]),
        n_rounds=out["n_rounds"],
        n_calls=out["n_calls"],
        n_evaluations=out["n_evaluations"],
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
