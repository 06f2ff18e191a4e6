"""Continuation of periodic orbits against AUTO-07p and a scipy multiple-shooting baseline.

Two branches of cycles, each started at a Hopf point of the equilibria:

- Lorenz (sigma = 10, beta = 8/3): the unstable cycles born at r = 470/19, followed down in r
  until the period reaches 10 (the homoclinic explosion at r = 13.9266);
- the Brusselator (a = 1): the stable cycles born at b = 2, followed up to b = 4.

dynsys (``continue_cycle``: collocation, ntst = 40, ncol = 4, mesh adapted every 3 steps) runs
against:

- AUTO-07p (Debian's ``auto-07p`` with gfortran; the same NTST, NCOL, IAD = 3 and Newton
  tolerances EPSL = EPSU = 1e-10), when it is installed; the compiled executable is timed (not
  the compilation; one thread, OMP_NUM_THREADS=1, like dynsys), each run from its own Hopf
  point;
- always, a multiple-shooting baseline written with scipy: natural continuation through the
  parameter values of dynsys's points (a fixed grid; a step that fails is halved), each cycle by
  ``scipy.optimize.root`` (hybr, exact Jacobian) on the shooting equations with a phase
  condition, the 8 segments integrated together in one ``solve_ivp`` call (DOP853) with their
  variational equations, warm started by a secant predictor from the two previous cycles; its
  tolerance is chosen so that its period errors match dynsys's (both are printed). At a fixed
  parameter the problem is ill-posed next to the Hopf point (a multiplier near 1), and natural
  continuation cannot follow the steep approach to the homoclinic orbit, so the baseline runs
  over the hyperbolic cycles (every nontrivial multiplier at least 0.05 from the unit circle)
  with period at most 2 (Lorenz) or all of them (Brusselator).

Accuracy: the periods of each method at a sample of its points are compared with a reference
computed at the same parameter values with ntst = 160, ncol = 6 (Newton from dynsys's nearest
profile; period error below 1e-12); the answers are checked equal (shooting and dynsys agree
within ten times their errors, AUTO within 1e-6). Speed: points per second.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.optimize
from scipy.integrate import solve_ivp

from benchmarks import _auto as auto
from benchmarks._timing import best_time
from dynsys import Status
from dynsys.continuation import ContinuationOptions, continue_branch, continue_cycle
from dynsys.cycles import Collocation, CycleOptions, solve_adapted
from dynsys.models import brusselator, lorenz

REFERENCE = CycleOptions(ntst=160, ncol=6, tol=1e-13)
SAMPLES = 8  # points of each branch checked against the reference
SHOOTING_SEGMENTS = 8


@dataclass
class Case:
    name: str
    system: object
    param: str
    equilibrium: list[float]
    equilibrium_options: ContinuationOptions
    options: ContinuationOptions
    cycle_options: CycleOptions
    shooting_period_max: float
    shooting_rtol: float
    fortran: str
    auto_run1: str
    auto_run2: str


LORENZ_F90 = auto.lorenz_source(24.0, "c_plus")

BRUSSELATOR_F90 = auto.model_source(
    """\
  F(1) = PAR(1) - (PAR(2) + 1.0D0)*U(1) + U(1)**2*U(2)
  F(2) = PAR(2)*U(1) - U(1)**2*U(2)
  IF (IJAC .EQ. 0) RETURN
  DFDU(1,1) = -(PAR(2) + 1.0D0) + 2.0D0*U(1)*U(2)
  DFDU(1,2) = U(1)**2
  DFDU(2,1) = PAR(2) - 2.0D0*U(1)*U(2)
  DFDU(2,2) = -U(1)**2
  IF (IJAC .EQ. 1) RETURN
  DFDP(1,2) = -U(1)
  DFDP(2,2) = U(1)
""",
    """\
  PAR(1) = 1.0D0
  PAR(2) = 1.5D0
  U(1) = PAR(1)
  U(2) = PAR(2)/PAR(1)
""",
)


def _auto_constants(ndim, ips, irs, icp, nmx, ds, ds_max, stop) -> str:
    return auto.constants(
        ndim, ips, icp, irs=irs, nmx=nmx, ds=ds, ds_max=ds_max, thl="{11: 0.0}", stop=stop
    )


def _cases() -> list[Case]:
    c = np.sqrt(8.0 / 3.0 * 23.0)
    return [
        Case(
            "Lorenz",
            lorenz(),
            "r",
            [c, c, 23.0],
            ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0),
            ContinuationOptions(ds=0.01, ds_max=1.0, p_min=0.0, p_max=30.0, max_points=400),
            CycleOptions(period_max=10.0),
            2.0,
            1e-9,
            LORENZ_F90,
            _auto_constants(3, 1, 0, "[1]", 200, 0.01, 0.5, "{1: [0.0, 30.0]}"),
            _auto_constants(3, 2, 2, "[1, 11]", 400, 0.01, 1.0, "{11: 10.0, 1: [0.0, 30.0]}"),
        ),
        Case(
            "Brusselator",
            brusselator(a=1.0),
            "b",
            [1.0, 1.5],
            ContinuationOptions(ds_max=0.2, p_min=1.0, p_max=4.0),
            ContinuationOptions(ds=0.01, ds_max=0.2, p_min=1.0, p_max=4.0, max_points=400),
            CycleOptions(),
            np.inf,
            1e-7,
            BRUSSELATOR_F90,
            _auto_constants(2, 1, 0, "[2]", 200, 0.01, 0.2, "{2: [1.0, 4.0]}"),
            _auto_constants(2, 2, 2, "[2, 11]", 400, 0.01, 0.2, "{2: [1.0, 4.0]}"),
        ),
    ]


# ---------------------------------------------------------------------------- dynsys
def _hopf_branch(case: Case):
    start = case.system.with_params(**{case.param: float(_start_value(case))})
    return continue_branch(start, case.equilibrium, case.param, options=case.equilibrium_options)


def _start_value(case: Case) -> float:
    return {"Lorenz": 24.0, "Brusselator": 1.5}[case.name]


def _dynsys(case: Case, equilibria, cycle_options: CycleOptions):
    return continue_cycle(
        case.system, equilibria, case.param, options=case.options, cycle_options=cycle_options
    )


def _reference_period(case: Case, branch, value: float, period: float) -> float:
    """The period at ``param = value`` on a fine discretization (ntst = 160, ncol = 6), by
    Newton from the profile of the nearest step of dynsys's ``branch`` (no integration, so an
    unstable cycle is found as reliably as a stable one)."""
    k = int(np.argmin(np.abs(branch["param"].values - value)))
    mesh = branch["mesh"].values[k]
    col = Collocation(case.system, mesh.size - 1, int(branch.attrs["cycle_ncol"]), mesh)
    X = branch["x"].values[k]
    X = np.vstack([X, X[:1]])
    params = {**case.system.params, case.param: float(value)}
    fine = col.adapted(X, ntst=REFERENCE.ntst, ncol=REFERENCE.ncol)
    X = col.transfer(X, fine)
    solved = solve_adapted(
        fine, fine.join(X, period), params, passes=2, tol=REFERENCE.tol, max_iter=40
    )
    return float(solved.v[-1]) if solved.status == Status.CONVERGED else float("nan")


def _sample(count: int) -> np.ndarray:
    return np.unique(np.linspace(0, count - 1, min(SAMPLES, count)).round().astype(int))


def _period_errors(case: Case, branch, values, periods) -> float:
    """Largest period error at a sample of points, against the reference at the same values."""
    errors = [
        abs(periods[k] - _reference_period(case, branch, values[k], periods[k]))
        for k in _sample(len(values))
    ]
    assert np.all(np.isfinite(errors)), "the reference failed at a sampled point"
    return float(max(errors))


def _comparable(case: Case, branch) -> np.ndarray:
    """The steps whose cycles are hyperbolic (every nontrivial multiplier at least 0.05 from
    the unit circle: at a fixed parameter the problem is well posed) and whose period is at most
    ``case.shooting_period_max`` (beyond, T(param) is too steep for a fixed grid)."""
    modulus = np.hypot(branch["multiplier_real"].values, branch["multiplier_imag"].values)
    hyperbolic = np.min(np.abs(modulus - 1.0), axis=1) > 0.05
    return np.flatnonzero(hyperbolic & (branch["period"].values <= case.shooting_period_max))


# ---------------------------------------------------------------------------- shooting
class MultipleShooting:
    """Cycles by multiple shooting: ``m`` segments of ``T / m``, integrated together (one
    ``solve_ivp`` call with the variational equations), ``scipy.optimize.root`` on
    ``x_i(T/m) - x_(i+1) = 0`` and the phase condition ``f(x_ref) . (x_0 - x_ref) = 0``."""

    def __init__(self, system, param: str, segments: int, rtol: float) -> None:
        self.system, self.param, self.m, self.rtol = system, param, segments, rtol
        self.n = system.n

    def _flow(self, X: np.ndarray, T: float, p) -> tuple[np.ndarray, np.ndarray]:
        m, n = self.m, self.n
        eye = np.broadcast_to(np.eye(n), (m, n, n))
        y0 = np.concatenate([X, eye.reshape(m, n * n)], axis=1).ravel()
        scale = T / m

        def rhs(t, y):
            y = y.reshape(m, n + n * n)
            x, phi = y[:, :n], y[:, n:].reshape(m, n, n)
            dphi = np.einsum("kab,kbc->kac", self.system.jac_dense(x, p), phi)
            return scale * np.concatenate([self.system.f(x, p), dphi.reshape(m, -1)], 1).ravel()

        sol = solve_ivp(rhs, (0.0, 1.0), y0, method="DOP853", rtol=self.rtol, atol=self.rtol * 1e-2)
        end = sol.y[:, -1].reshape(m, n + n * n)
        return end[:, :n], end[:, n:].reshape(m, n, n)

    def solve(self, X: np.ndarray, T: float, value: float, ref: np.ndarray):
        m, n = self.m, self.n
        p = {**self.system.params, self.param: value}
        f_ref = self.system.f(ref, p)

        def equations(z):
            X, T = z[:-1].reshape(m, n), z[-1]
            ends, phis = self._flow(X, T, p)
            gap = (ends - np.roll(X, -1, axis=0)).ravel()
            J = np.zeros((m * n + 1, m * n + 1))
            for i in range(m):
                j = (i + 1) % m
                J[i * n : (i + 1) * n, i * n : (i + 1) * n] += phis[i]
                J[i * n : (i + 1) * n, j * n : (j + 1) * n] -= np.eye(n)
                J[i * n : (i + 1) * n, -1] = self.system.f(ends[i], p) / m
            J[-1, :n] = f_ref
            return np.append(gap, f_ref @ (X[0] - ref)), J

        sol = scipy.optimize.root(
            equations, np.append(X.ravel(), T), jac=True, method="hybr", options={"xtol": 1e-13}
        )
        # hybr may report "no progress" at an xtol below rounding: judge by the residual
        converged = float(np.max(np.abs(sol.fun))) <= 1e-9 * (1.0 + float(np.max(np.abs(sol.x))))
        return sol.x[:-1].reshape(m, n), float(sol.x[-1]), converged

    def branch(self, values, X0: np.ndarray, T0: float, max_halvings: int = 8):
        """Natural continuation through ``values`` with a secant predictor; where a step fails
        it is halved (up to ``max_halvings`` times), the extra cycles kept. Returns the cycles
        found, ``(X, T, value)``, in order; it stops early when a step cannot be made."""
        found: list[tuple[np.ndarray, float, float]] = []
        X, T, ok = self.solve(X0, T0, float(values[0]), X0[0].copy())
        if not ok:
            return found
        found.append((X, T, float(values[0])))
        for target in values[1:]:
            halvings = 0
            while found[-1][2] != target:
                value = found[-1][2] + (target - found[-1][2]) / 2**halvings
                X, T = self._predict(found, value)
                X, T, ok = self.solve(X, T, value, found[-1][0][0].copy())
                if ok:
                    found.append((X, T, value))
                    halvings = max(halvings - 1, 0)
                elif halvings < max_halvings:
                    halvings += 1
                else:
                    return found
        return found

    @staticmethod
    def _predict(found, value):
        X, T, last = found[-1]
        if len(found) < 2:
            return X, T
        Xa, Ta, before = found[-2]
        w = (value - last) / (last - before)
        return X + w * (X - Xa), T + w * (T - Ta)


def _segment_starts(case: Case, branch, k: int, segments: int) -> np.ndarray:
    """The profile of step ``k`` at ``segments`` equally spaced times (the shooting start)."""
    col = Collocation(case.system, branch.sizes["mesh_point"] - 1, int(branch.attrs["cycle_ncol"]))
    col = col.with_mesh(branch["mesh"].values[k])
    X = branch["x"].values[k]
    return col.profile_at(np.vstack([X, X[:1]]), np.arange(segments) / segments)


# ---------------------------------------------------------------------------- AUTO-07p
def _auto(case: Case, folder: Path):
    """Compile (not timed), run the equilibria to the Hopf point, then time the cycles."""
    executable, _ = auto.compile_model(case.fortran, folder)
    auto.run(executable, case.auto_run1)
    shutil.copy(folder / "fort.8", folder / "hopf.8")
    seconds = min(auto.run(executable, case.auto_run2, folder / "hopf.8") for _ in range(3))
    rows = np.array([row.values for row in auto.read_branches(folder)])
    return rows[:, 0], rows[:, -1], seconds


# ---------------------------------------------------------------------------- report
def _bench(case: Case, folder: Path | None) -> None:
    equilibria = _hopf_branch(case)
    branch = _dynsys(case, equilibria, case.cycle_options)
    ours = best_time(lambda: _dynsys(case, equilibria, case.cycle_options), repeat=3)
    values, periods = branch["param"].values, branch["period"].values
    n_points = values.size
    steps = _comparable(case, branch)
    ours_error = _period_errors(case, branch, values[steps], periods[steps])
    ends = ", ".join(str(s) for s in branch["status"].values)
    print(
        f"   {case.name}: dynsys {n_points} points in {ours:.3f} s ({n_points / ours:.0f} "
        f"points/s), {case.param} {values[0]:.6g} -> {values[-1]:.8g}, period {periods[0]:.5f} "
        f"-> {periods[-1]:.5f}, ends {ends}; period error at {len(_sample(steps.size))} "
        f"hyperbolic points {ours_error:.1e}"
    )
    # multiple shooting on the same parameter values, where natural continuation can follow
    grid = values[steps]
    shooter = MultipleShooting(case.system, case.param, SHOOTING_SEGMENTS, case.shooting_rtol)
    X0 = _segment_starts(case, branch, int(steps[0]), SHOOTING_SEGMENTS)
    found = shooter.branch(grid, X0, float(periods[steps[0]]))
    start = time.perf_counter()
    found = shooter.branch(grid, X0, float(periods[steps[0]]))
    theirs = time.perf_counter() - start
    assert found and found[-1][2] == grid[-1], "shooting did not reach the end of the grid"
    solved = np.array([value for _, _, value in found])
    shoot_T = np.array([T for _, T, _ in found])
    shoot_error = _period_errors(case, branch, solved, shoot_T)
    on_grid = np.isin(solved, grid)
    agree = float(np.max(np.abs(shoot_T[on_grid] - periods[steps])))
    tol = 10 * max(ours_error, shoot_error)
    assert agree <= tol, f"periods differ by {agree:.1e} (> {tol:.1e})"
    print(
        f"   {case.name}, multiple shooting ({SHOOTING_SEGMENTS} segments, DOP853 rtol "
        f"{case.shooting_rtol:g}, root hybr), natural continuation through the {grid.size} "
        f"parameter values of dynsys's hyperbolic points with period "
        f"<= {case.shooting_period_max:g} "
        f"({solved.size - grid.size} steps halved in between): {solved.size} points in "
        f"{theirs:.3f} s ({solved.size / theirs:.1f} points/s), period error {shoot_error:.1e}, "
        f"|T_shooting - T_dynsys| <= {agree:.1e}; ratio dynsys/shooting "
        f"{(n_points / ours) / (solved.size / theirs):.1f}x in points/s"
    )
    if folder is None:
        return
    auto_values, auto_periods, auto_time = _auto(case, folder)
    lo, hi = values[steps].min(), values[steps].max()  # the part checked for dynsys
    idx = np.flatnonzero((auto_values >= lo) & (auto_values <= hi))
    auto_error = _period_errors(case, branch, auto_values[idx], auto_periods[idx])
    assert auto_error <= 1e-6, f"AUTO's periods are off by {auto_error:.1e}"
    print(
        f"   {case.name}, AUTO-07p (NTST 40, NCOL 4, IAD 3, EPSL = EPSU = 1e-10): "
        f"{auto_values.size} points in {auto_time:.3f} s ({auto_values.size / auto_time:.0f} "
        f"points/s), {case.param} -> {auto_values[-1]:.8g}, period -> {auto_periods[-1]:.5f}; "
        f"period error {auto_error:.1e} (same part); ratio dynsys/AUTO "
        f"{(n_points / ours) / (auto_values.size / auto_time):.2f}x in points/s"
    )


def main() -> None:
    """Print points per second and period errors of dynsys, multiple shooting and AUTO-07p."""
    have_auto = auto.auto_available()
    if not have_auto:
        print(
            "   AUTO-07p is not installed (apt-get install auto-07p gfortran); it is left out, "
            "the shooting baseline runs"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for case in _cases():
            folder = None
            if have_auto:
                folder = Path(tmp) / case.name
                folder.mkdir()
            _bench(case, folder)


if __name__ == "__main__":
    main()
