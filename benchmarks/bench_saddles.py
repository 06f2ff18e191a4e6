"""Saddle search: dynsys's climbing string (dynsys.saddles.find_saddles) against ASE's
climbing-image nudged elastic band (ase.mep.NEB with the FIRE optimiser), in the same process.

Both search the same pairs of minima; every gradient evaluation of each method is counted
through one counting wrapper of the potential. A method has found a saddle when its estimate lies
within the stated tolerance of the exact index-1 saddle (dynsys's estimates are Newton roots that
it verified by tracing their unstable manifolds; ASE's are its climbing images, checked against
the same exact saddles; the benchmark stops if one misses). Reported: gradient evaluations per
saddle, for dynsys both of its search alone (strings) and of everything it does (search, Newton
and the manifold tracing; its Hessian evaluations are listed, not converted), and the wall time
of both sides warm and cold (ASE's includes building its Atoms objects: that is the cost of
using it on a plain potential). The potentials are dynsys models, so both cold times include
importing dynsys; only ASE's includes importing ASE.

1. Mueller-Brown, the pairs A-M and M-B of adjacent minima (one saddle each).
2. A 20-dimensional chain of coupled double wells with seeded random couplings,
   ``V = sum_i (x_i^2 - 1)^2 / 4 + 0.05 sum_i (x_i - x_{i+1})^2 / 2 + sum_ij C_ij x_i x_j / 2``
   (``C`` symmetric, entries ``N(0, 0.01^2)``): strings from the all-plus minimum to the
   minima with one of the first four coordinates flipped.

ASE is an optional dependency (``pip install dynsys[bench]``); without it only dynsys runs.
"""

from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np

from benchmarks._timing import best_time, cold_time, report
from dynsys import GradientSystem


def ase_installed() -> bool:
    """ASE is an optional dependency; imported only by the baseline's functions, so that
    dynsys's cold time does not count it."""
    return importlib.util.find_spec("ase") is not None


class Counted:
    """A potential whose gradient and Hessian evaluations are counted (states evaluated)."""

    def __init__(self, system):
        self.inner = system
        self.n_grad = 0
        self.n_hess = 0

        def grad(x, p):
            self.n_grad += int(np.prod(np.shape(x)[:-1]))
            return system.gradient(x)

        def hess(x, p):
            self.n_hess += int(np.prod(np.shape(x)[:-1]))
            return system.hessian(x)

        self.system = GradientSystem(
            lambda x, p: system.potential(x),
            system.n,
            grad=grad,
            hess=hess,
            name=system.name,
            probe=system._probe,
            check_jacobian=False,
        )
        self.reset()

    def reset(self):
        self.n_grad = self.n_hess = 0


@cache
def _calculator_class():
    from ase.calculators.calculator import Calculator, all_changes

    class PotentialCalculator(Calculator):
        """An ASE calculator for a dynsys potential of n states: ceil(n/3) atoms, the state in
        their coordinates (padding coordinates carry no force)."""

        implemented_properties = ("energy", "forces")

        def __init__(self, counted: Counted, n: int):
            super().__init__()
            self.counted, self.n = counted, n

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            x = atoms.positions.ravel()[: self.n]
            g = self.counted.system.gradient(x)
            forces = np.zeros(atoms.positions.size)
            forces[: self.n] = -g
            self.results = {
                "energy": float(self.counted.inner.potential(x)),
                "forces": forces.reshape(-1, 3),
            }

    return PotentialCalculator


def ase_neb(counted: Counted, a, b, n_images: int, fmax: float, k: float) -> np.ndarray:
    """ASE's climbing-image NEB from ``a`` to ``b``; the climbing image's state."""
    from ase import Atoms
    from ase.mep import NEB
    from ase.optimize import FIRE

    n = len(a)
    m = -(-n // 3)

    def atoms(x):
        pos = np.zeros(3 * m)
        pos[:n] = x
        at = Atoms(f"H{m}", positions=pos.reshape(m, 3))
        return at

    images = [atoms(a)] + [atoms(a) for _ in range(n_images - 2)] + [atoms(b)]
    for im in images:
        im.calc = _calculator_class()(counted, n)
    neb = NEB(images, climb=True, k=k, method="improvedtangent")
    neb.interpolate()
    FIRE(neb, logfile=None).run(fmax=fmax, steps=5000)
    E = [im.get_potential_energy() for im in images[1:-1]]
    top = images[1 + int(np.argmax(E))]
    return top.positions.ravel()[:n].copy()


def coupled_wells(n: int = 20, seed: int = 2024) -> GradientSystem:
    rng = np.random.default_rng(seed)
    C = rng.normal(0.0, 0.01, (n, n))
    C = 0.5 * (C + C.T)
    L = 2 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    L[0, 0] = L[-1, -1] = 1.0
    Q = 0.05 * L + C

    def V(x, p):
        return ((x**2 - 1) ** 2).sum(-1) / 4 + 0.5 * np.einsum("...i,ij,...j->...", x, Q, x)

    def grad(x, p):
        return x * (x**2 - 1) + x @ Q

    def hess(x, p):
        return (3 * x**2 - 1)[..., :, None] * np.eye(n) + Q

    return GradientSystem(V, n, grad=grad, hess=hess, name="coupled_wells")


def case(name: str) -> dict:
    """The systems, minima (refined by Newton), pairs and settings of one comparison."""
    from dynsys.fixedpoints import find_fixed_points
    from dynsys.models import mueller_brown
    from dynsys.saddles import SaddleOptions

    options = SaddleOptions(n_images=17)
    if name == "mueller_brown":
        system = mueller_brown()
        seeds = np.array([[-0.558, 1.442], [-0.050, 0.467], [0.623, 0.028]])
        pairs, ase_k, ase_fmax, label = [(0, 1), (1, 2)], 50.0, 0.05, "Mueller-Brown"
    else:
        n = 20
        system = coupled_wells(n)
        seeds = np.ones((5, n))
        for k in range(4):
            seeds[k + 1, k] = -1.0
        pairs, ase_k, ase_fmax = [(0, k) for k in range(1, 5)], 1.0, 1e-3
        label = f"coupled wells, n = {n}"
    fp = find_fixed_points(system, seeds)
    x = fp["x"].values
    assert len(x) == len(seeds) and (fp["index"].values == 0).all()
    minima = x[np.abs(x[None, :, :] - seeds[:, None, :]).sum(-1).argmin(axis=1)]
    return {
        "label": label,
        "system": system,
        "minima": minima,
        "pairs": pairs,
        "tol": 1e-3,
        "options": options,
        "ase_k": ase_k,
        "ase_fmax": ase_fmax,
    }


def run_dynsys(c: dict, counted: Counted | None = None):
    """dynsys's saddles between the case's pairs of minima (a dataset)."""
    from dynsys.saddles import find_saddles

    system = c["system"] if counted is None else counted.system
    return find_saddles(system, c["minima"], pairs=c["pairs"], options=c["options"])


def run_ase(c: dict, counted: Counted | None = None) -> list[np.ndarray]:
    """ASE's climbing images between the case's pairs of minima."""
    counted = Counted(c["system"]) if counted is None else counted
    mins = c["minima"]
    n_images = c["options"].n_images
    return [
        ase_neb(counted, mins[a], mins[b], n_images, c["ase_fmax"], c["ase_k"])
        for a, b in c["pairs"]
    ]


def ours_cold(name: str) -> None:
    """Set up one case and run dynsys (the cold-timing entry point)."""
    run_dynsys(case(name))


def baseline_cold(name: str) -> None:
    """Set up one case and run ASE (the cold-timing entry point)."""
    run_ase(case(name))


def compare(name: str, cold: bool = True) -> None:
    c = case(name)
    label, tol = c["label"], c["tol"]
    counted = Counted(c["system"])
    ds = run_dynsys(c, counted)
    n_total, n_hess = counted.n_grad, counted.n_hess
    n_search = ds.attrs["n_gradient_search"]
    n_found = ds.sizes["saddle"]
    exact = ds["x"].values
    print(
        f"   {label}: dynsys verified {n_found} saddles from {len(c['pairs'])} pairs; "
        f"search {n_search} gradients -> {1000 * n_found / n_search:.3f} saddles per "
        f"1000 gradients (with Newton and the manifold tracing: {n_total} gradients and "
        f"{n_hess} Hessians)"
    )
    if not ase_installed():
        print("   ASE is not installed (pip install dynsys[bench]); baseline skipped")
        return
    counted.reset()
    tops = run_ase(c, counted)
    n_ase = counted.n_grad
    err = [np.abs(exact - t).max(axis=1).min() for t in tops]
    found = sum(e < tol for e in err)
    hit = {
        int(np.abs(exact - t).max(axis=1).argmin())
        for t, e in zip(tops, err, strict=True)
        if e < tol
    }
    assert found == n_found == len(hit), (
        f"ASE's climbing images lie {np.round(err, 6).tolist()} from dynsys's saddles"
    )
    print(
        f"   ASE climbing-image NEB (FIRE, fmax {c['ase_fmax']}): {found} saddles; "
        f"{n_ase} gradients -> {1000 * found / n_ase:.3f} saddles per 1000 gradients"
    )
    per_saddle = n_ase / found
    print(
        f"   gradients per saddle, ratio ASE / dynsys: {per_saddle / (n_search / n_found):.2f} "
        f"counting dynsys's search only, {per_saddle / (n_total / n_found):.2f} counting "
        f"everything dynsys does (its {n_hess} Hessians not included)"
    )
    ours = best_time(lambda: run_dynsys(c), repeat=2)
    baseline = best_time(lambda: run_ase(c), repeat=2)
    times = None
    if cold:
        times = (
            cold_time("benchmarks.bench_saddles:ours_cold", name=name),
            cold_time("benchmarks.bench_saddles:baseline_cold", name=name),
        )
    report(
        f"{label}, all {len(c['pairs'])} pairs (dynsys: search, Newton and verification)",
        ours,
        baseline,
        "ASE NEB",
        cold=times,
        settings=(
            f"climbing image, improved tangent, {c['options'].n_images} images, spring "
            f"{c['ase_k']}, FIRE to fmax {c['ase_fmax']}"
        ),
        agreement=(
            f"every ASE climbing image within {max(err):.1e} of a saddle dynsys verified "
            f"(required < {tol:g})"
        ),
        warm_note="best of 2",
    )
    print(
        f"   wall time per gradient evaluation (warm): dynsys {1e6 * ours / n_total:.0f} us "
        f"(states batched along the string), ASE {1e6 * baseline / n_ase:.0f} us (one image "
        f"at a time through its calculator): the wall-time ratio is mostly this overhead, the "
        f"gradient counts above compare the algorithms"
    )


def main(cold: bool = True) -> None:
    compare("mueller_brown", cold=cold)
    compare("coupled_wells", cold=cold)


if __name__ == "__main__":
    main()
