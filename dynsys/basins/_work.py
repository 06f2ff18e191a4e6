"""The work of one chunk of a basin computation: draw or take the initial states, run the batched
flow (:class:`FlowWork`) or iterate the map (:class:`MapWork`), keep the end points. Picklable, so
that it runs in worker processes and on dask workers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import status_variable
from .._execution import ChunkTask, SystemRef, unpack_system
from ..integrate import FlowOptions
from ._samplers import Sampler
from ._statistics import chunk_rng

__all__ = ["FlowWork", "MapWork", "concat_chunks"]


@dataclass(frozen=True)
class FlowWork:
    """Integrate the orbits of one chunk.

    Grid chunks carry their initial states (``task.x0``); Monte-Carlo chunks draw ``task.size``
    states from ``sampler`` with the chunk's own generator (root ``seed``, chunk number).
    """

    system: SystemRef | bytes
    params: Mapping[str, float]
    options: FlowOptions
    sampler: Sampler | None = None
    seed: int | None = None
    keep_states: bool = False
    regions: Any = None  # StopRegions, with ``rows`` the catalogue row of each region
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def _system(self):
        """The system, unpacked once per work object and once per process for packed bytes
        (dask sends the work with every chunk)."""
        system = self._cache.get("system")
        if system is None:
            system = self._cache["system"] = _unpacked(self.system)
        return system

    def initial_states(self, task: ChunkTask, n: int) -> np.ndarray:
        """The chunk's initial states ``(task.size, n)``."""
        if task.x0 is not None:
            return np.asarray(task.x0, dtype=float).reshape(task.size, n)
        return self.sampler.sample(chunk_rng(self.seed, task.index), task.size, n)

    def __call__(self, task: ChunkTask) -> xr.Dataset:
        from ..integrate import follow

        system = self._system()
        x0 = self.initial_states(task, system.n)
        run = follow(
            system, x0, params=dict(self.params), options=self.options, stop_regions=self.regions
        )
        r = run.record
        data = {
            "x_final": (("orbit", "state"), r.x_final),
            "status": status_variable(r.status, "orbit"),
            "t_final": ("orbit", r.t_final),
            "n_steps": ("orbit", r.n_steps),
        }
        if self.keep_states:
            data["x0"] = (("orbit", "state"), run.x0)
        if run.region is not None:
            region = run.region
            data["stop_row"] = (
                "orbit",
                np.where(region >= 0, self.regions.rows[np.maximum(region, 0)], -1),
            )
        attrs = {"n_calls": int(r.n_calls), "n_evaluations": int(r.n_evaluations)}
        orbit = np.arange(task.start, task.start + task.size)
        return xr.Dataset(data, coords={"orbit": orbit}, attrs=attrs)

    def in_process_threads(self) -> int:
        """Chunks that may run side by side in one process (:func:`dynsys._execution.run_chunks`
        without an executor): the compiled loop's threads when the orbits run on the compiled
        path, which releases the GIL (each chunk then runs on one thread, and one chunk's
        Python work overlaps another's loop); 1 otherwise."""
        from ..integrate import chunk_threads

        return chunk_threads(self._system(), self.options)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@dataclass(frozen=True)
class MapWork(FlowWork):
    """Iterate the orbits of one chunk of a map (:func:`dynsys.integrate.iterate`): the end
    state, the outcome (converged, periodic, escaped, nonfinite, max_steps), the iterations
    (``n_steps``) and the minimal period of the cycle an orbit settled on (0: none).
    ``options`` is an :class:`~dynsys.integrate.IterateOptions`."""

    def in_process_threads(self) -> int:
        """One: maps are iterated on the numpy path, which holds the GIL."""
        return 1

    def __call__(self, task: ChunkTask) -> xr.Dataset:
        from ..integrate import iterate

        system = self._cache.get("system")
        if system is None:
            system = self._cache["system"] = unpack_system(self.system)
        x0 = self.initial_states(task, system.n)
        ds = iterate(system, x0, params=dict(self.params), options=self.options)
        keep = ["x_final", "status", "period"] + (["x0"] if self.keep_states else [])
        out = ds[keep].assign(n_steps=ds["iterations"])
        out = out.assign_coords(orbit=np.arange(task.start, task.start + task.size))
        out.attrs = {
            "n_calls": int(ds.attrs["n_calls"]),
            "n_evaluations": int(ds.attrs["n_evaluations"]),
        }
        return out.drop_vars(["state", "phase"], errors="ignore")


_UNPACKED: dict[bytes, Any] = {}  # packed system -> system, in this process


def _unpacked(packed):
    if not isinstance(packed, bytes):
        return unpack_system(packed)
    key = hashlib.sha1(packed).digest()
    if key not in _UNPACKED:
        if len(_UNPACKED) > 16:
            _UNPACKED.clear()
        _UNPACKED[key] = unpack_system(packed)
    return _UNPACKED[key]


def concat_chunks(chunks: Sequence[xr.Dataset]) -> dict[str, np.ndarray]:
    """Join chunk results along ``orbit``; return arrays and the summed counters."""
    out: dict[str, Any] = {}
    names = set(chunks[0].data_vars)
    for name in names:
        out[name] = np.concatenate([np.asarray(c[name].values) for c in chunks])
    out["n_calls"] = int(sum(int(c.attrs.get("n_calls", 0)) for c in chunks))
    out["n_evaluations"] = int(sum(int(c.attrs.get("n_evaluations", 0)) for c in chunks))
    return out
