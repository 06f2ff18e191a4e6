"""Tests of dynsys.io: exact round trips, atomic writes, provenance and files that are not ours."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5netcdf.core
import numpy as np
import pytest
import xarray as xr

import dynsys
from dynsys._dataset import provenance, split_complex, status_variable
from dynsys._status import Status
from dynsys.errors import FileFormatError
from dynsys.io import FORMAT_VERSION, atomic_write_path, load, load_tree, save
from dynsys.models.classic import brusselator, double_well

STAMP = {"created_by": "dynsys", "dynsys_version": dynsys.__version__}


# --------------------------------------------------------------------------- helpers
def _assert_same_attrs(actual: dict, expected: dict, where: str) -> None:
    assert list(actual) == list(expected), where
    for key, value in expected.items():
        got = actual[key]
        assert type(got) is type(value), f"{where}: attribute {key!r}: {type(got)} != {type(value)}"
        if isinstance(value, np.ndarray):
            assert (got.dtype, got.shape) == (value.dtype, value.shape), f"{where}: {key!r}"
            np.testing.assert_array_equal(got, value)
        elif not (isinstance(value, float) and np.isnan(value)):  # NaN: its type was checked
            assert got == value, f"{where}: attribute {key!r}: {got!r} != {value!r}"


def _assert_same_dataset(actual: xr.Dataset, expected: xr.Dataset, where: str = "/") -> None:
    """Identical, and also the same dtypes, attribute types and complex parts (NaNs included)."""
    xr.testing.assert_identical(actual, expected)
    _assert_same_attrs(actual.attrs, expected.attrs, where)
    assert set(actual.coords) == set(expected.coords)
    for name, var in expected.variables.items():
        got = actual.variables[name]
        assert got.dtype == var.dtype, f"{where}{name}: {got.dtype} != {var.dtype}"
        if var.dtype.kind == "c":
            np.testing.assert_array_equal(got.values.real, var.values.real)
            np.testing.assert_array_equal(got.values.imag, var.values.imag)
        _assert_same_attrs(got.attrs, var.attrs, f"{where}{name}")


def assert_exact(actual, expected) -> None:
    assert type(actual) is type(expected)
    if isinstance(expected, xr.DataTree):
        xr.testing.assert_identical(actual, expected)
        assert [n.path for n in actual.subtree] == [n.path for n in expected.subtree]
        for node in expected.subtree:
            _assert_same_dataset(
                actual[node.path].to_dataset(inherit=False),
                node.to_dataset(inherit=False),
                node.path,
            )
    else:
        _assert_same_dataset(actual, expected)


def round_trip(obj, tmp_path: Path, name: str = "result.nc"):
    return load(save(obj, tmp_path / name))


def raw(path: Path) -> xr.Dataset:
    """The file as plain xarray sees it (no dynsys decoding)."""
    return xr.load_dataset(path, engine="h5netcdf")


def temporaries(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.tmp"))


# --------------------------------------------------------------------------- layouts
def fixed_point_dataset() -> xr.Dataset:
    """Double well: minima (+-1, 0), index-1 saddle at 0; Jacobian -Hess V is diagonal."""
    system = double_well()
    x = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    eigenvalues = np.array([[-2.0, -1.0], [1.0, -1.0], [-2.0, -1.0]], dtype=complex)
    return xr.Dataset(
        {
            "x": (("point", "state"), x, {"long_name": "fixed point"}),
            "residual": ("point", np.zeros(3), {"long_name": "|f(x)|"}),
            **split_complex(eigenvalues, ("point", "mode"), "eigenvalue", "eigenvalue"),
            "kind": ("point", np.array(["minimum", "saddle-1", "minimum"], dtype=object)),
            "index": ("point", np.array([0, 1, 0]), {"long_name": "unstable directions"}),
            "nullity": ("point", np.zeros(3, dtype=np.int64)),
            "energy": ("point", np.asarray(system.potential(x)), {"long_name": "V(x)"}),
            "status": status_variable([Status.CONVERGED] * 3, "point"),
        },
        coords={"state": list(system.state_names)},
        attrs=provenance(system, tol=1e-10, max_iter=50, deflation=False),
    )


def trajectory_dataset() -> xr.Dataset:
    """x' = -x from (1, 2): x(t) = x0 exp(-t)."""
    t = np.linspace(0.0, 2.0, 21)
    x = np.exp(-t)[:, None] * np.array([1.0, 2.0])
    return xr.Dataset(
        {"x": (("time", "state"), x, {"long_name": "state", "units": "1"})},
        coords={"time": ("time", t, {"units": "s"}), "state": ["u", "v"]},
        attrs=provenance(None, method="RK45", rtol=1e-9, atol=1e-12, nfev=123),
    )


def flow_dataset() -> xr.Dataset:
    x0 = np.array([[0.5, 0.1], [-0.5, 0.2], [1e3, 0.0]])
    return xr.Dataset(
        {
            "x0": (("orbit", "state"), x0),
            "x_final": (("orbit", "state"), [[1.0, 0.0], [-1.0, 0.0], [np.inf, np.nan]]),
            "t_final": ("orbit", [12.5, 13.0, 0.7]),
            "status": status_variable(
                [Status.CONVERGED, Status.CONVERGED, Status.ESCAPED], "orbit"
            ),
            "n_steps": ("orbit", np.array([40, 41, 3], dtype=np.int32)),
        },
        coords={"state": ["x", "y"]},
        attrs=provenance(double_well(), method="dopri5", t_max=100.0, escape_radius=1e2),
    )


def complex_dataset() -> xr.Dataset:
    """Brusselator at (a, b/a): trace b - 1 - a^2 = -1/2, det a^2 = 1, so -1/4 +- i sqrt(15)/4."""
    lam = complex(-0.25, np.sqrt(15.0) / 4.0)
    eigenvalues = np.array([[lam, lam.conjugate()], [complex(0, np.inf), complex(np.nan, 1.0)]])
    return xr.Dataset(
        {
            "eigenvalue": (("point", "mode"), eigenvalues, {"long_name": "eigenvalue"}),
            "eigenvalue_single": (("point", "mode"), eigenvalues.astype(np.complex64)),
            "multiplier": ((), np.complex128(-1.0 - 0.0j)),
        },
        coords={"shift": ("point", np.array([0.5j, -1.5 + 2j]))},
        attrs=provenance(brusselator(), zero_tol=1e-8),
    )


def strings_and_bools_dataset() -> xr.Dataset:
    return xr.Dataset(
        {
            "stable": ("step", np.array([True, False, True, True])),
            "kind": ("step", np.array(["sink node", "", "saddle focus", "centre ✓"], dtype=object)),
            "label": ("step", np.array(["a", "bb", "c", "d"], dtype="<U12")),
            "note": ((), np.array("a 0-d string", dtype=object)),
            "empty": ("none", np.array([], dtype=object)),
            "status": status_variable([0, 3, 10, 7], "step"),
        },
        coords={"step": np.arange(4), "special": ("step", ["LP", "BP", "H", ""])},
        attrs={**STAMP, "converged": True, "deflation": np.bool_(False)},
    )


def diagram_tree() -> xr.DataTree:
    """A continuation diagram: two branches of the pitchfork x' = mu x - x^3 and a table."""
    mu = np.linspace(0.0, 1.0, 6)
    root = xr.Dataset(coords={"state": ["x"]}, attrs=provenance(None, ds=0.1, max_steps=200))

    def branch(x, stable, sign):
        jac = (mu - 3.0 * x**2).astype(complex)
        return xr.Dataset(
            {
                "param": ("step", mu, {"long_name": "mu"}),
                "x": (("step", "state"), x[:, None]),
                "stable": ("step", stable),
                "eigenvalue": (("step", "mode"), jac[:, None]),
            },
            attrs={"branch_sign": sign, "origin": {"from": "branch point", "param": 0.0}},
        )

    special = xr.Dataset(
        {"type": ("special", np.array(["BP"], dtype=object)), "param": ("special", [0.0])}
    )
    return xr.DataTree.from_dict(
        {
            "/": root,
            "/trivial": branch(np.zeros_like(mu), mu <= 0.0, 0),
            "/upper": branch(np.sqrt(mu), np.ones(6, dtype=bool), 1),
            "/lower": branch(-np.sqrt(mu), np.ones(6, dtype=bool), -1),
            "/special": special,
        },
        name="pitchfork diagram",
    )


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "build",
    [
        fixed_point_dataset,
        trajectory_dataset,
        flow_dataset,
        complex_dataset,
        strings_and_bools_dataset,
    ],
)
def test_layouts_round_trip_exactly(build, tmp_path):
    ds = build()
    assert_exact(round_trip(ds, tmp_path), ds)


def test_datatree_of_branches_round_trips_exactly(tmp_path):
    tree = diagram_tree()
    back = load(save(tree, tmp_path / "diagram.nc"))
    assert_exact(back, tree)
    assert back.name == "pitchfork diagram"
    # inherited coordinates stay inherited, and load_tree gives the same
    assert (
        "state" in back["upper"].coords
        and "state" not in back["upper"].to_dataset(inherit=False).coords
    )
    assert_exact(load_tree(tmp_path / "diagram.nc"), tree)


def test_load_tree_wraps_a_saved_dataset_as_root(tmp_path):
    ds = fixed_point_dataset()
    tree = load_tree(save(ds, tmp_path / "points.nc"))
    assert isinstance(tree, xr.DataTree) and not tree.children
    assert_exact(tree.to_dataset(), ds)


def test_datatree_with_only_a_root_loads_as_datatree(tmp_path):
    tree = xr.DataTree(fixed_point_dataset())
    assert_exact(round_trip(tree, tmp_path), tree)


ATTRIBUTE_ZOO = {
    "none": None,
    "flag": True,
    "numpy_flag": np.bool_(False),
    "count": 3,
    "huge": 2**70,
    "tol": 1e-10,
    "nan": float("nan"),
    "single": np.float32(1.5),
    "small": np.int8(-3),
    "z": 1 - 2j,
    "z64": np.complex64(0.5 + 1j),
    "text": "λ = 0.5 ✓",
    "empty": "",
    "with_nul": "a\x00b",
    "raw": b"\xff\x00abc",
    "names": ["u", "v"],
    "numbers": [1.0, 2.5],
    "nested": {"a": [1, 2], "b": {"c": None, "d": True}},
    "pair": (1, "x"),
    "zero_d": np.array(2.0),
    "one": np.array([3], dtype=np.int16),
    "matrix": np.arange(6.0).reshape(2, 3),
    "mask": np.array([[True], [False]]),
    "labels": np.array(["x", "yy"]),
    "objects": np.array(["p", "q"], dtype=object),
    "byte_labels": np.array([b"a", b"\xff"]),
    "roots": np.array([1j, -2.0]),
    "no_ints": np.array([], dtype=np.int32),
    "no_labels": np.zeros((0, 3), dtype="<U2"),
    "flag_values": np.arange(11, dtype=np.int8),
}


def test_attribute_values_round_trip_with_their_types(tmp_path):
    ds = xr.Dataset({"v": ("i", [1.0, 2.0], dict(ATTRIBUTE_ZOO))}, attrs={**STAMP, **ATTRIBUTE_ZOO})
    assert_exact(round_trip(ds, tmp_path), ds)


def test_netcdf_sees_split_parts_and_plain_types(tmp_path):
    path = save(complex_dataset(), tmp_path / "c.nc")
    plain = raw(path)
    assert plain.attrs["dynsys_format"] == FORMAT_VERSION
    assert plain.attrs["dynsys_object"] == "Dataset"
    assert not any(v.dtype.kind == "c" for v in plain.variables.values())
    assert plain["eigenvalue_real"].dtype == np.float64
    assert plain["eigenvalue_single_imag"].dtype == np.float32
    np.testing.assert_array_equal(plain["eigenvalue_imag"].values[0], [15**0.5 / 4, -(15**0.5) / 4])
    assert "shift_real" in plain.coords


def test_already_split_parts_are_stored_as_they_are(tmp_path):
    path = save(fixed_point_dataset(), tmp_path / "points.nc")
    plain = raw(path)
    assert {"eigenvalue_real", "eigenvalue_imag"} <= set(plain.data_vars)
    assert "eigenvalue" not in load(path)  # not recombined: they were never one variable
    assert "_dynsys_variable" not in plain["eigenvalue_real"].attrs


# --------------------------------------------------------------------------- provenance
def test_save_stamps_provenance_when_missing(tmp_path):
    ds = xr.Dataset({"v": ("i", [1.0])})
    back = round_trip(ds, tmp_path)
    assert back.attrs == STAMP
    assert ds.attrs == {}  # the input is not changed
    assert_exact(back, ds.assign_attrs(STAMP))


def test_save_keeps_existing_provenance(tmp_path):
    ds = fixed_point_dataset().assign_attrs(dynsys_version="0.0.1", created="2020-01-01T00:00:00")
    back = round_trip(ds, tmp_path)
    assert back.attrs["dynsys_version"] == "0.0.1"
    assert back.attrs["created"] == "2020-01-01T00:00:00"
    assert back.attrs["system"] == "double_well"
    assert "dynsys_format" not in back.attrs  # a file-level marker, removed on load


# --------------------------------------------------------------------------- loading
def test_load_returns_data_in_memory_and_releases_the_file(tmp_path):
    ds = flow_dataset()
    path = save(ds, tmp_path / "flow.nc")
    back = load(path)
    save(trajectory_dataset(), path)  # overwrite while the loaded copy is alive
    os.remove(path)  # and delete: nothing holds it open
    assert not path.exists()
    assert_exact(back, ds)


def test_save_refuses_to_overwrite_when_asked(tmp_path):
    earlier = trajectory_dataset()
    path = save(earlier, tmp_path / "t.nc")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(flow_dataset(), path, overwrite=False)
    assert_exact(load(path), earlier)
    assert temporaries(tmp_path) == []


def test_missing_file_raises_file_not_found(tmp_path):
    missing = tmp_path / "nowhere.nc"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.nc"):
        load(missing)


def test_foreign_netcdf_file_is_rejected_with_the_fix(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"v": ("i", [1.0, 2.0])}, attrs={"created_by": "someone"}).to_netcdf(
        path, engine="h5netcdf"
    )
    with pytest.raises(FileFormatError) as info:
        load(path)
    message = str(info.value)
    assert "foreign.nc is not a netCDF file written by dynsys" in message
    assert "created_by='someone'" in message and "xarray.open_dataset" in message


def test_result_written_by_plain_xarray_is_rejected_with_the_fix(tmp_path):
    path = tmp_path / "plain.nc"
    trajectory_dataset().to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FileFormatError, match=r"to_netcdf\(\) rather than dynsys.io.save"):
        load(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"time,x\n0.0,1.0\n", "HDF5 signature"),
        (b"", "empty"),
        (b"CDF\x01" + bytes(60), "netCDF-3"),
    ],
)
def test_files_that_are_not_netcdf4_are_rejected(tmp_path, content, reason):
    path = tmp_path / "data.nc"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=f"data.nc is not a netCDF file .*{reason}"):
        load(path)


def test_netcdf3_file_is_rejected(tmp_path):
    path = tmp_path / "classic.nc"
    xr.Dataset({"v": ("i", [1.0])}).to_netcdf(path, engine="scipy")
    with pytest.raises(FileFormatError, match="netCDF-3"):
        load(path)


def test_truncated_file_is_reported_as_damaged(tmp_path):
    path = save(flow_dataset(), tmp_path / "cut.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="damaged or truncated"):
        load(path)


def test_newer_file_format_is_rejected(tmp_path):
    path = tmp_path / "future.nc"
    attrs = {**STAMP, "dynsys_format": FORMAT_VERSION + 1, "dynsys_object": "Dataset"}
    xr.Dataset({"v": ("i", [1.0])}, attrs=attrs).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FileFormatError, match=f"newer dynsys \\(file format {FORMAT_VERSION + 1}"):
        load(path)


# --------------------------------------------------------------------------- bad input
def test_save_rejects_what_it_cannot_store(tmp_path):
    path = tmp_path / "bad.nc"
    with pytest.raises(TypeError, match=r"`obj` must be an xarray\.Dataset"):
        save({"x": 1}, path)
    with pytest.raises(
        TypeError, match="variable `mixed` has dtype object and holds 1 of type int"
    ):
        save(xr.Dataset({"mixed": ("i", np.array(["a", 1], dtype=object))}), path)
    with pytest.raises(ValueError, match="`z_real` exists already"):
        save(xr.Dataset({"z": ("i", [1j]), "z_real": ("i", [0.0])}), path)
    with pytest.raises(TypeError, match="attribute `system` of the dataset has type object"):
        save(xr.Dataset(attrs={"system": object()}), path)
    with pytest.raises(ValueError, match="`_dynsys_attrs` of variable `v` is reserved"):
        save(xr.Dataset({"v": ("i", [1.0], {"_dynsys_attrs": "{}"})}), path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(xr.Dataset(), tmp_path / "no_such_dir" / "x.nc")
    assert not path.exists() and temporaries(tmp_path) == []


# --------------------------------------------------------------------------- atomic writes
def test_atomic_write_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "figure.png"
    with atomic_write_path(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".figure.png.")
        assert temp.name.endswith(".tmp") and str(os.getpid()) in temp.name
        temp.write_bytes(b"first")
    assert target.read_bytes() == b"first"
    with pytest.raises(RuntimeError, match="plot failed"), atomic_write_path(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("plot failed")
    assert target.read_bytes() == b"first" and temporaries(tmp_path) == []
    with pytest.raises(FileExistsError), atomic_write_path(target, overwrite=False) as temp:
        temp.write_bytes(b"second")
    assert target.read_bytes() == b"first" and temporaries(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="created no file"), atomic_write_path(target):
        pass
    assert target.read_bytes() == b"first"


def test_atomic_write_path_without_overwrite_creates_new_files(tmp_path):
    target = tmp_path / "graph.graphml"
    with atomic_write_path(target, overwrite=False) as temp:
        temp.write_text("<graphml/>")
    assert target.read_text() == "<graphml/>" and temporaries(tmp_path) == []


def _interrupt_on_third_variable(monkeypatch):
    original = h5netcdf.core.Group.create_variable
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("name"))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5netcdf.core.Group, "create_variable", interrupted)
    return calls


def test_keyboard_interrupt_during_write_leaves_no_file(tmp_path, monkeypatch):
    calls = _interrupt_on_third_variable(monkeypatch)
    target = tmp_path / "points.nc"
    with pytest.raises(KeyboardInterrupt):
        save(fixed_point_dataset(), target)
    assert len(calls) == 3  # the interrupt came in the middle of the write
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_during_overwrite_keeps_the_earlier_file(tmp_path, monkeypatch):
    earlier = trajectory_dataset()
    target = save(earlier, tmp_path / "run.nc")
    _interrupt_on_third_variable(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        save(fixed_point_dataset(), target)
    monkeypatch.undo()
    assert_exact(load(target), earlier)
    assert list(tmp_path.iterdir()) == [target]


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import xarray as xr
    from dynsys.io import save

    write = os.write

    def slowly(fd, data):  # stretch the write to disk so the parent can kill it midway
        time.sleep(0.1)
        return write(fd, data[: 1 << 20])

    os.write = slowly
    big = {f"v{i}": ("n", np.full(250_000, float(i))) for i in range(16)}  # 32 MB: ~3 s
    save(xr.Dataset(big, attrs={"created_by": "dynsys"}), sys.argv[1])
    """
)


@pytest.mark.parametrize("earlier_file", [False, True], ids=["new", "overwrite"])
def test_killed_writer_leaves_no_partial_file(tmp_path, earlier_file):
    target = tmp_path / "basin_chunk.nc"
    earlier = trajectory_dataset()
    if earlier_file:
        save(earlier, target)
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)])
    try:
        deadline = time.monotonic() + 60.0
        while not temporaries(tmp_path):
            assert writer.poll() is None, "the writer ended before it created its temporary file"
            assert time.monotonic() < deadline, "the writer never created its temporary file"
            time.sleep(0.01)
        time.sleep(0.5)  # well inside the ~3 s write
        assert writer.poll() is None, "the writer finished before it could be killed"
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode != 0
    stray = temporaries(tmp_path)
    assert len(stray) == 1 and stray[0].stat().st_size > 0  # killed mid-write indeed
    if earlier_file:
        assert_exact(load(target), earlier)
    else:
        assert not target.exists()
    assert sorted(tmp_path.glob("*.nc")) == ([target] if earlier_file else [])


def test_fixed_points_with_isotropy_round_trip_exactly(tmp_path):
    """find_fixed_points with a symmetry records each point's isotropy (order, name, -1 padded
    generators); the Dataset saves and loads unchanged."""
    from dynsys.fixedpoints import find_fixed_points
    from dynsys.symmetry import PermutationSymmetry, isotropy
    from dynsys.system import GradientSystem

    def V(x, p):  # two coupled double wells, symmetric under x <-> y
        a, b = x[..., 0], x[..., 1]
        return ((a * a - 1) ** 2 + (b * b - 1) ** 2) / 4 + 0.1 * a * b

    group = PermutationSymmetry(2, 1)  # the swap x <-> y
    seeds = np.random.default_rng(0).uniform(-2.0, 2.0, size=(60, 2))
    ds = find_fixed_points(GradientSystem(V, ["x", "y"]), seeds, symmetry=group)
    assert ds["isotropy_generators"].dims == ("point", "generator", "state")
    for i, x in enumerate(ds["x"].values):
        H = isotropy(group, x)
        m = int(ds["n_generator"][i])
        assert ds["isotropy_order"][i] == H.order and ds["isotropy_name"][i] == H.name
        np.testing.assert_array_equal(ds["isotropy_generators"][i, :m], H.generators)
        assert np.all(ds["isotropy_generators"][i, m:] == -1)
    # the points on the diagonal x = y are fixed by the swap, the others are not
    on_diagonal = np.abs(ds["x"][:, 0] - ds["x"][:, 1]).values < 1e-9
    assert on_diagonal.any() and not on_diagonal.all()
    np.testing.assert_array_equal(ds["isotropy_order"].values, np.where(on_diagonal, 2, 1))
    assert_exact(round_trip(ds, tmp_path), ds)
