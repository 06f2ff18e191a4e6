"""The continuation bench compares like with like: dynsys, AUTO-07p and natural-parameter
continuation find the same branches and special points, each checked against closed forms
(Lorenz: the pitchfork at r = 1, the Hopf points at r = 470/19) or an independent reference
(the Bratu fold solved directly as ``f = 0, J v = 0``)."""

import numpy as np
import pytest

from benchmarks import _auto as auto
from benchmarks.bench_continuation import (
    HOPF_R,
    auto_bratu,
    auto_lorenz,
    bratu_fold_reference,
    dynsys_bratu,
    dynsys_lorenz,
    natural_continuation,
    natural_lorenz,
)
from dynsys.models import bratu

NO_AUTO = "AUTO-07p or gfortran is not installed (apt-get install auto-07p gfortran)"
SMALL_N = 20  # Bratu grid of the test (the bench uses n = 100)
BRATU_CONTINUUM_FOLD = 3.513830719  # lam* of u'' + lam e^u = 0; the grid is O(h^2) off


@pytest.fixture(scope="module")
def lorenz_run():
    return dynsys_lorenz(repeat=1)


@pytest.fixture(scope="module")
def bratu_run():
    ours, branch = dynsys_bratu(SMALL_N, repeat=1)
    return ours, branch, bratu_fold_reference(SMALL_N, branch)


def test_dynsys_lorenz_special_points_are_the_closed_forms(lorenz_run):
    ours, _ = lorenz_run
    assert sorted(t for t, _ in ours.specials) == ["BP", "BP", "H", "H"]
    assert all(abs(h - HOPF_R) <= 1e-11 for h in ours.all("H"))
    assert all(abs(b - 1.0) <= 1e-11 for b in ours.all("BP"))


def test_natural_baseline_gives_dynsys_states_on_the_lorenz_pair(lorenz_run):
    _, branches = lorenz_run
    _, gap = natural_lorenz(branches)
    assert gap <= 1e-8  # both solve f = 0 at the same r to their tolerances (1e-10 scale)


def test_bratu_fold_agrees_with_the_direct_reference(bratu_run):
    ours, _, reference = bratu_run
    assert abs(reference - BRATU_CONTINUUM_FOLD) <= 1e-2  # the reference is the Bratu fold
    assert abs(ours.first("LP") - reference) <= 1e-10


def test_natural_baseline_gives_dynsys_states_below_the_bratu_fold(bratu_run):
    _, branch, _ = bratu_run
    lam = branch["param"].values
    lower = np.flatnonzero(np.arange(lam.size) <= np.argmax(lam))[1:-1]  # before the fold
    states, ok = natural_continuation(bratu(SMALL_N, lam=0.0), np.zeros(SMALL_N), "lam", lam[lower])
    assert ok == lower.size
    assert np.max(np.abs(states - branch["x"].values[lower])) <= 1e-8


@pytest.mark.skipif(not auto.auto_available(), reason=NO_AUTO)
def test_auto_lorenz_finds_the_same_special_points(lorenz_run, tmp_path):
    ours, _ = lorenz_run
    theirs = auto_lorenz(tmp_path)
    # AUTO prints 11 significant digits and locates to EPSS = 1e-8
    assert len(theirs.all("HB")) == 2
    assert all(abs(h - HOPF_R) <= 1e-7 for h in theirs.all("HB"))
    assert abs(theirs.first("BP") - 1.0) <= 1e-7
    assert abs(theirs.first("HB") - ours.first("H")) <= 1e-7


@pytest.mark.skipif(not auto.auto_available(), reason=NO_AUTO)
def test_auto_bratu_finds_the_same_fold(bratu_run, tmp_path):
    ours, branch, reference = bratu_run
    theirs = auto_bratu(SMALL_N, tmp_path, float(np.linalg.norm(branch["x"].values[-1])))
    assert len(theirs.all("LP")) == 1
    assert abs(theirs.first("LP") - reference) <= 1e-7
    assert abs(theirs.first("LP") - ours.first("LP")) <= 1e-7
