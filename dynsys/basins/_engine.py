"""The engine shared by basin maps, basin probabilities and sweeps: settings, the chunked flow,
and the sequential Monte-Carlo loop."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._execution import ChunkTask, SystemRef, pack_system, plan_chunks, run_chunks
from ..integrate._options import FlowOptions
from ._match import AttractorTable
from ._samplers import Sampler, describe_sampler
from ._statistics import widths_below
from ._work import FlowWork, concat_chunks

__all__ = [
    "DEFAULT_FLOW_OPTIONS",
    "Settings",
    "check_sampler",
    "draw_seed",
    "run_grid",
    "run_samples",
]

DEFAULT_FLOW_OPTIONS = FlowOptions(t_max=1000.0, rtol=1e-8, atol=1e-10, converge_tol=1e-8)
"""Flow settings of basin computations when none are given: Dormand-Prince 5(4), stop when
``|f| <= 1e-8`` or at ``t = 1000``."""


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return int(value)


def check_sampler(sampler, n: int) -> Sampler:
    """Return ``sampler`` after checking it can draw states of dimension ``n``."""
    if not isinstance(sampler, Sampler):
        raise TypeError(
            "`sampler` must be a sampler from dynsys.basins (UniformBox, Gaussian, NetworkInit, "
            f"SmallBall); got {type(sampler).__name__}."
        )
    sampler.check(n)
    return sampler


@dataclass
class Settings:
    """Everything a basin computation needs besides its initial states."""

    system: Any  # the System, built here
    shipped: Any  # what the workers get: the System, a SystemRef or pickled bytes
    params: dict[str, float]
    options: FlowOptions
    match_tol: float
    symmetry: Any
    discover: bool
    refine: bool
    newton_options: Any
    chunk_size: int
    executor: Any
    run_dir: Any
    progress: bool
    requested_tol: float | None = None  # converge_tol asked for, when reach_attractors raised it

    @classmethod
    def make(
        cls,
        system,
        *,
        params,
        flow_options,
        match_tol,
        symmetry,
        discover,
        refine,
        newton_options,
        chunk_size,
        executor,
        run_dir,
        progress,
    ) -> Settings:
        built = system.build() if isinstance(system, SystemRef) else system
        if not hasattr(built, "f") or not hasattr(built, "state_names"):
            raise TypeError(
                f"`system` must be a dynsys System or a SystemRef; got {type(system).__name__}."
            )
        options = DEFAULT_FLOW_OPTIONS if flow_options is None else flow_options
        if not isinstance(options, FlowOptions):
            raise TypeError(
                f"`flow_options` must be a FlowOptions; got {type(flow_options).__name__}."
            )
        if options.converge_tol is None:
            raise ValueError(
                "`flow_options.converge_tol` is None, so no orbit would count as converged and "
                "none could be labelled; set e.g. FlowOptions(converge_tol=1e-8, ...)."
            )
        if not (np.isfinite(match_tol) and match_tol > 0):
            raise ValueError(f"`match_tol` must be a finite positive number; got {match_tol!r}.")
        if symmetry is not None and not callable(getattr(symmetry, "match", None)):
            raise TypeError(
                "`symmetry` must be a state group with canonical(x) and match(x, reference, tol) "
                f"(dynsys.symmetry); got {type(symmetry).__name__}."
            )
        in_process = executor is None or executor == "inprocess"
        shipped = system if in_process or isinstance(system, SystemRef) else pack_system(built)
        return cls(
            built,
            shipped,
            built.resolve_params(params),
            options,
            float(match_tol),
            symmetry,
            bool(discover),
            bool(refine),
            newton_options,
            _check_count(chunk_size, "chunk_size"),
            executor,
            run_dir,
            bool(progress),
        )

    def table(self) -> AttractorTable:
        return AttractorTable(
            self.system,
            self.params,
            match_tol=self.match_tol,
            symmetry=self.symmetry,
            discover=self.discover,
            refine=self.refine,
            newton_options=self.newton_options,
        )

    def reach_attractors(self, table: AttractorTable) -> None:
        """Raise ``converge_tol`` (Runge-Kutta methods) to where orbits can arrive at the known
        attractors.

        Next to a stable point with Jacobian eigenvalues of size ``|lambda|`` an explicit
        Runge-Kutta orbit hovers at ``|f| ~ rtol |x| |lambda|``: a smaller ``converge_tol`` is
        never met, and every orbit runs to ``t_max`` and ends as "not converged" (stiff
        landscapes such as Mueller-Brown, ``|lambda|`` up to 4e3). The floor is
        ``10 rtol max(1, |x|_inf) max |lambda|`` over the table's attractors; the requested
        value is kept in ``converge_tol_requested``.
        """
        opts = self.options
        if opts.method == "gradient_descent" or len(table) == 0 or self.system.n > 200:
            return
        floor = 0.0
        for x in table.x:
            J = self.system.jac(x, self.params)
            J = J.toarray() if hasattr(J, "toarray") else np.asarray(J, dtype=float)
            if not np.all(np.isfinite(J)):
                continue
            size = float(np.abs(np.linalg.eigvals(J)).max())
            floor = max(floor, 10.0 * opts.rtol * max(1.0, float(np.abs(x).max())) * size)
        if floor > opts.converge_tol:
            self.requested_tol = opts.converge_tol
            self.options = dataclasses.replace(opts, converge_tol=floor)

    def fingerprint(self, **extra: Any) -> dict[str, Any]:
        """The settings that decide the content of the chunk files."""
        options = dict(self.options.as_attrs())
        return {
            "system": self.system.describe(),
            "params": self.params,
            "flow_options": options,
            "chunk_size": self.chunk_size,
            **extra,
        }

    def attrs(self) -> dict[str, Any]:
        """Settings stamped on the result."""
        out = dict(self.options.as_attrs())
        if self.requested_tol is not None:
            out["converge_tol_requested"] = self.requested_tol
        out.update({f"param_{k}": float(v) for k, v in self.params.items()})
        out.update(
            match_tol=self.match_tol,
            discover=self.discover,
            refine=self.refine,
            chunk_size=self.chunk_size,
            symmetry=None if self.symmetry is None else type(self.symmetry).__name__,
        )
        return out


def _run(settings: Settings, work: FlowWork, tasks, run_dir, fingerprint, desc: str):
    chunks = run_chunks(
        work,
        tasks,
        executor=settings.executor,
        run_dir=run_dir,
        fingerprint=fingerprint,
        progress=settings.progress,
        desc=desc,
    )
    return concat_chunks(chunks)


def run_grid(settings: Settings, states: np.ndarray, table: AttractorTable) -> dict[str, Any]:
    """Integrate from every state of ``states (m, n)`` and label the end points."""
    tasks = [
        ChunkTask(t.index, t.start, t.size, states[t.start : t.start + t.size])
        for t in plan_chunks(len(states), settings.chunk_size)
    ]
    work = FlowWork(settings.shipped, settings.params, settings.options)
    out = _run(
        settings,
        work,
        tasks,
        settings.run_dir,
        settings.fingerprint(kind="map", grid=states),
        f"basins {settings.system.name}",
    )
    out["label"], out["status"], out["g"] = table.label(out["x_final"], out["status"])
    return out


def run_samples(
    settings: Settings,
    sampler: Sampler,
    n: int,
    table: AttractorTable,
    *,
    seed: int,
    target_width: float | None = None,
    max_samples: int | None = None,
    confidence: float = 0.95,
    keep_states: bool = False,
    run_dir=None,
) -> dict[str, Any]:
    """Draw ``n`` initial states per round, integrate, label; repeat until every Wilson interval
    is narrower than ``target_width`` or ``max_samples`` are used (one round without a target)."""
    work = FlowWork(
        settings.shipped,
        settings.params,
        settings.options,
        sampler=sampler,
        seed=seed,
        keep_states=keep_states,
    )
    fingerprint = settings.fingerprint(
        kind="probabilities",
        sampler=describe_sampler(sampler),
        seed=seed,
        round_size=n,
        keep_states=keep_states,
    )
    parts: list[dict[str, Any]] = []
    first_chunk = 0
    while True:
        tasks = plan_chunks(n, settings.chunk_size, first_index=first_chunk, start=n * len(parts))
        first_chunk += len(tasks)
        out = _run(settings, work, tasks, run_dir, fingerprint, f"basins {settings.system.name}")
        out["label"], out["status"], out["g"] = table.label(out["x_final"], out["status"])
        if not keep_states:
            del out["x_final"]
        parts.append(out)
        total = n * len(parts)
        if target_width is None or total + n > max_samples:
            break
        labels = np.concatenate([p["label"] for p in parts])
        classes = np.unique(np.concatenate([labels, np.arange(len(table))]))
        counts = [np.count_nonzero(labels == c) for c in classes]
        if widths_below(counts, total, target_width, confidence=confidence):
            break
    return _join(parts)


def _join(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n_rounds": len(parts)}
    for key, value in parts[0].items():
        if isinstance(value, np.ndarray):
            out[key] = np.concatenate([p[key] for p in parts])
        elif value is None:
            out[key] = None
        else:
            out[key] = sum(p[key] for p in parts)
    return out


def draw_seed(seed, run_dir=None) -> int:
    """``seed`` checked; or the seed of the run in ``run_dir``; or a fresh random one."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer; got {seed!r}.")
        return int(seed)
    if run_dir is not None:
        manifest = Path(run_dir) / "manifest.json"
        if manifest.exists():
            found = json.loads(manifest.read_text(encoding="utf-8")).get("seed")
            if isinstance(found, int):
                return found
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
