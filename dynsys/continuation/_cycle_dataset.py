"""The Dataset of a branch of cycles (layout documented in :func:`continue_cycle`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex
from ._specials import _special_status, end_status, labelled

__all__ = ["cycle_branch_dataset"]

_SPECIAL_TYPES = (
    "LPC fold of cycles, BP branch point of cycles, PD period doubling, NS Neimark-Sacker, "
    "H Hopf point (the end where the cycles shrink onto an equilibrium)"
)


def _along(points, key):
    return np.array([p.data[key] for p in points])


def _special_table(problem, traced, n: int, samples: int, modes: int) -> dict[str, xr.Variable]:
    specials = traced.specials
    m = len(specials)
    var = labelled
    data = [s.point.data for s in specials]
    critical = np.array([s.info.get("multiplier", np.nan) for s in specials], dtype=complex)
    arclength = [
        float(
            traced.arclength[s.step]
            + traced.points[s.step].t @ (s.point.u - traced.points[s.step].u)
        )
        if traced.points[s.step].u.size == s.point.u.size
        else float("nan")
        for s in specials
    ]
    return {
        "special_type": var(
            "special",
            np.array([s.type for s in specials], dtype="<U3"),
            f"type of special point ({_SPECIAL_TYPES})",
        ),
        "special_step": var(
            "special",
            np.array([s.step for s in specials], dtype=np.int64),
            "step before the special point (it lies in [step, step + 1])",
        ),
        "special_status": _special_status([s.status for s in specials]),
        "special_param": var(
            "special",
            np.array([d["param"] for d in data], dtype=float).reshape(m),
            f"parameter {problem.param} at the special point",
        ),
        "special_period": var(
            "special",
            np.array([d["period"] for d in data], dtype=float).reshape(m),
            "period at the special point",
        ),
        "special_amplitude": var(
            "special",
            np.array([d["x_max"][0] - d["x_min"][0] for d in data], dtype=float).reshape(m),
            "peak-to-peak amplitude of the first state at the special point",
        ),
        "special_x": var(
            ("special", "time", "state"),
            np.array([d["profile"][:-1] for d in data], dtype=float).reshape(m, samples, n),
            "profile at the special point",
        ),
        "special_tau": var(
            ("special", "time"),
            np.array([d["times"][:-1] for d in data], dtype=float).reshape(m, samples),
            "normalized time of the profile samples at the special point",
        ),
        **split_complex(critical, "special", "special_multiplier", "critical Floquet multiplier"),
        "special_arclength": var(
            "special",
            np.array(arclength, dtype=float).reshape(m),
            "pseudo-arclength at the special point",
        ),
    }


def cycle_branch_dataset(
    problem, system, traced, options, cycle_options, **attrs: Any
) -> xr.Dataset:
    """Assemble the Dataset of a traced branch of cycles."""
    pts = traced.points
    n = system.n
    profiles = np.array([p.data["profile"][:-1] for p in pts])
    samples = profiles.shape[1]
    floquet = [p.data["floquet"] for p in pts]
    x_min, x_max = _along(pts, "x_min"), _along(pts, "x_max")
    var = labelled
    variables: dict[str, xr.Variable] = {
        "param": var("step", _along(pts, "param"), f"parameter {problem.param}"),
        "period": var("step", _along(pts, "period"), "period"),
        "amplitude": var(
            "step", x_max[:, 0] - x_min[:, 0], "peak-to-peak amplitude of the first state"
        ),
        "x": var(("step", "time", "state"), profiles, "profile over one period"),
        "tau": var(
            ("step", "time"),
            np.array([p.data["times"][:-1] for p in pts]),
            "normalized time t / period of each profile sample",
        ),
        "mesh": var(("step", "mesh_point"), _along(pts, "mesh"), "mesh in normalized time"),
        "x_min": var(("step", "state"), x_min, "smallest value of each state over the period"),
        "x_max": var(("step", "state"), x_max, "largest value of each state over the period"),
        **split_complex(
            np.array([f.nontrivial for f in floquet]).reshape(len(pts), n - 1),
            ("step", "mode"),
            "multiplier",
            "nontrivial Floquet multiplier",
        ),
        "trivial_multiplier": var(
            "step",
            np.array([f.trivial.real for f in floquet]),
            "the Floquet multiplier along the flow (1 when exact)",
        ),
        "floquet_error": var(
            "step",
            np.array([f.error for f in floquet]),
            "|trivial multiplier - 1|: how well the discretized linearization carries the flow",
        ),
        "stable": var(
            "step",
            np.array([f.stable for f in floquet], dtype=bool),
            "all nontrivial |multiplier| < 1",
        ),
        "unstable_multipliers": var(
            "step",
            np.array([f.unstable_count for f in floquet], dtype=np.int64),
            "number of nontrivial multipliers outside the unit circle",
        ),
        "arclength": var("step", traced.arclength, "pseudo-arclength from the start point"),
        "newton_iterations": var(
            "step",
            np.array([p.iterations for p in pts], dtype=np.int64),
            "corrector Newton iterations",
        ),
        "tangent_param": var(
            "step",
            np.array([p.t[-1] for p in pts]),
            "parameter component of the unit tangent (fold test function)",
        ),
        **_special_table(problem, traced, n, samples, n - 1),
    }
    variables["status"], end = end_status(traced.stop_backward, traced.stop_forward)
    settings = {
        "continuation_param": problem.param,
        **options.as_attrs(),
        **cycle_options.as_attrs(prefix="cycle_"),
        "start_step": traced.start_step,
        "n_points": len(pts),
        "n_special": len(traced.specials),
        "n_newton_iterations": traced.n_newton,
        "n_rejected_steps": traced.n_rejected,
        **attrs,
    }
    return xr.Dataset(
        variables,
        coords={
            "step": np.arange(len(pts)),
            "time": np.arange(samples),
            "state": list(system.state_names),
            "mode": np.arange(n - 1),
            "mesh_point": np.arange(problem.col.ntst + 1),
            "special": np.arange(len(traced.specials)),
            "end": end,
        },
        attrs=provenance(system, **settings),
    )
