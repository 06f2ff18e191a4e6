"""Continuation of equilibria against AUTO-07p and natural-parameter continuation with scipy.

Two diagrams:

- Lorenz (sigma = 10, beta = 8/3), r in [0, 30]: the origin's branch, the branch through its
  pitchfork (BP at r = 1, the pair C+-), and the Hopf points of C+- at r = 470/19 (exact);
- Bratu (``u'' + lam exp(u) = 0`` by finite differences, n = 100 interior points), from u = 0
  at lam = 0 round the fold, until max|u| = 6. Its fold is checked against a reference solved
  independently: the fold system ``f = 0, J v = 0, |v| = 1`` by ``scipy.optimize.root``.

Against:

- AUTO-07p (Debian's ``auto-07p`` with gfortran), when installed: the same step bounds
  (DSMAX), Newton tolerances EPSL = EPSU = 1e-10 (dynsys's step_tol), special points located
  with EPSS = 1e-8, the spectrum computed at every point (ISP = 2, as dynsys does), branch
  points switched by AUTO itself (MXBF). dynsys starts the Lorenz diagram at r = 0.5 and goes
  both ways (as examples/lorenz_continuation.toml), AUTO at r = 0: the same branches. The
  executable is timed (one OpenMP thread, like dynsys's one BLAS thread here), best of 10, as a
  process (its start-up is part of its cost); the compilation separately. Without AUTO the
  numbers of a recorded run on the development machine are printed, and said to be so;
- always, natural-parameter continuation: ``scipy.optimize.root`` (hybr, analytic Jacobian)
  on a parameter grid from the previous solution. It finds no special points, computes no
  stability and cannot pass a fold; it is checked to give the same states as dynsys.

Cold runs: the ``dynsys continue`` command on ``examples/lorenz_continuation.toml`` in a fresh
process (imports, the diagram, ``diagram.nc`` and ``diagram.png``), against AUTO's whole run
(compilation of the model, then the run).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits

from benchmarks import _auto as auto
from dynsys.continuation import ContinuationOptions, bifurcation_diagram, continue_branch
from dynsys.models import bratu, lorenz

LORENZ_OPTIONS = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
BRATU_OPTIONS = ContinuationOptions(ds_max=1.0, x_max=6.0)
REPEAT = 10  # best of ten, for dynsys (in process) and for AUTO-07p (a process each)
HOPF_R = 470.0 / 19.0  # r = sigma (sigma + beta + 3) / (sigma - beta - 1)
REPO = Path(__file__).resolve().parent.parent
LORENZ_SPEC = REPO / "examples" / "lorenz_continuation.toml"

# AUTO-07p's numbers from a run of this bench on the development machine (2 cores, load
# average 1.9), printed (and said to be recorded) where AUTO cannot be built.
RECORDED = {
    "lorenz": {"seconds": 0.0040, "points": 392, "hopf": 24.736842108, "bp": 1.0},
    "bratu": {"seconds": 0.320, "points": 116, "fold": 3.5136515063},
    "cold": 0.14,  # compilation of the Lorenz model and its run
}

LORENZ_F90 = auto.lorenz_source(0.0, "origin")

BRATU_F90 = auto.model_source(
    """\
  DOUBLE PRECISION :: H2, LEFT, RIGHT
  INTEGER :: I
  H2 = 1.0D0/DBLE(NDIM + 1)**2
  DO I = 1, NDIM
    LEFT = 0.0D0
    RIGHT = 0.0D0
    IF (I .GT. 1) LEFT = U(I - 1)
    IF (I .LT. NDIM) RIGHT = U(I + 1)
    F(I) = (LEFT - 2.0D0*U(I) + RIGHT)/H2 + PAR(1)*EXP(U(I))
  END DO
  IF (IJAC .EQ. 0) RETURN
  DFDU = 0.0D0
  DO I = 1, NDIM
    DFDU(I,I) = -2.0D0/H2 + PAR(1)*EXP(U(I))
    IF (I .GT. 1) DFDU(I,I - 1) = 1.0D0/H2
    IF (I .LT. NDIM) DFDU(I,I + 1) = 1.0D0/H2
  END DO
  IF (IJAC .EQ. 1) RETURN
  DO I = 1, NDIM
    DFDP(I,1) = EXP(U(I))
  END DO
""",
    """\
  PAR(1) = 0.0D0
  U = 0.0D0
""",
)


@dataclass
class Outcome:
    """One method's diagram: wall time (s), points, special points as (type, parameter)."""

    seconds: float
    points: int
    specials: list[tuple[str, float]] = field(default_factory=list)
    recorded: bool = False

    def first(self, kind: str) -> float:
        return next((p for t, p in self.specials if t == kind), float("nan"))

    def all(self, kind: str) -> list[float]:
        return [p for t, p in self.specials if t == kind]


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` calls of ``fn`` (one BLAS thread) and the last result."""
    best, result = float("inf"), None
    with threadpool_limits(limits=1):
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
    return best, result


# ---------------------------------------------------------------------------- dynsys
def dynsys_lorenz(repeat: int = REPEAT) -> tuple[Outcome, object]:
    """The Lorenz diagram by dynsys (from the origin at r = 0.5, both ways, switching at BP)."""
    system = lorenz(r=0.5)
    seconds, tree = _best(
        lambda: bifurcation_diagram(system, [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS), repeat
    )
    branches = [tree[name].dataset for name in sorted(tree.children)]
    specials = [
        (str(t), float(p))
        for b in branches
        for t, p in zip(b["special_type"].values, b["special_param"].values, strict=True)
    ]
    points = sum(b.sizes["step"] for b in branches)
    return Outcome(seconds, points, specials), branches


def dynsys_bratu(n: int, repeat: int = REPEAT) -> tuple[Outcome, object]:
    """The Bratu branch by dynsys from u = 0, lam = 0 round the fold to max|u| = 6."""
    system = bratu(n, lam=0.0)
    seconds, branch = _best(
        lambda: continue_branch(system, np.zeros(n), "lam", options=BRATU_OPTIONS, direction=1),
        repeat,
    )
    specials = [
        (str(t), float(p))
        for t, p in zip(branch["special_type"].values, branch["special_param"].values, strict=True)
    ]
    return Outcome(seconds, branch.sizes["step"], specials), branch


def bratu_fold_reference(n: int, branch) -> float:
    """The fold of the discrete Bratu problem solved directly: ``f(u, lam) = 0``, ``J v = 0``,
    ``v . v0 = 1`` by ``scipy.optimize.root`` (hybr, tight tolerance), from the branch point
    where ``lam`` is largest (no continuation code involved)."""
    system = bratu(n, lam=0.0)
    k = int(np.argmax(branch["param"].values))
    u0, lam0 = branch["x"].values[k], float(branch["param"].values[k])
    v0 = np.sin(np.pi * np.arange(1, n + 1) / (n + 1))  # the lowest mode of the Laplacian

    def equations(z):
        u, v, lam = z[:n], z[n : 2 * n], z[-1]
        p = {"lam": lam}
        return np.concatenate([system.f(u, p), system.jac_dense(u, p) @ v, [v @ v0 - 1.0]])

    start = np.concatenate([u0, v0 / (v0 @ v0), [lam0]])
    sol = scipy.optimize.root(equations, start, method="hybr", options={"xtol": 1e-15})
    residual = float(np.max(np.abs(equations(sol.x))))
    assert residual < 1e-8, f"the fold reference did not converge (residual {residual:.1e})"
    return float(sol.x[-1])


# ---------------------------------------------------------------------------- AUTO-07p
def auto_lorenz(folder: Path) -> Outcome:
    """The Lorenz diagram by AUTO: from the origin at r = 0, branch points switched by AUTO."""
    executable, _ = auto.compile_model(LORENZ_F90, folder)
    constants = auto.constants(
        3, 1, "[1]", nmx=1000, ds=0.01, ds_max=0.5, npar=3, stop="{1: [0.0, 30.0]}"
    )
    seconds = min(auto.run(executable, constants) for _ in range(REPEAT))
    rows = auto.read_branches(folder)
    specials = [(r.type, float(r.values[0])) for r in rows if r.type in ("BP", "LP", "HB")]
    return Outcome(seconds, len(rows), specials)


def auto_bratu(n: int, folder: Path, norm_stop: float) -> Outcome:
    """The Bratu branch by AUTO from u = 0, lam = 0, until the L2-norm of u reaches
    ``norm_stop`` (where dynsys's branch ends)."""
    executable, _ = auto.compile_model(BRATU_F90, folder)
    constants = auto.constants(
        n,
        1,
        "[1]",
        nmx=1000,
        ds=0.01,
        ds_max=BRATU_OPTIONS.ds_max,
        npar=1,
        stop="{1: [0.0, 10.0]}",
        extra=f"A1 = {norm_stop!r}",
    )
    seconds = min(auto.run(executable, constants) for _ in range(REPEAT))
    rows = auto.read_branches(folder)
    specials = [(r.type, float(r.values[0])) for r in rows if r.type in ("BP", "LP", "HB")]
    return Outcome(seconds, len(rows), specials)


# ---------------------------------------------------------------------------- natural continuation
def natural_continuation(system, x0, param, values) -> tuple[np.ndarray, int]:
    """Solve at each parameter value from the previous solution; stop at the first failure.

    Returns the solutions found and how many values succeeded.
    """
    x = np.asarray(x0, dtype=float)
    found = []
    for value in values:
        p = {**system.params, param: float(value)}
        sol = scipy.optimize.root(
            lambda z, p=p: system.f(z, p),
            x,
            jac=lambda z, p=p: system.jac_dense(z, p),
            method="hybr",
        )
        if not sol.success:
            break
        x = sol.x
        found.append(x)
    return np.asarray(found), len(found)


def natural_lorenz(branches) -> tuple[float, float]:
    """Natural continuation on the non-trivial branch at dynsys's parameter values there (C+,
    from r = 30 down to r = 2); returns its time and the largest distance of its states to
    dynsys's at the same values."""
    system = lorenz(r=0.5)
    pair = branches[1]
    r = pair["param"].values
    x = pair["x"].values
    upper = np.flatnonzero((x[:, 0] > 0) & (r >= 2.0))
    upper = upper[np.argsort(-r[upper])]
    start = [np.sqrt(8.0 / 3.0 * 29.0), np.sqrt(8.0 / 3.0 * 29.0), 29.0]
    seconds, (states, ok) = _best(lambda: natural_continuation(system, start, "r", r[upper]))
    assert ok == upper.size, "natural continuation failed on the non-trivial branch"
    return seconds, float(np.max(np.abs(states - x[upper])))


# ---------------------------------------------------------------------------- cold runs
def cold_cli(out: Path) -> float:
    """Wall time of ``dynsys continue`` on the Lorenz spec in a fresh process."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dynsys",
            "continue",
            str(LORENZ_SPEC),
            "--out",
            str(out),
            "--no-report",
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    return time.perf_counter() - start


COLD_SCRIPT = """
from dynsys.continuation import ContinuationOptions, bifurcation_diagram
from dynsys.models import lorenz
options = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
bifurcation_diagram(lorenz(r=0.5), [0.0, 0.0, 0.0], "r", options=options)
"""


def cold_script() -> float:
    """Wall time of a fresh Python process that imports dynsys and computes the diagram (no
    files written)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", COLD_SCRIPT], check=True, cwd=REPO)
    return time.perf_counter() - start


def cold_auto(folder: Path) -> float:
    """Wall time of AUTO's whole Lorenz run: compile the model, then run it."""
    executable, compile_seconds = auto.compile_model(LORENZ_F90, folder)
    constants = auto.constants(
        3, 1, "[1]", nmx=1000, ds=0.01, ds_max=0.5, npar=3, stop="{1: [0.0, 30.0]}"
    )
    return compile_seconds + auto.run(executable, constants)


def cold_import() -> float:
    """Wall time of ``python -c "import dynsys"`` in a fresh process, minus a bare Python's."""
    times = []
    for code in ("import dynsys", "pass"):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return times[0] - times[1]


# ---------------------------------------------------------------------------- report
def _specials_text(outcome: Outcome) -> str:
    return ", ".join(f"{t} {p:.12g}" for t, p in outcome.specials)


def bench_lorenz(folder: Path | None) -> None:
    ours, branches = dynsys_lorenz()
    hopf = ours.all("H")
    print(
        f"   Lorenz diagram, dynsys: {ours.seconds * 1e3:.1f} ms, {ours.points} points "
        f"({ours.seconds / ours.points * 1e6:.0f} us/point); {_specials_text(ours)}; "
        f"|H - 470/19| <= {max(abs(h - HOPF_R) for h in hopf):.1e}, "
        f"|BP - 1| = {abs(ours.first('BP') - 1.0):.1e}"
    )
    if folder is not None:
        theirs = auto_lorenz(folder)
    else:
        rec = RECORDED["lorenz"]
        theirs = Outcome(
            rec["seconds"], rec["points"], [("BP", rec["bp"]), ("HB", rec["hopf"])], True
        )
    auto_hopf = theirs.all("HB")
    note = " (recorded run: AUTO-07p is not installed here)" if theirs.recorded else ""
    print(
        f"   Lorenz diagram, AUTO-07p{note}: {theirs.seconds * 1e3:.1f} ms, {theirs.points} "
        f"points ({theirs.seconds / theirs.points * 1e6:.0f} us/point); {_specials_text(theirs)}"
        f"; |HB - 470/19| <= {max(abs(h - HOPF_R) for h in auto_hopf):.1e}, |BP - 1| = "
        f"{abs(theirs.first('BP') - 1.0):.1e}"
    )
    print(
        f"   Lorenz diagram, ratio AUTO/dynsys: {theirs.seconds / ours.seconds:.2f}x per "
        f"diagram, {theirs.seconds / theirs.points / (ours.seconds / ours.points):.2f}x per point"
    )
    seconds, gap = natural_lorenz(branches)
    n_natural = int(np.count_nonzero(branches[1]["x"].values[:, 0] > 0))
    print(
        f"   Lorenz, natural continuation + root on C+ at dynsys's values of r in [2, 30]: "
        f"{seconds * 1e3:.1f} ms for about {n_natural} points, states equal to dynsys's "
        f"within {gap:.1e}; no special points, no stability, and below r = 1 no solution"
    )


def bench_bratu(folder: Path | None, n: int = 100) -> None:
    ours, branch = dynsys_bratu(n)
    fold = ours.first("LP")
    reference = bratu_fold_reference(n, branch)
    print(
        f"   Bratu n={n}, dynsys: {ours.seconds * 1e3:.1f} ms, {ours.points} points; fold "
        f"lam = {fold:.13f}, reference {reference:.13f} (|error| {abs(fold - reference):.1e})"
    )
    if folder is not None:
        u_end = branch["x"].values[-1]
        theirs = auto_bratu(n, folder, float(np.linalg.norm(u_end)))
    else:
        rec = RECORDED["bratu"]
        theirs = Outcome(rec["seconds"], rec["points"], [("LP", rec["fold"])], True)
    auto_fold = theirs.first("LP")
    note = " (recorded run: AUTO-07p is not installed here)" if theirs.recorded else ""
    print(
        f"   Bratu n={n}, AUTO-07p{note}: {theirs.seconds * 1e3:.1f} ms, {theirs.points} points "
        f"(to the same L2-norm of u); fold lam = {auto_fold:.11g} (|error| "
        f"{abs(auto_fold - reference):.1e}, 11 digits printed)"
    )
    print(
        f"   Bratu n={n}, ratio AUTO/dynsys: {theirs.seconds / ours.seconds:.2f}x per branch, "
        f"{theirs.seconds / theirs.points / (ours.seconds / ours.points):.2f}x per point (AUTO "
        "measures its steps in a norm that divides the state part by NDIM: shorter steps in u)"
    )
    values = np.linspace(0.0, 2 * fold, 2 * ours.points)
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        _, ok = natural_continuation(bratu(n, lam=0.0), np.zeros(n), "lam", values)
        seconds = time.perf_counter() - start
    print(
        f"   Bratu n={n}, natural continuation + root: {seconds * 1e3:.1f} ms, {ok} of "
        f"{values.size} values solved (last lam = {values[ok - 1]:.4f}); it stops at the fold"
    )


def bench_cold(folder: Path | None, tmp: Path) -> None:
    ours = min(cold_cli(tmp / f"cli{k}") for k in range(2))
    script = min(cold_script() for _ in range(2))
    imports = cold_import()
    if folder is not None:
        theirs = min(cold_auto(folder) for _ in range(2))
        label = "AUTO-07p compile + run"
    else:
        theirs = RECORDED["cold"]
        label = "AUTO-07p compile + run (recorded run: not installed here)"
    print(
        f"   Lorenz cold, {label}: {theirs:.2f} s; dynsys continue (spec -> diagram.nc, "
        f"diagram.png) {ours:.2f} s, ratio {theirs / ours:.2f}x; a script (import, diagram, "
        f"no files) {script:.2f} s, ratio {theirs / script:.2f}x; `import dynsys` alone "
        f"{imports:.2f} s"
    )


def main() -> None:
    """Print time, points and special-point errors of dynsys, AUTO-07p and natural
    continuation, and the ratios."""
    print("   ratios > 1: dynsys is faster")
    have_auto = auto.auto_available()
    if not have_auto:
        print("   AUTO-07p is not installed (apt-get install auto-07p gfortran)")
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for name in ("lorenz", "bratu", "cold"):
            folders[name] = Path(tmp) / name if have_auto else None
            if have_auto:
                folders[name].mkdir()
        bench_lorenz(folders["lorenz"])
        bench_bratu(folders["bratu"])
        bench_cold(folders["cold"], Path(tmp))


if __name__ == "__main__":
    main()
