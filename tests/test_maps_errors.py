"""Bad input to the algorithms for maps: clear errors naming the problem, per-item outcomes for
bad items of a batch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import (
    ContinuationOptions,
    FlowOptions,
    InputError,
    InputTypeError,
    IterateOptions,
    NewtonOptions,
    OptionError,
    Status,
    find_cycles,
    iterate,
)
from dynsys.continuation import bifurcation_diagram, continue_branch, switch_branch
from dynsys.maps import Map, gradient_descent_map
from dynsys.models import double_well, fold_normal_form


def logistic(r: float = 3.2) -> Map:
    return Map(lambda x, p: p["r"] * x * (1 - x), ["x"], {"r": r}, name="logistic")


def planar() -> Map:
    return gradient_descent_map(double_well(), step=0.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: iterate(s, [[0.5, 0.5]]),
        lambda s: find_cycles(s, [[0.5, 0.5]], period=2),
    ],
    ids=["iterate", "find_cycles"],
)
def test_a_system_where_a_map_is_needed_names_gradient_descent_map(call):
    with pytest.raises(
        InputTypeError, match=r"takes a Map; got GradientSystem.*gradient_descent_map"
    ):
        call(double_well())


def test_period_for_a_flow_is_refused():
    opts = ContinuationOptions(p_max=1.0)
    with pytest.raises(InputError, match="`period` applies to maps"):
        continue_branch(fold_normal_form(), [1.0], "mu", options=opts, period=2)
    with pytest.raises(InputError, match="`period` applies to maps"):
        bifurcation_diagram(fold_normal_form(), [1.0], "mu", options=opts, period=2)


@pytest.mark.parametrize("period", [0, -1, 1.5, True, "2", None])
def test_period_must_be_a_positive_integer(period):
    with pytest.raises(InputError, match="`period` must be a positive integer"):
        find_cycles(logistic(), [0.3], period=period)
    if period is not None:  # None means "the default" for continue_branch
        with pytest.raises(InputError, match="`period` must be a positive integer"):
            continue_branch(logistic(), [0.3], "r", period=period)


@pytest.mark.parametrize(
    ("seeds", "match"),
    [
        (np.zeros((3, 3)), r"expected \(\.\.\., 2\)"),
        (np.zeros(0), r"expected \(\.\.\., 2\)"),
        (np.zeros((0, 2)), "`seeds` is empty"),
        ([[0.1, "a"]], "rectangular array of numbers"),
    ],
)
def test_wrong_seed_shapes(seeds, match):
    with pytest.raises(InputError, match=match):
        find_cycles(planar(), seeds)


def test_wrong_start_shapes_and_options():
    with pytest.raises(InputError, match=r"`x0` has shape \(3,\)"):
        iterate(planar(), [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match=r"give one point of the cycle, shape \(2,\)"):
        continue_branch(planar(), np.zeros((3, 2)), "eta", period=2)
    with pytest.raises(InputTypeError, match="must be an IterateOptions"):
        iterate(planar(), [[0.1, 0.2]], options=FlowOptions())
    with pytest.raises(InputTypeError, match="must be a NewtonOptions"):
        find_cycles(planar(), [[0.1, 0.2]], options=IterateOptions())
    with pytest.raises(OptionError, match="`max_period` must be a positive integer"):
        IterateOptions(max_period=0)
    with pytest.raises(OptionError, match="`tol` must be at least"):
        IterateOptions(tol=1e-16)
    with pytest.raises(InputError, match="`dedup_tol` must be"):
        find_cycles(planar(), [[0.1, 0.2]], dedup_tol=-1.0)


def test_switching_needs_a_pd_or_bp_of_a_map_branch():
    opts = ContinuationOptions(p_min=2.5, p_max=3.2, ds_max=0.1)
    branch = continue_branch(logistic(2.8), [0.6], "r", options=opts)
    with pytest.raises(InputError, match="index into the 1 special points"):
        switch_branch(logistic(), branch, 5, options=opts)
    flow_branch = continue_branch(
        fold_normal_form(), [1.0], "mu", options=ContinuationOptions(p_max=1.0)
    )
    with pytest.raises(InputError, match="not a branch of a map"):
        switch_branch(logistic(), flow_branch, 0, options=opts)
    delayed = Map(
        lambda x, p: np.stack([x[..., 1], p["r"] * x[..., 1] * (1 - x[..., 0])], axis=-1),
        ["x", "y"],
        {"r": 1.8},
    )
    ns = continue_branch(
        delayed, [0.45, 0.45], "r", options=ContinuationOptions(p_min=1.5, p_max=2.2)
    )
    assert ns["special_type"].values.tolist() == ["NS"]
    with pytest.raises(InputError, match=r"type 'NS'.*needs a 'PD'"):
        switch_branch(delayed, ns, 0)


def test_a_start_far_from_any_cycle_is_a_continuation_error():
    from dynsys import ContinuationError

    wild = Map(lambda x, p: x + p["c"] + x**2, ["x"], {"c": 1.0})  # no fixed point for c > 1/4
    with pytest.raises(ContinuationError, match="not close enough to a solution"):
        continue_branch(wild, [0.0], "c", options=ContinuationOptions(p_max=2.0))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(0.01, 0.99),
            st.just(float("nan")),
            st.just(float("inf")),
            st.just(-float("inf")),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_bad_items_are_reported_per_item(values):
    seeds = np.array(values)[:, None]
    bad = ~np.isfinite(seeds[:, 0])
    cycles = find_cycles(logistic(), seeds, period=2, options=NewtonOptions(max_iter=60))
    assert (cycles["seed_status"].values[bad] == Status.NONFINITE).all()
    assert (cycles["seed_cycle"].values[bad] == -1).all()
    orbits = iterate(logistic(), seeds, options=IterateOptions(max_steps=2000))
    assert (orbits["status"].values[bad] == Status.NONFINITE).all()
    good = ~bad
    # finite starts in (0, 1) settle on the 2-cycle of r = 3.2 (or land on a fixed point)
    assert np.isin(orbits["status"].values[good], [Status.PERIODIC, Status.CONVERGED]).all()
    assert (cycles["seed_status"].values[good] != Status.NONFINITE).all()


def test_a_start_of_smaller_minimal_period_is_refused():
    # 1 - 1/r is a fixed point: asked to continue it as a 2-cycle, say so instead
    with pytest.raises(InputError, match="minimal period 1, not 2"):
        continue_branch(logistic(2.8), [1 - 1 / 2.8], "r", period=2)
