"""The engine shared by basin maps, basin probabilities and sweeps: the fixed settings of one
computation, the chunked flow (or iteration of a map), and the sequential Monte-Carlo loop.

The chunks only follow orbits to their end states (in this process, a process pool or on dask,
and kept in a resumable run folder); the end states are then labelled in this process, chunk
after chunk in order: verified points (or a map's cycles), and, for orbits that did not settle,
the recurrence phase (:mod:`dynsys.basins._recurrence`), which also runs here. A resumed run
recomputes the labelling from the stored end states, with the same result."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._execution import ChunkTask, SystemRef, pack_system, plan_chunks, run_chunks
from .._group import check_group
from .._points import Arrival, arrival_tolerance
from ..errors import InputError, InputTypeError
from ..integrate import FlowOptions, StopRegions
from ..maps import Map
from ..system import System
from ._known import KnownAttractors
from ._options import BasinOptions
from ._regions import RegionRule, stop_regions
from ._samplers import Sampler, describe_sampler
from ._statistics import widths_below
from ._traps import match_traps
from ._work import FlowWork, MapWork, concat_chunks

__all__ = [
    "BasinRun",
    "check_count",
    "check_sampler",
    "draw_seed",
    "run_grid",
    "run_samples",
    "sampler_preview",
]

_PREVIEW = 1000  # draws of a sampler that show the spread of its initial states


def check_count(value, name: str) -> int:
    """``value`` as int if it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"`{name}` must be a positive integer; got {value!r}.")
    return int(value)


def check_sampler(sampler, n: int) -> Sampler:
    """Return ``sampler`` after checking it can draw states of dimension ``n``."""
    if not isinstance(sampler, Sampler):
        raise InputTypeError(
            "`sampler` must be a sampler from dynsys.basins (UniformBox, Gaussian, NetworkInit, "
            f"SmallBall); got {type(sampler).__name__}."
        )
    sampler.check(n)
    return sampler


def sampler_preview(sampler: Sampler, n: int) -> np.ndarray:
    """``1000`` draws of ``sampler`` from a fixed stream (not those of the run): the spread of
    the initial states, for the automatic cell size of the recurrence."""
    return sampler.sample(np.random.default_rng(0), _PREVIEW, n)


@dataclass(frozen=True)
class BasinRun:
    """What one basin computation holds fixed besides its initial states: the system (a flow or
    a map, and what workers receive of it), the parameters, the options, the symmetry, and the
    flow options actually run (``converge_tol`` from the arrival rule, recorded in ``arrival``;
    maps run ``options.iterate``)."""

    system: System | Map
    shipped: Any  # the System, a SystemRef, or pickled bytes for other processes
    params: dict[str, float]
    options: BasinOptions
    symmetry: Any
    flow: FlowOptions
    arrival: Arrival | None = None
    regions: Any = None  # StopRegions of the attracting points known before the run, or None
    trap_notes: tuple[str, ...] = ()  # why declared trapping regions were left out

    @classmethod
    def make(cls, system, *, params, options, symmetry, executor) -> BasinRun:
        """Check the inputs and build the run (before the arrival rule is applied)."""
        built = system.build() if isinstance(system, SystemRef) else system
        if not isinstance(built, System | Map):
            raise InputTypeError(
                "`system` must be a dynsys System (a flow), a Map, or a SystemRef; got "
                f"{type(system).__name__}."
            )
        if not isinstance(options, BasinOptions):
            raise InputTypeError(f"`options` must be a BasinOptions; got {type(options).__name__}.")
        size = options.recurrence.cell_size
        if size is not None and len(size) not in (1, built.n):
            raise InputError(
                f"`options.recurrence.cell_size` has {len(size)} values; give one value or one "
                f"per state ({built.n} for {built.name!r})."
            )
        in_process = executor is None or executor == "inprocess"
        shipped = system if in_process or isinstance(system, SystemRef) else pack_system(built)
        return cls(
            built,
            shipped,
            built.resolve_params(params),
            options,
            check_group(symmetry, built.n),
            options.flow,
        )

    @property
    def is_map(self) -> bool:
        return bool(self.system.is_map)

    def attractors(self) -> KnownAttractors:
        """An empty table of known attractors for this run."""
        return KnownAttractors(self.system, self.params, self.options, self.symmetry)

    def arrive(self, attractors: KnownAttractors) -> BasinRun:
        """The run with the arrival rule applied over the points known now (flows; a map's
        orbits settle by the test of ``options.iterate``)."""
        if self.is_map:
            return self
        flow = self.options.flow
        arrival = arrival_tolerance(
            flow.converge_tol,
            rtol=flow.rtol,
            atol=flow.atol,
            spectral_radius=attractors.catalogue.spectral_radius(),
            scale=attractors.catalogue.scale(),
            explicit=flow.method in ("dopri5", "dop853"),
        )
        regions, notes = self._regions(attractors)
        return dataclasses.replace(
            self,
            flow=flow.replace(converge_tol=arrival.used),
            arrival=arrival,
            regions=regions,
            trap_notes=notes,
        )

    def _regions(self, attractors: KnownAttractors):
        """The stop regions of the points known now: checked ellipsoids around the attracting
        ones (``BasinOptions.stop_regions``) and the system's trapping regions
        (``BasinOptions.trapping_regions``), or None when neither applies; and why declared
        trapping regions were left out."""
        if self.symmetry is not None or self.options.flow.method not in ("dopri5", "dop853"):
            return None, ()
        catalogue = attractors.catalogue
        attracting = attractors.points.attracting()
        rows = np.flatnonzero(attracting)
        if rows.size == 0:
            return None, ()
        regions = StopRegions.empty(self.system.n)
        if self.options.stop_regions:
            regions = stop_regions(self.system, self.params, catalogue.x[rows], rows)
        traps = self.system.trapping_regions if self.options.trapping_regions else None
        notes: tuple[str, ...] = ()
        if traps is not None:
            found = match_traps(self.system, self.params, catalogue.x, attracting)
            notes = found.notes
            if found.kept.size:
                geometry = found.geometry
                regions = dataclasses.replace(
                    regions,
                    rows=np.concatenate([regions.rows, found.rows]),
                    lyapunov=traps,
                    lyapunov_params=traps.values(self.params),
                    trap_levels=geometry.levels[found.kept],
                    trap_normals=geometry.normals[found.kept],
                    trap_offsets=geometry.offsets[found.kept],
                )
        return (regions if len(regions) else None), notes

    def fingerprint(self, **extra: Any) -> dict[str, Any]:
        """The settings that decide the content of the chunk files."""
        if self.is_map:
            orbit_options = {"iterate_options": self.options.iterate.as_attrs()}
        else:
            orbit_options = {"flow_options": self.flow.as_attrs()}
            if self.regions is not None:
                orbit_options["stop_regions"] = {
                    "centers": self.regions.centers,
                    "forms": self.regions.forms,
                    "levels": self.regions.levels,
                }
                if self.regions.lyapunov is not None:
                    orbit_options["trapping_regions"] = {
                        "lyapunov": self.regions.lyapunov.lyapunov,
                        "levels": self.regions.trap_levels,
                        "normals": self.regions.trap_normals,
                        "offsets": self.regions.trap_offsets,
                    }
        return {
            "system": self.system.describe(),
            "params": self.params,
            **orbit_options,
            "chunk_size": self.options.chunk_size,
            **extra,
        }

    def work(self, **kwargs: Any) -> FlowWork:
        """The work of one chunk: :class:`MapWork` for a map, :class:`FlowWork` for a flow."""
        if self.is_map:
            return MapWork(self.shipped, self.params, self.options.iterate, **kwargs)
        return FlowWork(self.shipped, self.params, self.flow, regions=self.regions, **kwargs)

    def attrs(self) -> dict[str, Any]:
        """Settings stamped on the result."""
        out = dict(self.options.as_attrs())
        if self.arrival is not None:
            out.update(self.arrival.as_attrs())
        regions = self.regions
        if regions is not None and len(regions.levels):
            out["stop_region_rule"] = RegionRule().describe()
            out["stop_regions_used"] = len(regions.levels)
        if regions is not None and regions.lyapunov is not None:
            out["trapping_regions_used"] = len(regions.trap_levels)
            out["trapping_region_proof"] = regions.lyapunov.proof
        if self.trap_notes:
            out["trapping_region_notes"] = "; ".join(self.trap_notes)
        out.update({f"param_{k}": float(v) for k, v in self.params.items()})
        out["symmetry"] = None if self.symmetry is None else type(self.symmetry).__name__
        return out


def _run(run: BasinRun, work: FlowWork, tasks, *, executor, run_dir, fingerprint, progress):
    chunks = run_chunks(
        work,
        tasks,
        executor=executor,
        workers=run.options.workers,
        run_dir=run_dir,
        fingerprint=fingerprint,
        progress=progress,
        desc=f"basins {run.system.name}",
    )
    return concat_chunks(chunks)


def run_grid(
    run: BasinRun,
    states: np.ndarray,
    attractors: KnownAttractors,
    *,
    executor=None,
    run_dir=None,
    progress: bool = False,
) -> dict[str, Any]:
    """Integrate from every state of ``states (m, n)`` and name where each orbit ends."""
    tasks = [
        ChunkTask(t.index, t.start, t.size, states[t.start : t.start + t.size])
        for t in plan_chunks(len(states), run.options.chunk_size)
    ]
    work = run.work()
    out = _run(
        run,
        work,
        tasks,
        executor=executor,
        run_dir=run_dir,
        fingerprint=run.fingerprint(kind="map", grid=states),
        progress=progress,
    )
    attractors.label(out)
    return out


def run_samples(
    run: BasinRun,
    sampler: Sampler,
    n: int,
    attractors: KnownAttractors,
    *,
    seed: int,
    sequential: bool = True,
    executor=None,
    run_dir=None,
    progress: bool = False,
) -> dict[str, Any]:
    """Draw ``n`` initial states per round, integrate, name the ends; repeat until every Wilson
    interval is narrower than ``options.target_width`` or ``options.max_samples`` are used (one
    round without a target, or when not ``sequential``)."""
    options = run.options
    work = run.work(sampler=sampler, seed=seed, keep_states=options.keep_states)
    fingerprint = run.fingerprint(
        kind="probabilities",
        sampler=describe_sampler(sampler),
        seed=seed,
        round_size=n,
        keep_states=options.keep_states,
    )
    parts: list[dict[str, Any]] = []
    first_chunk = 0
    target = options.target_width if sequential else None
    while True:
        tasks = plan_chunks(n, options.chunk_size, first_index=first_chunk, start=n * len(parts))
        first_chunk += len(tasks)
        out = _run(
            run,
            work,
            tasks,
            executor=executor,
            run_dir=run_dir,
            fingerprint=fingerprint,
            progress=progress,
        )
        attractors.label(out)
        if not options.keep_states:
            del out["x_final"]
        parts.append(out)
        total = n * len(parts)
        if target is None or total + n > options.max_samples:
            break
        labels = attractors.labels_of(
            *(np.concatenate([p[key] for p in parts]) for key in ("row", "rec", "status"))
        )
        classes = np.unique(np.concatenate([labels, np.arange(attractors.count())]))
        counts = [np.count_nonzero(labels == c) for c in classes]
        if widths_below(counts, total, target, confidence=options.confidence):
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
            raise InputError(f"`seed` must be a non-negative integer; got {seed!r}.")
        return int(seed)
    if run_dir is not None:
        manifest = Path(run_dir) / "manifest.json"
        if manifest.exists():
            found = json.loads(manifest.read_text(encoding="utf-8")).get("seed")
            if isinstance(found, int):
                return found
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
