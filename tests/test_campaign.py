"""The bad-input campaign, generated: every case ends in a result or a DynsysError with a
one-line message, never another exception, a hang (each case runs under a time bound) or a
partial file.

Four generators: spec files (a valid spec with keys changed, added, removed or retyped, run
through ``dynsys analyze``), user models whose field raises, returns NaN, inf or the wrong shape
(through construction, fixed points, flows and basin maps), damaged result files (bytes
overwritten, files truncated), and malformed arrays and options given to the Python API. The
cases are derandomised (the same cases on every run); the findings of the trust issue are
explicit examples. Each case's outcome is logged; ``conftest.py`` prints the counts.
"""

from __future__ import annotations

import json
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dynsys import (
    BasinOptions,
    DynsysError,
    FlowOptions,
    GradientSystem,
    NewtonOptions,
    System,
    basin_map,
    find_fixed_points,
    flow,
)
from dynsys.cli import main
from dynsys.cli.schema import schema_for
from dynsys.cli.spec import reference
from dynsys.io import load, save

CASE_SECONDS = 30.0


def campaign(examples: int) -> settings:
    """Derandomised settings (the same cases on every run), no deadline (``bounded`` is the time
    bound), no example database."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# ----------------------------------------------------------------------------- bookkeeping
class Hang(Exception):
    """A case ran past its time bound."""


@contextmanager
def bounded(seconds: float = CASE_SECONDS):
    """Run the block under a wall-clock bound (SIGALRM; the tests run in the main thread)."""

    def alarm(signum, frame):
        raise Hang(f"the case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def record(factory, generator: str, outcome: str) -> None:
    """Log one case; ``conftest.py`` sums the logs of every worker at the end of the session."""
    target = factory.getbasetemp() / "campaign.jsonl"
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"generator": generator, "outcome": outcome}) + "\n")


def run_case(factory, generator: str, tmp: Path, action) -> str:
    """Run ``action()``: a result (its outcome name, or "result") or a DynsysError with a
    one-line message; anything else (a traceback, a hang) fails the test. Logs the outcome."""
    try:
        with bounded():
            outcome = action() or "result"
    except DynsysError as exc:
        text = str(exc)
        assert text and "\n" not in text.strip(), f"not a one-line message: {text!r}"
        outcome = f"error:{type(exc).__name__}"
    assert_no_partial_files(tmp)
    record(factory, generator, outcome)
    return outcome


def assert_no_partial_files(root: Path) -> None:
    leftovers = [
        p
        for p in root.rglob("*")
        if p.name.endswith(".tmp") or ".staging-" in p.name or p.name.endswith(".lock")
    ]
    assert not leftovers, f"partial files left: {leftovers}"
    for manifest in root.rglob("dynsys-run.json"):
        data = json.loads(manifest.read_text())
        assert data["complete"] or ".incomplete-" in manifest.parent.name
        present = {p.name for p in manifest.parent.iterdir()} - {"dynsys-run.json"}
        assert present == set(data["files"]), "a run folder that does not match its manifest"


# ----------------------------------------------------------------------------- 1. specs
BASE_SPEC = {
    "model": {"name": "double_well"},
    "region": {"lower": [-2.0, -1.5], "upper": [2.0, 1.5]},
    "fixed_points": {"seeds": 20},
    "portrait": {"orbits": 2, "t_max": 1.0},
}
KEYS = [row.key for row in reference(schema_for("analyze")) if row.type != "free"]

scalars = st.one_of(
    st.integers(min_value=-3, max_value=10**5),
    st.sampled_from([0, -1, 2**31, 2**63 - 1]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, -1e300, float("inf"), float("-inf"), float("nan")]),
    st.booleans(),
    st.sampled_from(["", "x", "a/b", "double_well", "lorenz", "map", "probabilities", "ball"]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["x", "y", "kind"]), inner)
    ),
    max_leaves=6,
)
mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(KEYS), values),
    st.tuples(
        st.just("set"),
        st.sampled_from(["region.lower", "region.upper", "portrait.plane"]),
        st.lists(scalars, max_size=4),
    ),
    st.tuples(st.just("unknown"), st.sampled_from(["region", "basins", "graph", "zzz"]), values),
    st.tuples(st.just("drop"), st.sampled_from(["model", "region", "region.lower"]), st.none()),
    st.tuples(
        st.just("basins"),
        st.sampled_from(["map", "probabilities", "sweep", "nope"]),
        st.fixed_dictionaries(
            {},
            optional={
                "grid": st.fixed_dictionaries(
                    {
                        "axes": st.dictionaries(
                            st.sampled_from(["x", "y", "a/b", ""]),
                            st.one_of(
                                st.fixed_dictionaries(
                                    {"linspace": st.lists(scalars, min_size=0, max_size=4)}
                                ),
                                st.fixed_dictionaries({"values": st.lists(scalars, max_size=4)}),
                                values,
                            ),
                            max_size=3,
                        )
                    }
                ),
                "sampler": st.dictionaries(
                    st.sampled_from(["kind", "low", "high", "centre", "radius", "mean", "std"]),
                    values,
                    max_size=4,
                ),
                "n": st.one_of(st.integers(-2, 300), st.sampled_from([2**40])),
                "executor": st.sampled_from(["inprocess", "processes", "tcp://127.0.0.1:1", "x"]),
            },
        ),
    ),
)


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        if np.isnan(value):
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
    return repr(value)


def spec_text(spec: dict) -> str:
    lines = []
    for section, table in spec.items():
        if not isinstance(table, dict):
            lines.insert(0, f"{json.dumps(section)} = {_toml(table)}")
            continue
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def mutate(spec: dict, change) -> None:
    kind, where, value = change
    if kind == "set":
        *path, last = where.split(".")
        table = spec
        for part in path:
            table = table.setdefault(part, {}) if isinstance(table, dict) else {}
        if isinstance(table, dict):
            table[last] = value
    elif kind == "unknown":
        spec.setdefault(where, {})
        if isinstance(spec[where], dict):
            spec[where]["not_a_key"] = value
    elif kind == "drop":
        section, _, key = where.partition(".")
        if key and isinstance(spec.get(section), dict):
            spec[section].pop(key, None)
        elif not key:
            spec.pop(section, None)
    else:  # a basins table
        spec["basins"] = {"mode": where, **value}


@campaign(130)
@given(changes=st.lists(mutation, min_size=1, max_size=3))
@example(changes=[("set", "model.factory", "subprocess:getoutput"), ("drop", "model", None)])
@example(changes=[("set", "region.lower", [float("-inf"), -1.5])])
@example(changes=[("set", "region.upper", [1e300, 1.5])])
@example(changes=[("set", "portrait.plane", ["x", "x"])])
@example(changes=[("set", "portrait.orbits", 100_000)])
@example(changes=[("set", "fixed_points.seeds", 2_000_000_000)])
@example(
    changes=[
        (
            "basins",
            "map",
            {
                "grid": {
                    "axes": {
                        "x": {"linspace": [-2, 2, 100_000]},
                        "y": {"linspace": [-1, 1, 100_000]},
                    }
                }
            },
        )
    ]
)
@example(
    changes=[
        (
            "basins",
            "map",
            {"grid": {"axes": {"x": {"linspace": [-2, 2, 0]}, "y": {"values": [0.0]}}}},
        )
    ]
)
@example(changes=[("basins", "map", {"grid": {"axes": {"x": [-2, 2, 2.5], "y": [0.0]}}})])
@example(changes=[("basins", "map", {"executor": "tcp://127.0.0.1:1"})])
@example(changes=[("basins", "probabilities", {"sampler": {"kind": "cube"}})])
@example(changes=[("set", "model.name", "stiff_manifold")])
def test_generated_specs(tmp_path_factory, changes):
    tmp = tmp_path_factory.mktemp("spec")
    spec = json.loads(json.dumps(BASE_SPEC))
    for change in changes:
        mutate(spec, change)
    text = spec_text(spec)  # may not even be TOML: the command must say so itself
    path = tmp / "spec.toml"
    path.write_text(text)

    def action():
        code = main(["analyze", str(path), "--out", str(tmp / "out")])
        assert code in (0, 2), f"exit code {code}"
        return f"exit:{code}"  # main reports a DynsysError itself, in one line, with code 2

    run_case(tmp_path_factory, "spec", tmp, action)


@pytest.fixture(autouse=True)
def _quiet(capsys):
    yield
    out = capsys.readouterr()
    for line in out.err.splitlines():
        if line.startswith("dynsys "):
            assert line.startswith("dynsys analyze: error:") or "interrupted" in line
        assert "Traceback" not in line


# ----------------------------------------------------------------------------- 2. user models
behaviour = st.sampled_from(
    ["fine", "nan_left", "inf_far", "raise_left", "wrong_shape", "scalar", "huge", "nan_everywhere"]
)


def user_field(kind: str):
    def f(x, p):
        out = np.stack([x[..., 0] - x[..., 0] ** 3, -x[..., 1]], axis=-1)
        if kind == "nan_left":
            out = np.where(x[..., :1] < -0.5, np.nan, out)
        elif kind == "inf_far":
            out = np.where(np.abs(x[..., :1]) > 1.8, np.inf, out)
        elif kind == "raise_left" and np.any(x[..., 0] < -1.0):
            raise ZeroDivisionError("left of -1")
        elif kind == "wrong_shape":
            out = out[..., :1]
        elif kind == "scalar":
            out = float(np.sum(out))
        elif kind == "huge":
            out = out * 1e300
        elif kind == "nan_everywhere":
            out = np.full_like(out, np.nan)
        return out

    return f


@campaign(90)
@given(
    kind=behaviour,
    algorithm=st.sampled_from(["fixed_points", "flow", "basin_map", "gradient"]),
    seed=st.integers(0, 2**16),
)
@example(kind="nan_left", algorithm="basin_map", seed=0)
@example(kind="raise_left", algorithm="fixed_points", seed=0)
def test_generated_user_models(tmp_path_factory, kind, algorithm, seed):
    tmp = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(seed)

    def action():
        if algorithm == "gradient":
            V = (
                (lambda x, p: np.full(x.shape[:-1], np.nan))
                if kind == "nan_everywhere"
                else (lambda x, p: 0.25 * (x[..., 0] ** 2 - 1) ** 2 + 0.5 * x[..., 1] ** 2)
            )
            system = GradientSystem(V, ["x", "y"], probe=[0.4, 0.3])
        else:
            system = System(user_field(kind), ["x", "y"], probe=[0.4, 0.3])
        starts = rng.uniform(-2, 2, (30, 2))
        if algorithm in ("fixed_points", "gradient"):
            find_fixed_points(system, starts, options=NewtonOptions(max_iter=20))
        elif algorithm == "flow":
            flow(system, starts, options=FlowOptions(t_max=5.0, max_steps=2000))
        else:
            ds = basin_map(
                system,
                {"x": (-2.0, 2.0, 5), "y": (-1.0, 1.0, 3)},
                options=BasinOptions(flow=FlowOptions(t_max=20.0, max_steps=5000)),
            )
            save(ds, tmp / "basins.nc")

    run_case(tmp_path_factory, "model", tmp, action)


# ----------------------------------------------------------------------------- 3. files
@pytest.fixture(scope="module")
def saved_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("file") / "good.nc"
    ds = xr.Dataset(
        {"x": (("t", "s"), np.arange(600.0).reshape(200, 3))},
        coords={"s": ["a", "b", "c"]},
        attrs={"note": "campaign"},
    )
    save(ds, path)
    return path, ds


@campaign(70)
@given(
    edits=st.lists(st.tuples(st.floats(0.0, 1.0), st.binary(min_size=1, max_size=64)), max_size=3),
    truncate=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
@example(edits=[(0.5, b"\x00" * 64)], truncate=None)
@example(edits=[], truncate=0.5)
def test_generated_damaged_files(tmp_path_factory, saved_file, edits, truncate):
    tmp = tmp_path_factory.mktemp("damaged")
    good, original = saved_file
    data = bytearray(good.read_bytes())
    for where, chunk in edits:
        at = int(where * (len(data) - 1))
        data[at : at + len(chunk)] = chunk[: len(data) - at]
    if truncate is not None:
        data = data[: int(truncate * len(data))]
    path = tmp / "damaged.nc"
    path.write_bytes(bytes(data))
    loaded = []

    def action():
        loaded.append(load(path))

    if run_case(tmp_path_factory, "file", tmp, action) == "result":
        # a damage that loads must have hit bytes that do not matter: the same numbers
        np.testing.assert_array_equal(loaded[0]["x"].values, original["x"].values)


# ----------------------------------------------------------------------------- 4. arrays, options
arrays = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8),
    st.lists(st.lists(st.floats(-10, 10), min_size=0, max_size=4), max_size=5),
    st.sampled_from([[], [[]], [[1.0, 2.0, 3.0]], [[np.nan, 0.0]], [[1e308, -1e308]]]),
)
options = st.dictionaries(
    st.sampled_from(["t_max", "rtol", "atol", "converge_tol", "max_steps", "method", "min_step"]),
    st.one_of(scalars, st.sampled_from(["dopri5", "rk4", "gradient_descent"])),
    max_size=3,
)


@campaign(60)
@given(x=arrays, flow_kwargs=options, target=st.sampled_from(["seeds", "x0", "axis"]))
@example(x=[[np.nan, 0.0]], flow_kwargs={}, target="x0")
@example(x=[0.0, 1.0, 0.0], flow_kwargs={"rtol": -1.0}, target="axis")
def test_generated_arrays_and_options(tmp_path_factory, x, flow_kwargs, target):
    tmp = tmp_path_factory.mktemp("arrays")
    from dynsys.models import double_well

    def action():
        system = double_well()
        if target == "seeds":
            find_fixed_points(system, x)
        elif target == "x0":
            flow(system, x, options=FlowOptions(**{"t_max": 2.0, **flow_kwargs}))
        else:
            basin_map(
                system,
                {"x": x, "y": (-1.0, 1.0, 2)},
                options=BasinOptions(flow=FlowOptions(**{"t_max": 5.0, **flow_kwargs})),
            )

    run_case(tmp_path_factory, "arrays", tmp, action)
