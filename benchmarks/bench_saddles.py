"""Saddle search: dynsys's climbing string (dynsys.saddles.find_saddles) against ASE's
climbing-image nudged elastic band (ase.mep.NEB with the FIRE optimiser), in the same process.

Both search the same pairs of minima; every gradient evaluation of each method is counted
through one counting wrapper of the potential. A method has found a saddle when its estimate lies
within the stated tolerance of the exact index-1 saddle (dynsys's estimates are Newton roots that
it verified by tracing their unstable manifolds; ASE's are its climbing images, checked against
the same exact saddles). Reported: saddles found per 1000 gradient evaluations of the search
(dynsys: strings; ASE: NEB images), and dynsys's total including Newton (Hessians counted
separately) and the manifold tracing.

1. Mueller-Brown, the pairs A-M and M-B of adjacent minima (one saddle each).
2. A 20-dimensional chain of coupled double wells with seeded random couplings,
   ``V = sum_i (x_i^2 - 1)^2 / 4 + 0.05 sum_i (x_i - x_{i+1})^2 / 2 + sum_ij C_ij x_i x_j / 2``
   (``C`` symmetric, entries ``N(0, 0.01^2)``): strings from the all-plus minimum to the
   minima with one of the first four coordinates flipped.

ASE is an optional dependency (``pip install dynsys[bench]``); without it only dynsys runs.
"""

from __future__ import annotations

import numpy as np

from dynsys import GradientSystem
from dynsys.fixedpoints import find_fixed_points
from dynsys.models import mueller_brown
from dynsys.saddles import SaddleOptions, find_saddles

try:  # optional baseline
    from ase import Atoms
    from ase.calculators.calculator import Calculator, all_changes
    from ase.mep import NEB
    from ase.optimize import FIRE
except ImportError:  # pragma: no cover
    Atoms = None


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


if Atoms is not None:

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


def ase_neb(counted: Counted, a, b, n_images: int, fmax: float, k: float) -> np.ndarray:
    """ASE's climbing-image NEB from ``a`` to ``b``; the climbing image's state."""
    n = len(a)
    m = -(-n // 3)

    def atoms(x):
        pos = np.zeros(3 * m)
        pos[:n] = x
        at = Atoms(f"H{m}", positions=pos.reshape(m, 3))
        return at

    images = [atoms(a)] + [atoms(a) for _ in range(n_images - 2)] + [atoms(b)]
    for im in images:
        im.calc = PotentialCalculator(counted, n)
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


def compare(label, system, minima, pairs, tol, options, ase_k, ase_fmax):
    counted = Counted(system)
    ds = find_saddles(counted.system, minima, pairs=pairs, options=options)
    n_total, n_hess = counted.n_grad, counted.n_hess
    n_search = ds.attrs["n_gradient_search"]
    exact = ds["x"].values
    print(
        f"   {label}: dynsys verified {ds.sizes['saddle']} saddles from {len(pairs)} pairs; "
        f"search {n_search} gradients -> {1000 * ds.sizes['saddle'] / n_search:.3f} saddles per "
        f"1000 gradients (with Newton and the manifold tracing: {n_total} gradients and "
        f"{n_hess} Hessians)"
    )
    if Atoms is None:
        print("   ASE is not installed (pip install dynsys[bench]); baseline skipped")
        return
    counted.reset()
    mins = ds["minimum_x"].values
    tops = [ase_neb(counted, mins[a], mins[b], options.n_images, ase_fmax, ase_k) for a, b in pairs]
    n_ase = counted.n_grad
    err = [np.abs(exact - t).max(axis=1).min() for t in tops]
    found = sum(e < tol for e in err)
    hit = {
        int(np.abs(exact - t).max(axis=1).argmin())
        for t, e in zip(tops, err, strict=True)
        if e < tol
    }
    assert found == ds.sizes["saddle"] == len(hit), (
        f"ASE's climbing images lie {np.round(err, 6).tolist()} from dynsys's saddles"
    )
    print(
        f"   ASE climbing-image NEB (FIRE, fmax {ase_fmax}): {found} saddles within {tol} of "
        f"dynsys's (largest distance {max(err):.1e}); {n_ase} gradients -> "
        f"{1000 * found / n_ase:.3f} saddles per 1000 gradients"
    )
    print(
        f"   ratio (saddles per gradient, dynsys search / ASE): "
        f"{(ds.sizes['saddle'] / n_search) / (found / n_ase):.2f}"
    )


def main() -> None:
    mb = mueller_brown()
    minima = [[-0.558, 1.442], [-0.050, 0.467], [0.623, 0.028]]
    options = SaddleOptions(n_images=17)
    compare("Mueller-Brown", mb, minima, [(0, 1), (1, 2)], 1e-3, options, ase_k=50.0, ase_fmax=0.05)
    n = 20
    wells = coupled_wells(n)
    seeds = np.ones((5, n))
    for k in range(4):
        seeds[k + 1, k] = -1.0
    fp = find_fixed_points(wells, seeds)
    assert fp.sizes["point"] == 5 and (fp["index"].values == 0).all()
    mins = fp["x"].values[np.argsort(np.abs(fp["x"].values - seeds[:, None]).sum(-1), axis=1)[:, 0]]
    compare(
        f"coupled wells, n = {n}",
        wells,
        mins,
        [(0, k) for k in range(1, 5)],
        1e-3,
        options,
        ase_k=1.0,
        ase_fmax=1e-3,
    )


if __name__ == "__main__":
    main()
