"""Chunked basin runs: identical results in-process, on a process pool and on a dask cluster;
interrupted runs resume from their run folder to the same result."""

import json

import numpy as np
import pytest
import xarray as xr

from dynsys._execution import SystemRef, pack_system, plan_chunks, run_chunks, unpack_system
from dynsys.basins import BasinOptions, UniformBox, basin_map, basin_probabilities
from dynsys.basins._work import FlowWork
from dynsys.models import double_well, duffing

SAMPLER = UniformBox([-2.0, -1.0], [2.0, 1.0])
CHUNKS_150, CHUNKS_50, CHUNKS_40 = (BasinOptions(chunk_size=c) for c in (150, 50, 40))


def _strip(ds: xr.Dataset) -> xr.Dataset:
    """The result without its creation time stamp."""
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


def _run(options=CHUNKS_150, **kw):
    return basin_probabilities(double_well(), SAMPLER, 600, seed=42, options=options, **kw)


@pytest.fixture(scope="module")
def reference():
    return _strip(_run())


def test_interrupted_run_resumes_to_the_same_dataset(tmp_path, monkeypatch, reference):
    run_dir = tmp_path / "run"
    calls = []
    original = FlowWork.__call__

    def interrupted(self, task):
        if task.index == 2:
            raise KeyboardInterrupt
        calls.append(task.index)
        return original(self, task)

    monkeypatch.setattr(FlowWork, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(run_dir=run_dir)
    assert sorted(p.name for p in run_dir.glob("chunk_*.nc")) == [
        "chunk_000000.nc",
        "chunk_000001.nc",
    ]
    assert not list(run_dir.glob(".*.tmp"))  # no half-written files

    def counted(self, task):
        calls.append(task.index)
        return original(self, task)

    monkeypatch.setattr(FlowWork, "__call__", counted)
    calls.clear()
    resumed = _run(run_dir=run_dir)
    assert calls == [2, 3]  # only the missing chunks ran
    xr.testing.assert_identical(_strip(resumed), reference)
    # a third run computes nothing and still gives the same
    calls.clear()
    xr.testing.assert_identical(_strip(_run(run_dir=run_dir)), reference)
    assert calls == []


def test_run_folder_of_other_settings_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    basin_probabilities(double_well(), SAMPLER, 100, seed=1, options=CHUNKS_50, run_dir=run_dir)
    assert json.loads((run_dir / "manifest.json").read_text())["seed"] == 1
    with pytest.raises(ValueError, match="`seed` was 1, now 2"):
        basin_probabilities(double_well(), SAMPLER, 100, seed=2, options=CHUNKS_50, run_dir=run_dir)
    # without a seed, the run in the folder is resumed with its own seed
    again = basin_probabilities(double_well(), SAMPLER, 100, options=CHUNKS_50, run_dir=run_dir)
    assert again.attrs["seed"] == 1


def test_resumed_basin_map(tmp_path):
    grid = {"x": (-2, 2, 12), "v": (-2, 2, 10)}
    whole = basin_map(duffing(), grid, options=CHUNKS_40)
    run_dir = tmp_path / "map"
    basin_map(duffing(), grid, options=CHUNKS_40, run_dir=run_dir)
    (run_dir / "chunk_000001.nc").unlink()
    resumed = basin_map(duffing(), grid, options=CHUNKS_40, run_dir=run_dir)
    xr.testing.assert_identical(_strip(resumed), _strip(whole))


def test_dask_local_cluster_gives_the_in_process_result(reference):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        xr.testing.assert_identical(_strip(_run(executor=client)), reference)
        by_address = _run(executor=cluster.scheduler_address)
        xr.testing.assert_identical(_strip(by_address), reference)


@pytest.mark.slow
def test_dask_worker_processes_and_process_pool_give_the_in_process_result(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        xr.testing.assert_identical(_strip(_run(executor=cluster.scheduler_address)), reference)
    xr.testing.assert_identical(
        _strip(_run(CHUNKS_150.replace(workers=2), executor="processes")), reference
    )


def test_system_ref_builds_the_same_system(reference):
    ref = SystemRef("dynsys.models.classic:double_well")
    xr.testing.assert_identical(
        _strip(basin_probabilities(ref, SAMPLER, 600, seed=42, options=CHUNKS_150)), reference
    )
    assert unpack_system(pack_system(ref)) is not None
    with pytest.raises(ValueError, match="module:function"):
        SystemRef("no_colon")
    with_params = SystemRef("dynsys.models.classic:duffing", {"delta": 0.5}, {"alpha": -2.0})
    assert dict(with_params.build().params) == {"delta": 0.5, "alpha": -2.0, "beta": 1.0}


def test_closures_are_shipped_with_cloudpickle():
    pytest.importorskip("cloudpickle")
    packed = pack_system(duffing())  # a System built from closures: not picklable by pickle
    assert isinstance(packed, bytes)
    rebuilt = unpack_system(packed)
    assert np.array_equal(rebuilt.f(np.array([0.3, -0.2])), duffing().f(np.array([0.3, -0.2])))


def test_run_chunks_returns_results_in_task_order_and_shows_progress(capsys):
    def work(task):
        return xr.Dataset({"x": ("orbit", np.arange(task.start, task.start + task.size))})

    out = run_chunks(work, plan_chunks(7, 3), progress=True)
    assert xr.concat(out, "orbit")["x"].values.tolist() == list(range(7))
    assert "7/7" in capsys.readouterr().err
    with pytest.raises(ValueError, match="`executor` must be"):
        run_chunks(work, plan_chunks(2, 1), executor=3.5)
